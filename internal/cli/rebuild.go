package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/bake/config"
	dockerbuilder "github.com/bakehq/bake/builders/docker"
	"github.com/bakehq/bake/images"
)

type rebuildFlags struct {
	nightly      bool
	parallel     int
	version      string
	patch        bool
	checkUpdates bool
	manifest     string
	timeout      time.Duration
	noCache      bool
	json         bool
}

func newRebuildCmd(st Streams) *cobra.Command {
	var f rebuildFlags
	cmd := &cobra.Command{
		Use:   "rebuild DIR --nightly [-parallel N]",
		Short: "rebake every bake under DIR whose inputs or base changed (or with pending updates), skipping the rest",
		Long: "Every directory under DIR that holds bake files is one bake, read as bake build DIR reads it.\n" +
			"With --nightly a source is rebaked only when no image with its fingerprint exists (its base, bake file\n" +
			"or uploaded files changed) or, with --check-updates, when its newest image has pending package updates;\n" +
			"without it every source is rebaked. A summary table goes to stdout; the exit code is 1 if any failed.",
		Args: exactlyOneArg("a directory of bakes"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRebuild(cmd.Context(), st, args[0], f)
		},
	}
	cmd.Flags().BoolVar(&f.nightly, "nightly", false, "skip sources whose fingerprint already has an image and which have no pending updates")
	cmd.Flags().IntVar(&f.parallel, "parallel", 2, "sources checked and baked at once")
	cmd.Flags().StringVar(&f.version, "version", "", "the version rebaked images are tagged with (default YYYYMMDD.HHMMSS-GITSHA)")
	cmd.Flags().BoolVar(&f.patch, "patch", false, "apply the security-patches recipe last, to every source")
	cmd.Flags().BoolVar(&f.checkUpdates, "check-updates", false, "start each unchanged source's newest image (a container, or an instance for AMIs) and rebake it when apt has updates pending (needs the Debian mirror)")
	cmd.Flags().StringVar(&f.manifest, "manifest", "", "record rebaked artifacts in this manifest file")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 0, "give up (and clean up) after this long, e.g. 2h")
	cmd.Flags().BoolVar(&f.noCache, "no-cache", false, "neither use nor fill the step cache")
	cmd.Flags().BoolVar(&f.json, "json", false, "progress as JSON events on stderr")
	return cmd
}

// findBakes lists the bakes under root: root itself when it is a file,
// else every directory under it that holds bake files (hidden ones
// skipped), sorted.
func findBakes(root string) ([]string, error) {
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
	var out []string
	for d := range seen {
		out = append(out, d)
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil, bake.BadInputf("no bake files (*.bake.hcl, *.pkr.hcl) under %s", root)
	}
	return out, nil
}

// candidate is one source of one bake, and what the plan found for it.
type candidate struct {
	bake string // the bake's directory, as shown
	job  *bake.Job
	base bake.Base
	fp   string
	// found is an artifact with the same fingerprint.
	found   *bake.Artifact
	updates *images.Updates
	rebuild bool
	reason  string
	err     error

	// After the bake.
	result *bake.Result
}

type expandOptions struct {
	version   string
	buildTime time.Time
	runUUID   string
	patch     bool
}

// expandBakes loads each bake and expands its jobs; a bake that does not
// load is one failed candidate.
// Data sources run, as in bake build: an amazon-ami's answer is part of
// what the fingerprint compares.
func expandBakes(ctx context.Context, root string, dirs []string, o expandOptions) []*candidate {
	var out []*candidate
	// Once: finding Packer plugins runs each multi-component plugin.
	pl := plugins()
	for _, dir := range dirs {
		show, err := filepath.Rel(root, dir)
		if err != nil || show == "." {
			show = dir
		}
		cfg, err := config.Load(config.Options{Path: dir, Env: os.Environ(), Plugins: pl, ExecuteData: true, Context: ctx})
		var jobs []*bake.Job
		if err == nil {
			jobs, err = cfg.Jobs(config.ExpandOptions{Plugins: pl, Version: o.version, BuildTime: o.buildTime, RunUUID: o.runUUID})
			if err != nil {
				err = bake.BadInput(errors.New(bake.NewRedactor(cfg.Secrets()).String(err.Error())))
			}
		}
		if err == nil && o.patch {
			err = addPatch(jobs, cfg.Dir)
		}
		if err != nil {
			out = append(out, &candidate{bake: show, err: err})
			continue
		}
		for _, j := range jobs {
			out = append(out, &candidate{bake: show, job: j})
		}
	}
	return out
}

// each runs f for every candidate that has a job and no error yet, at
// most n at once.
func each(ctx context.Context, cs []*candidate, n int, f func(context.Context, *candidate)) {
	sem := make(chan struct{}, max(n, 1))
	var wg sync.WaitGroup
	for _, c := range cs {
		if c.job == nil || c.err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				c.err = context.Cause(ctx)
				return
			}
			defer func() { <-sem }()
			f(ctx, c)
		}()
	}
	wg.Wait()
}

// resolve finds a candidate's base and fingerprint and looks for an
// artifact with that fingerprint. Nothing boots.
func resolve(ctx context.Context, c *candidate) {
	base, err := c.job.Builder.Resolve(ctx)
	if err != nil {
		c.err = fmt.Errorf("build %s: %w", c.job.Name, err)
		return
	}
	fp, err := bake.Fingerprint(base, c.job)
	if err != nil {
		c.err = bake.BadInput(fmt.Errorf("build %s: fingerprint inputs: %w", c.job.Name, err))
		return
	}
	c.base, c.fp = base, fp
	finder, ok := c.job.Builder.(bake.ArtifactFinder)
	if !ok {
		return
	}
	found, err := finder.FindArtifact(ctx, fp)
	if err != nil {
		c.err = fmt.Errorf("build %s: look for an image with fingerprint %s: %w", c.job.Name, bake.ShortID(fp), err)
		return
	}
	c.found = found
}

// latestVersioner is implemented by builders that can find the newest
// artifact a job made (Docker, amazon-ebs).
type latestVersioner interface {
	LatestVersion(ctx context.Context, job string) (*images.Version, error)
}

// previous is the newest artifact of a job, for saying why it is
// rebaked; nil when there is none or the builder cannot say.
func previous(ctx context.Context, job *bake.Job) *images.Version {
	l, ok := job.Builder.(latestVersioner)
	if !ok {
		return nil
	}
	v, err := l.LatestVersion(ctx, job.Name)
	if err != nil {
		return nil
	}
	return v
}

// plan decides whether c is rebaked, and why. acquire and release bound
// the update checks, which start containers or instances; rep gets an
// instance's progress.
func plan(ctx context.Context, c *candidate, f rebuildFlags, engine dockerEngine, runUUID string, rep bake.Reporter, acquire func(context.Context) bool, release func()) {
	resolve(ctx, c)
	if c.err != nil {
		return
	}
	if c.found == nil {
		c.rebuild = true
		if _, ok := c.job.Builder.(latestVersioner); ok {
			c.reason = changeReason(previous(ctx, c.job), c.base, c.fp)
		} else {
			c.reason = fmt.Sprintf("no image with fingerprint %s (base %s)", bake.ShortID(c.fp), c.base.Digest)
		}
		return
	}
	c.reason = fmt.Sprintf("unchanged: %s has fingerprint %s", c.found, bake.ShortID(c.fp))
	if !f.checkUpdates {
		return
	}
	check := func(ctx context.Context) (images.Updates, error) {
		return images.CheckUpdates(ctx, engine, c.found.ID, runUUID)
	}
	switch uc, ok := c.job.Builder.(updateChecker); {
	case c.found.BuilderType == "docker" && engine == nil:
		c.reason += "; updates not checked (the Docker engine is not reachable)"
		return
	case c.found.BuilderType == "docker":
	case ok:
		check = func(ctx context.Context) (images.Updates, error) {
			return uc.CheckUpdates(ctx, c.found.ID, bake.Log{R: rep, Source: c.job.Name, Step: "update check"})
		}
	default:
		c.reason += fmt.Sprintf("; updates not checked (%s images are not started for the check)", c.found.BuilderType)
		return
	}
	if !acquire(ctx) {
		c.err = fmt.Errorf("build %s: not checked: %w", c.job.Name, context.Cause(ctx))
		return
	}
	u, err := check(ctx)
	release()
	if err != nil {
		c.err = fmt.Errorf("build %s: %w", c.job.Name, err)
		return
	}
	c.updates = &u
	if u.Pending > 0 {
		c.rebuild = true
		c.reason = fmt.Sprintf("%d updates pending (%d security) in %s", u.Pending, u.Security, c.found)
		c.job.Builder = withoutCache{c.job.Builder}
		return
	}
	c.reason += ", no updates pending"
}

// dockerEngine is what a nightly asks of the engine besides bakes.
type dockerEngine interface {
	images.ImageLister
	images.ContainerAPI
}

// changeReason says what changed since prev.
func changeReason(prev *images.Version, base bake.Base, fp string) string {
	switch {
	case prev == nil:
		return "never baked"
	case prev.BaseDigest != base.Digest:
		return fmt.Sprintf("newer base: %s is %s, %s was baked on %s", base.Name, shortDigest(base.Digest), prev.Version, shortDigest(prev.BaseDigest))
	default:
		return fmt.Sprintf("inputs changed since %s (fingerprint %s, was %s)", prev.Version, bake.ShortID(fp), bake.ShortID(prev.Fingerprint))
	}
}

// withoutCache hides a builder's step cache: a rebake for pending updates
// must run every step again.
type withoutCache struct{ bake.Builder }

func runRebuild(ctx context.Context, st Streams, root string, f rebuildFlags) error {
	start := time.Now()
	if f.parallel < 1 {
		return bake.BadInputf("-parallel %d: want 1 or more", f.parallel)
	}
	dirs, err := findBakes(root)
	if err != nil {
		return err
	}
	buildTime := time.Now().UTC()
	rev := gitRevision(root)
	version := f.version
	if version == "" {
		version = DefaultVersion(buildTime, rev)
	}
	if err := checkVersion(version); err != nil {
		return err
	}
	if f.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, f.timeout, fmt.Errorf("timed out after --timeout %s", f.timeout))
		defer cancel()
	}
	runUUID := uuid.NewString()
	bake.StartRun(runUUID, f.timeout) // the owner labels of what it makes
	cs := expandBakes(ctx, root, dirs, expandOptions{version: version, buildTime: buildTime, runUUID: runUUID, patch: f.patch})

	var engine dockerEngine
	if api, err := dockerbuilder.NewClient(); err == nil {
		engine = api
	}

	var all []*bake.Job
	for _, c := range cs {
		if c.job != nil {
			all = append(all, c.job)
		}
	}
	if err := bake.CheckNames(all, version); err != nil {
		return err
	}

	// Each source is planned (its base resolved, its fingerprint looked
	// for: engine and registry calls, nothing boots) and, when it needs
	// it, baked at once; at most -parallel bakes and update checks run
	// at a time.
	rep := newReporter(st.Err, f.json, !f.json && IsTerminal(st.Err))
	opts := bake.RunOptions{
		Parallel: 1, Reporter: rep, Version: version, BuildTime: buildTime, RunUUID: runUUID,
		Revision: rev, SourceURL: gitSource(root, root), Cache: !f.noCache,
	}
	heavy := make(chan struct{}, f.parallel)
	acquire := func(ctx context.Context) bool {
		select {
		case heavy <- struct{}{}:
			return true
		case <-ctx.Done():
			return false
		}
	}
	light := make(chan struct{}, max(f.parallel, 4))
	var wg sync.WaitGroup
	for _, c := range cs {
		if c.job == nil || c.err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case light <- struct{}{}:
			case <-ctx.Done():
				c.err = fmt.Errorf("build %s: not checked: %w", c.job.Name, context.Cause(ctx))
				return
			}
			if f.nightly {
				plan(ctx, c, f, engine, runUUID, rep, acquire, func() { <-heavy })
			} else {
				c.rebuild, c.reason = true, "rebuild of everything (no --nightly)"
			}
			<-light
			if c.err != nil || !c.rebuild {
				return
			}
			if !acquire(ctx) {
				c.err = fmt.Errorf("build %s: not started: %w", c.job.Name, context.Cause(ctx))
				return
			}
			defer func() { <-heavy }()
			res := bake.Run(ctx, []*bake.Job{c.job}, opts)
			c.result = &res[0]
		}()
	}
	wg.Wait()
	rep.Close()

	var entries []bake.ManifestEntry
	failed, badInput := 0, 0
	w := tabwriter.NewWriter(st.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "BAKE\tSOURCE\tRESULT\tVERSION\tTIME\tREASON")
	rebuilt, skipped := 0, 0
	for _, c := range cs {
		name, result, ver, took, reason := "-", "", "-", "-", c.reason
		if c.job != nil {
			name = c.job.Name
		}
		err := c.err
		if err == nil && c.result != nil && c.result.Err != nil {
			err = c.result.Err
		}
		switch {
		case err != nil:
			result, reason = "failed", oneLine(err.Error())
			failed++
			if bake.IsBadInput(err) {
				badInput++
			}
		case c.rebuild:
			result, ver, took = "rebuilt", version, c.result.Elapsed.Round(100*time.Millisecond).String()
			rebuilt++
			entries = append(entries, c.result.Artifact.Entry(map[string]string{"reason": c.reason}))
		default:
			result, ver = "skipped", c.found.Version
			skipped++
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", c.bake, name, result, ver, took, reason)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(st.Out, "%d rebuilt, %d skipped, %d failed in %s\n", rebuilt, skipped, failed, time.Since(start).Round(100*time.Millisecond))
	if f.manifest != "" && len(entries) > 0 {
		if err := bake.AppendManifest(f.manifest, entries...); err != nil {
			return err
		}
	}
	switch {
	case failed == 0:
		return nil
	case badInput == failed:
		return &exitError{code: ExitBadInput}
	default:
		return &exitError{code: ExitFailed}
	}
}

// oneLine keeps a table row on one line: the first line of a message.
func oneLine(s string) string {
	first, rest, _ := strings.Cut(s, "\n")
	if rest != "" {
		first += " ..."
	}
	return first
}

// shortDigest shortens a sha256 digest for a table; an AMI id stays whole.
func shortDigest(d string) string {
	if strings.HasPrefix(d, "sha256:") {
		return bake.ShortID(d)
	}
	return d
}
