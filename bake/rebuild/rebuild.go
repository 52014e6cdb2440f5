// Package rebuild plans nightly rebuilds: it finds the bakes under a
// directory, decides which of their sources changed since their newest
// artifact (or have updates pending), and splits the bakes into shards
// for runners that share the work.
//
// Nothing here bakes or prints; bake rebuild, bake plan and bake outdated
// are its callers.
package rebuild

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/bake/config"
	"github.com/bakehq/bake/images"
)

// Find lists the bakes under root: root itself when it is a file, else
// every directory under it that holds bake files (hidden ones skipped),
// sorted.
func Find(root string) ([]string, error) {
	info, err := os.Stat(root)
	if err != nil {
		return nil, bake.BadInputf("%s: %w", root, err)
	}
	if !info.IsDir() {
		return []string{root}, nil
	}
	seen := map[string]bool{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".bake.hcl") || strings.HasSuffix(p, ".pkr.hcl")) {
			seen[filepath.Dir(p)] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("look for bake files under %s: %w", root, err)
	}
	if len(seen) == 0 {
		return nil, bake.BadInputf("no bake files (*.bake.hcl, *.pkr.hcl) under %s", root)
	}
	out := make([]string, 0, len(seen))
	for d := range seen {
		out = append(out, d)
	}
	slices.Sort(out)
	return out, nil
}

// Candidate is one source of one bake, and what the plan found for it.
type Candidate struct {
	Bake string // the bake's directory, relative to the root, as shown
	Job  *bake.Job
	Base bake.Base
	// Fingerprint is the job's, once resolved.
	Fingerprint string
	// Found is an artifact with the same fingerprint.
	Found   *bake.Artifact
	Updates *images.Updates
	Rebuild bool
	Reason  string
	Err     error

	// Result is the bake's, when it ran.
	Result *bake.Result
}

// Name is the candidate's job name, or "-" for a bake that did not load.
func (c *Candidate) Name() string {
	if c.Job == nil {
		return "-"
	}
	return c.Job.Name
}

// LoadOptions say how bakes are loaded and expanded.
type LoadOptions struct {
	Plugins   bake.Plugins
	Version   string
	BuildTime time.Time
	RunUUID   string
	// Edit changes a bake's jobs after they are expanded (bake --patch
	// appends a step); an error fails the bake.
	Edit func(jobs []*bake.Job, dir string) error
}

// Load loads each bake and expands its jobs; a bake that does not load is
// one failed candidate. Data sources run, as in bake build: an
// amazon-ami's answer is part of what the fingerprint compares.
func Load(ctx context.Context, root string, dirs []string, o LoadOptions) []*Candidate {
	var out []*Candidate
	for _, dir := range dirs {
		show := Rel(root, dir)
		cfg, err := config.Load(config.Options{Path: dir, Env: os.Environ(), Plugins: o.Plugins, ExecuteData: true, Context: ctx})
		var jobs []*bake.Job
		if err == nil {
			jobs, err = cfg.Jobs(config.ExpandOptions{Plugins: o.Plugins, Version: o.Version, BuildTime: o.BuildTime, RunUUID: o.RunUUID})
			if err != nil {
				err = bake.BadInput(errors.New(bake.NewRedactor(cfg.Secrets()).String(err.Error())))
			}
		}
		if err == nil && o.Edit != nil {
			err = o.Edit(jobs, cfg.Dir)
		}
		if err != nil {
			out = append(out, &Candidate{Bake: show, Err: err})
			continue
		}
		for _, j := range jobs {
			out = append(out, &Candidate{Bake: show, Job: j})
		}
	}
	return out
}

// Rel is how a bake under root is named: its path relative to root, or
// the path itself when root is the bake.
func Rel(root, dir string) string {
	show, err := filepath.Rel(root, dir)
	if err != nil || show == "." {
		return dir
	}
	return show
}

// Each runs f for every candidate that has a job and no error yet, at most
// n at once; a candidate not started when ctx ends gets ctx's cause.
func Each(ctx context.Context, cs []*Candidate, n int, f func(context.Context, *Candidate)) {
	var todo []*Candidate
	for _, c := range cs {
		if c.Job != nil && c.Err == nil {
			todo = append(todo, c)
		}
	}
	bake.ForEach(ctx, len(todo), n, func(i int) { f(ctx, todo[i]) }, func(i int, cause error) {
		todo[i].Err = fmt.Errorf("build %s: not started: %w", todo[i].Job.Name, cause)
	})
}

// Resolve finds a candidate's base and fingerprint and looks for an
// artifact with that fingerprint. Nothing boots.
func Resolve(ctx context.Context, c *Candidate) {
	base, err := c.Job.Builder.Resolve(ctx)
	if err != nil {
		c.Err = fmt.Errorf("build %s: %w", c.Job.Name, err)
		return
	}
	fp, err := bake.Fingerprint(base, c.Job)
	if err != nil {
		c.Err = bake.BadInput(fmt.Errorf("build %s: fingerprint inputs: %w", c.Job.Name, err))
		return
	}
	c.Base, c.Fingerprint = base, fp
	finder, ok := c.Job.Builder.(bake.ArtifactFinder)
	if !ok {
		return
	}
	found, err := finder.FindArtifact(ctx, fp)
	if err != nil {
		c.Err = fmt.Errorf("build %s: look for an image with fingerprint %s: %w", c.Job.Name, bake.ShortID(fp), err)
		return
	}
	c.Found = found
}

// LatestVersioner is implemented by builders that can find the newest
// artifact a job made (Docker, amazon-ebs).
type LatestVersioner interface {
	LatestVersion(ctx context.Context, job string) (*images.Version, error)
}

// Previous is the newest artifact of a job, for saying why it is rebaked;
// nil when there is none or the builder cannot say.
func Previous(ctx context.Context, job *bake.Job) *images.Version {
	l, ok := job.Builder.(LatestVersioner)
	if !ok {
		return nil
	}
	v, err := l.LatestVersion(ctx, job.Name)
	if err != nil {
		return nil
	}
	return v
}

// UpdateChecker is implemented by builders that start their own image to
// count its pending updates (amazon-ebs boots an instance); Docker's check
// runs a container through the engine (images.CheckUpdates).
type UpdateChecker interface {
	CheckUpdates(ctx context.Context, id string, log bake.Log) (images.Updates, error)
}

// DockerEngine is what a nightly asks of the engine besides bakes.
type DockerEngine interface {
	images.ImageLister
	images.ContainerAPI
}

// PlanOptions say how a candidate is judged.
type PlanOptions struct {
	// CheckUpdates starts each unchanged source's newest image and
	// rebakes it when updates are pending.
	CheckUpdates bool
	// Engine runs Docker images' update checks; nil when the engine is
	// not reachable (those checks are then reported as not done).
	Engine  DockerEngine
	RunUUID string
	// Reporter gets an update check's progress.
	Reporter bake.Reporter
	// Acquire and Release bound the update checks, which start
	// containers or instances. Nil means unbounded.
	Acquire func(context.Context) bool
	Release func()
}

// Plan decides whether c is rebaked, and why.
func Plan(ctx context.Context, c *Candidate, o PlanOptions) {
	Resolve(ctx, c)
	if c.Err != nil {
		return
	}
	if c.Found == nil {
		c.Rebuild = true
		if _, ok := c.Job.Builder.(LatestVersioner); ok {
			c.Reason = ChangeReason(Previous(ctx, c.Job), c.Base, c.Fingerprint)
		} else {
			c.Reason = fmt.Sprintf("no image with fingerprint %s (base %s)", bake.ShortID(c.Fingerprint), c.Base.Digest)
		}
		return
	}
	c.Reason = fmt.Sprintf("unchanged: %s has fingerprint %s", c.Found, bake.ShortID(c.Fingerprint))
	if !o.CheckUpdates {
		return
	}
	check := func(ctx context.Context) (images.Updates, error) {
		return images.CheckUpdates(ctx, o.Engine, c.Found.ID, o.RunUUID)
	}
	switch uc, ok := c.Job.Builder.(UpdateChecker); {
	case c.Found.BuilderType == "docker" && o.Engine == nil:
		c.Reason += "; updates not checked (the Docker engine is not reachable)"
		return
	case c.Found.BuilderType == "docker":
	case ok:
		check = func(ctx context.Context) (images.Updates, error) {
			return uc.CheckUpdates(ctx, c.Found.ID, bake.Log{R: o.Reporter, Source: c.Job.Name, Step: "update check"})
		}
	default:
		c.Reason += fmt.Sprintf("; updates not checked (%s images are not started for the check)", c.Found.BuilderType)
		return
	}
	if o.Acquire != nil {
		if !o.Acquire(ctx) {
			c.Err = fmt.Errorf("build %s: not checked: %w", c.Job.Name, context.Cause(ctx))
			return
		}
	}
	u, err := check(ctx)
	if o.Release != nil {
		o.Release()
	}
	if err != nil {
		c.Err = fmt.Errorf("build %s: %w", c.Job.Name, err)
		return
	}
	c.Updates = &u
	if u.Pending > 0 {
		c.Rebuild = true
		c.Reason = fmt.Sprintf("%d updates pending (%d security) in %s", u.Pending, u.Security, c.Found)
		c.Job.Builder = withoutCache{c.Job.Builder}
		return
	}
	c.Reason += ", no updates pending"
}

// withoutCache hides a builder's step cache: a rebake for pending updates
// must run every step again.
type withoutCache struct{ bake.Builder }

// ChangeReason says what changed since prev.
func ChangeReason(prev *images.Version, base bake.Base, fp string) string {
	switch {
	case prev == nil:
		return "never baked"
	case prev.BaseDigest != base.Digest:
		return fmt.Sprintf("newer base: %s is %s, %s was baked on %s", base.Name, ShortDigest(base.Digest), prev.Version, ShortDigest(prev.BaseDigest))
	default:
		return fmt.Sprintf("inputs changed since %s (fingerprint %s, was %s)", prev.Version, bake.ShortID(fp), bake.ShortID(prev.Fingerprint))
	}
}

// ShortDigest shortens a sha256 digest for a table; an AMI id stays whole.
func ShortDigest(d string) string {
	if strings.HasPrefix(d, "sha256:") {
		return bake.ShortID(d)
	}
	return d
}
