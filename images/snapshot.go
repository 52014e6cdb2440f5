package images

import (
	"context"
	"strings"
	"sync"

	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"

	"github.com/bakehq/bake/bake"
)

// A snapshot answers the engine listings of a plan (FindFingerprint,
// Latest) from one listing of every image bake made: planning a thousand
// bakes must not make a thousand engine calls that each scan every image.
// It is as old as its first use, so it serves planning only: a look that
// must see an image made since (the second look under a claim) runs on a
// context without it.
type snapshot struct {
	once sync.Once
	list []image.Summary
	err  error
}

type snapshotKey struct{}

// WithSnapshot returns ctx with a snapshot of the engine's bake images,
// taken on first use.
func WithSnapshot(ctx context.Context) context.Context {
	return context.WithValue(ctx, snapshotKey{}, &snapshot{})
}

// listBakeImages lists the images of repository whose label key has value,
// from ctx's snapshot when it has one, else with the engine's filters.
func listBakeImages(ctx context.Context, api ImageLister, key, value, repository string) ([]image.Summary, error) {
	s, ok := ctx.Value(snapshotKey{}).(*snapshot)
	if !ok {
		return api.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(
			filters.Arg("label", key+"="+value),
			filters.Arg("reference", repository),
		)})
	}
	s.once.Do(func() {
		s.list, s.err = api.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("label", bake.LabelName))})
	})
	if s.err != nil {
		return nil, s.err
	}
	want := familiar(repository)
	var out []image.Summary
	for _, img := range s.list {
		if img.Labels[key] != value {
			continue
		}
		for _, rt := range img.RepoTags {
			if repo, _, ok := cutTag(rt); ok && familiar(repo) == want {
				out = append(out, img)
				break
			}
		}
	}
	return out, nil
}

// familiar is a repository as the engine shows it (docker.io/library/x is
// x), which is what the engine's reference filter compares.
func familiar(repo string) string {
	n, err := reference.ParseNormalizedNamed(repo)
	if err != nil {
		return strings.ToLower(repo)
	}
	return reference.FamiliarName(n)
}
