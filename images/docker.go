package images

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/errdefs"

	"github.com/bakehq/bake/bake"
)

// ImageLister lists the engine's images.
type ImageLister interface {
	ImageList(ctx context.Context, options image.ListOptions) ([]image.Summary, error)
}

// DockerAPI is the part of the Docker Engine client the Docker store uses.
type DockerAPI interface {
	ImageList(ctx context.Context, options image.ListOptions) ([]image.Summary, error)
	ImageTag(ctx context.Context, source, target string) error
	ImageRemove(ctx context.Context, imageID string, options image.RemoveOptions) ([]image.DeleteResponse, error)
	ContainerList(ctx context.Context, options container.ListOptions) ([]container.Summary, error)
}

// Docker is the store of Docker images: the images bake committed on this
// engine and, for repositories on a registry, the registry's tags. A
// channel is a tag (repository:CHANNEL) on the engine and in the registry.
type Docker struct {
	API DockerAPI
	// Registry makes the client for a registry host; default NewRegistry.
	Registry func(host string) *Registry
}

func (d *Docker) registry(host string) *Registry {
	if d.Registry != nil {
		return d.Registry(host)
	}
	return NewRegistry(host)
}

type repoVersion struct{ repo, version string }

// List returns the versions of name, newest first. name is a repository
// (with its registry host for pushed images), a job name or a source name.
func (d *Docker) List(ctx context.Context, name string) ([]Version, error) {
	local, err := d.API.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("label", bake.LabelName))})
	if err != nil {
		return nil, fmt.Errorf("list bake's images on the docker engine: %w", err)
	}
	byKey := map[repoVersion]*Version{}
	var order []repoVersion
	add := func(k repoVersion) *Version {
		if v, ok := byKey[k]; ok {
			return v
		}
		v := &Version{Repository: k.repo, Version: k.version}
		byKey[k] = v
		order = append(order, k)
		return v
	}
	repos := map[string]bool{}
	for _, img := range local {
		job, ver := img.Labels[bake.LabelName], img.Labels[bake.LabelVersion]
		if ver == "" {
			continue
		}
		for _, rt := range img.RepoTags {
			repo, tag, ok := cutTag(rt)
			if !ok || !Matches(name, job, repo) {
				continue
			}
			repos[repo] = true
			v := add(repoVersion{repo, ver})
			fill(v, img.Labels, time.Unix(img.Created, 0))
			v.ID = img.ID
			v.Where = "local"
			if tag != ver {
				v.Channels = appendNew(v.Channels, tag)
			}
		}
	}
	// A name with a registry host is a repository to read even when
	// nothing of it is on this engine (a fresh CI runner).
	if host, _, err := SplitRepository(name); err == nil && host != "" {
		repos[name] = true
	}
	for repo := range repos {
		host, path, err := SplitRepository(repo)
		if err != nil || host == "" {
			continue
		}
		tagged, err := d.registry(host).List(ctx, path)
		if err != nil {
			return nil, fmt.Errorf("list %s in its registry: %w", repo, err)
		}
		byDigest := map[string][]Tagged{}
		for _, t := range tagged {
			byDigest[t.Digest] = append(byDigest[t.Digest], t)
		}
		for _, ts := range byDigest {
			l := ts[0].Config.Config.Labels
			ver := l[bake.LabelVersion]
			if ver == "" || l[bake.LabelName] == "" {
				continue
			}
			v := add(repoVersion{repo, ver})
			fill(v, l, ts[0].Config.Created)
			v.Digest = ts[0].Digest
			switch v.Where {
			case "":
				v.Where = "registry"
			case "local":
				v.Where = "local, registry"
			}
			for _, t := range ts {
				if t.Tag != ver {
					v.Channels = appendNew(v.Channels, t.Tag)
				}
			}
		}
	}
	users, err := d.users(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Version, 0, len(order))
	for _, k := range order {
		v := byKey[k]
		sort.Strings(v.Channels)
		if v.ID != "" {
			v.InUse = users[v.ID]
		}
		out = append(out, *v)
	}
	Sort(out)
	return out, nil
}

func fill(v *Version, l map[string]string, created time.Time) {
	v.Name = l[bake.LabelName]
	v.BaseName, v.BaseDigest, v.Fingerprint = l[bake.LabelBaseName], l[bake.LabelBaseDigest], l[bake.LabelFingerprint]
	if n, err := strconv.Atoi(l[bake.LabelTook]); err == nil && n >= 0 {
		v.Took = time.Duration(n) * time.Second
	}
	if t, err := time.Parse(time.RFC3339, l[bake.LabelCreated]); err == nil {
		v.Created = t
	} else if v.Created.IsZero() {
		v.Created = created
	}
}

// users maps image IDs to the containers that use them, running or not.
func (d *Docker) users(ctx context.Context) (map[string][]string, error) {
	cs, err := d.API.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return nil, fmt.Errorf("list containers on the docker engine: %w", err)
	}
	m := map[string][]string{}
	for _, c := range cs {
		name := strings.TrimPrefix(firstOr(c.Names, c.ID[:12]), "/")
		m[c.ImageID] = append(m[c.ImageID], fmt.Sprintf("container %s (%s)", name, c.State))
	}
	return m, nil
}

// SetChannel tags v as repository:channel on the engine (when v is
// there) and in the registry (when v was pushed).
func (d *Docker) SetChannel(ctx context.Context, v Version, channel string) error {
	if err := CheckChannel(channel); err != nil {
		return err
	}
	ref := v.Repository + ":" + channel
	if v.ID != "" {
		if err := d.API.ImageTag(ctx, v.ID, ref); err != nil {
			return fmt.Errorf("tag %s as %s: %w", v.Repository+":"+v.Version, ref, err)
		}
	}
	if v.Digest != "" {
		host, path, err := SplitRepository(v.Repository)
		if err != nil {
			return err
		}
		r := d.registry(host)
		m, err := r.GetManifest(ctx, path, v.Version)
		if err != nil {
			return fmt.Errorf("read %s:%s in its registry: %w", v.Repository, v.Version, err)
		}
		if err := r.PutManifest(ctx, path, channel, m); err != nil {
			return fmt.Errorf("tag %s:%s as %s in its registry: %w", v.Repository, v.Version, ref, err)
		}
	}
	return nil
}

// Remove deletes v's manifest from the registry and untags it on the
// engine; layers other images share stay.
func (d *Docker) Remove(ctx context.Context, v Version) ([]string, error) {
	if len(v.Channels) > 0 || len(v.InUse) > 0 {
		return nil, fmt.Errorf("remove %s:%s: refused, it is pinned (channels %v, in use by %v)", v.Repository, v.Version, v.Channels, v.InUse)
	}
	var done []string
	var errs []error
	if v.Digest != "" {
		host, path, err := SplitRepository(v.Repository)
		if err == nil {
			err = d.registry(host).DeleteManifest(ctx, path, v.Digest)
		}
		if err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, fmt.Errorf("delete %s:%s from its registry: %w", v.Repository, v.Version, err))
		} else {
			done = append(done, "registry manifest "+v.Repository+"@"+v.Digest)
		}
	}
	if v.ID != "" {
		ref := v.Repository + ":" + v.Version
		if _, err := d.API.ImageRemove(ctx, ref, image.RemoveOptions{PruneChildren: true}); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove image %s from the docker engine: %w", ref, err))
		} else {
			done = append(done, "image "+ref)
		}
	}
	return done, errors.Join(errs...)
}

// FindFingerprint finds an image of repository with fingerprint fp: on
// the engine, and in the registry when inRegistry (a source that pushes
// is only unchanged when the registry has the image too).
func FindFingerprint(ctx context.Context, api ImageLister, registry func(host string) *Registry, repository, fp string, inRegistry bool) (*bake.Artifact, error) {
	if registry == nil {
		registry = NewRegistry
	}
	list, err := listBakeImages(ctx, api, bake.LabelFingerprint, fp, repository)
	if err != nil {
		return nil, fmt.Errorf("list images of %s on the docker engine: %w", repository, err)
	}
	var found *bake.Artifact
	for _, img := range list {
		ver := img.Labels[bake.LabelVersion]
		for _, rt := range img.RepoTags {
			if repo, tag, ok := cutTag(rt); ok && repo == repository && tag == ver && ver != "" {
				found = &bake.Artifact{BuilderType: "docker", ID: img.ID, Names: []string{rt}, Version: ver, Fingerprint: fp,
					Extra: map[string]string{"repository": repository}}
			}
		}
	}
	if !inRegistry {
		return found, nil
	}
	host, path, err := SplitRepository(repository)
	if err != nil || host == "" {
		return found, err
	}
	r := registry(host)
	if found != nil {
		// The engine has it: the registry needs only that tag.
		m, err := r.GetManifest(ctx, path, found.Version)
		if err == nil {
			found.Extra["digest"] = m.Digest
			c, err := r.Config(ctx, path, m)
			if err == nil && c.Config.Labels[bake.LabelFingerprint] == fp {
				return found, nil
			}
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	tagged, err := r.List(ctx, path)
	if err != nil {
		return nil, err
	}
	for _, t := range tagged {
		l := t.Config.Config.Labels
		if l[bake.LabelFingerprint] == fp && l[bake.LabelVersion] == t.Tag {
			return &bake.Artifact{BuilderType: "docker", Names: []string{repository + ":" + t.Tag}, Version: t.Tag, Fingerprint: fp,
				ID: t.Digest, Extra: map[string]string{"repository": repository, "digest": t.Digest}}, nil
		}
	}
	return nil, nil
}

// cutTag splits repo:tag (the last colon that is not part of a host:port).
func cutTag(ref string) (repo, tag string, ok bool) {
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i+1:], "/") {
		return "", "", false
	}
	return ref[:i], ref[i+1:], ref[:i] != "<none>"
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func firstOr(list []string, def string) string {
	if len(list) > 0 {
		return list[0]
	}
	return def
}

// Latest returns the newest image job made in repository that is on the
// engine, in one engine call; nil when there is none.
func Latest(ctx context.Context, api ImageLister, job, repository string) (*Version, error) {
	list, err := listBakeImages(ctx, api, bake.LabelName, job, repository)
	if err != nil {
		return nil, fmt.Errorf("list images of %s on the docker engine: %w", repository, err)
	}
	var newest *Version
	for _, img := range list {
		v := Version{Repository: repository, Version: img.Labels[bake.LabelVersion], ID: img.ID, Where: "local"}
		fill(&v, img.Labels, time.Unix(img.Created, 0))
		if newest == nil || v.Created.After(newest.Created) {
			newest = &v
		}
	}
	return newest, nil
}
