package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/errdefs"

	"github.com/bakehq/bake/bake"
)

// CacheRepository holds the step cache: each entry is the build container
// committed after a step, tagged with the step's cache key. Entries are
// tagged, never dangling, and carry no labels of their own, so an image
// built from them is the same as one built clean.
const CacheRepository = "bake-cache"

// Cache bounds applied after every bake that uses the cache.
const (
	DefaultCacheMaxEntries = 100
	DefaultCacheMaxBytes   = 20 << 30
)

func cacheRef(key string) string { return CacheRepository + ":" + key }

var (
	_ bake.FactCache        = (*Builder)(nil)
	_ bake.FactCheckpointer = (*machine)(nil)
	_ bake.Namer            = (*Builder)(nil)
)

// factsPrefix starts the line of an entry's commit comment that holds the
// facts of the steps up to it (JSON), so a bake resumed from the entry
// labels its image as one that ran every step. The comment, not a label:
// a label would be inherited by the image baked from the entry.
const factsPrefix = "bake-facts: "

// CachedKeys reports which keys have an entry, in one engine call.
func (b *Builder) CachedKeys(ctx context.Context, keys []string) (map[string]bool, error) {
	api, err := b.client()
	if err != nil {
		return nil, err
	}
	entries, err := CacheEntries(ctx, api)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, k := range keys {
		want[k] = true
	}
	have := map[string]bool{}
	for _, e := range entries {
		if want[e.Key] {
			have[e.Key] = true
		}
	}
	return have, nil
}

// BootCached starts the build container from the entry saved under key.
// Capture still takes the entrypoint, command and labels from base, so the
// result is the same as a clean bake's.
func (b *Builder) BootCached(ctx context.Context, base bake.Base, key string, log bake.Log) (bake.Machine, error) {
	log.Info("resuming from the step cache (" + key[:12] + ")")
	return b.boot(ctx, cacheRef(key), base.Name+" via cache "+key[:12], log)
}

// CachedFacts reads the facts saved with the entry for key.
func (b *Builder) CachedFacts(ctx context.Context, key string) ([]bake.StepFacts, bool, error) {
	api, err := b.client()
	if err != nil {
		return nil, false, err
	}
	img, err := api.ImageInspect(ctx, cacheRef(key))
	if err != nil {
		return nil, false, fmt.Errorf("read cache entry %s: %w", key[:12], err)
	}
	for _, line := range strings.Split(img.Comment, "\n") {
		if js, ok := strings.CutPrefix(line, factsPrefix); ok {
			var facts []bake.StepFacts
			if err := json.Unmarshal([]byte(js), &facts); err != nil {
				return nil, false, fmt.Errorf("cache entry %s: facts: %w", key[:12], err)
			}
			return facts, true, nil
		}
	}
	return nil, false, nil
}

// CheckpointFacts commits the build container as the cache entry for
// key, with the facts of the steps up to it (the runner saves Docker
// entries only this way, as the builder is a bake.FactCache).
func (m *machine) CheckpointFacts(ctx context.Context, key, comment string, facts []bake.StepFacts) error {
	js, err := json.Marshal(facts)
	if err != nil {
		return fmt.Errorf("cache entry %s: facts: %w", key[:12], err)
	}
	comment = "bake cache: " + strings.ReplaceAll(comment, "\n", " ") + "\n" + factsPrefix + string(js)
	noOwner := map[string]string{}
	bake.BlankOwner(noOwner)
	cctx, cancel := uncut(ctx, commitTimeout)
	defer cancel()
	_, err = m.api.ContainerCommit(cctx, m.id, container.CommitOptions{
		Reference: cacheRef(key),
		Comment:   comment,
		Pause:     true,
		Config:    &container.Config{Labels: noOwner},
	})
	if err != nil {
		return fmt.Errorf("commit cache entry %s: %w", key[:12], err)
	}
	m.log.Info("saved in the step cache as " + key[:12])
	return nil
}

// CacheEntry is one saved step.
type CacheEntry struct {
	Key     string
	ID      string
	Created time.Time
	Size    int64
	Comment string
}

// CacheEntries lists the step cache, newest first.
func CacheEntries(ctx context.Context, api interface {
	ImageList(ctx context.Context, options image.ListOptions) ([]image.Summary, error)
}) ([]CacheEntry, error) {
	list, err := api.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("reference", CacheRepository))})
	if err != nil {
		return nil, fmt.Errorf("list the step cache: %w", err)
	}
	var out []CacheEntry
	for _, img := range list {
		for _, tag := range img.RepoTags {
			key, ok := strings.CutPrefix(tag, CacheRepository+":")
			if !ok {
				continue
			}
			out = append(out, CacheEntry{Key: key, ID: img.ID, Created: time.Unix(img.Created, 0), Size: img.Size})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// PruneCache removes entries beyond maxEntries or maxBytes (newest are
// kept), and those older than olderThan when it is not zero. all removes
// every entry. It returns what it removed.
func PruneCache(ctx context.Context, api interface {
	ImageList(ctx context.Context, options image.ListOptions) ([]image.Summary, error)
	ImageRemove(ctx context.Context, imageID string, options image.RemoveOptions) ([]image.DeleteResponse, error)
}, maxEntries int, maxBytes int64, olderThan time.Duration, all bool) ([]CacheEntry, error) {
	entries, err := CacheEntries(ctx, api)
	if err != nil {
		return nil, err
	}
	var removed []CacheEntry
	var errs []error
	var total int64
	kept := 0
	for _, e := range entries {
		total += e.Size
		drop := all || (maxEntries > 0 && kept >= maxEntries) || (maxBytes > 0 && total > maxBytes) ||
			(olderThan > 0 && time.Since(e.Created) > olderThan)
		if !drop {
			kept++
			continue
		}
		// Untags the entry; layers an image still uses stay.
		if _, err := api.ImageRemove(ctx, cacheRef(e.Key), image.RemoveOptions{Force: true, PruneChildren: true}); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove cache entry %s: %w", e.Key[:12], err))
			continue
		}
		removed = append(removed, e)
	}
	return removed, errors.Join(errs...)
}
