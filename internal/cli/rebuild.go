package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/bake/claim"
	"github.com/bakehq/bake/bake/rebuild"
	dockerbuilder "github.com/bakehq/bake/builders/docker"
	"github.com/bakehq/bake/images"
	"github.com/bakehq/bake/internal/console"
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
	shard        string
	claims       string
	claimLease   time.Duration
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
	cmd.Flags().StringVar(&f.shard, "shard", "", "rebake only shard I/N of the bakes, split as bake plan --shards N splits them (give every shard the same --version)")
	cmd.Flags().StringVar(&f.claims, "claims", "", "take a claim on each bake's inputs before baking it, so that no two runners bake the same: ssm or ssm:/PREFIX (SSM parameters, default /bake/claims)")
	cmd.Flags().DurationVar(&f.claimLease, "claim-lease", claim.DefaultLease, "how long a claim outlives its runner; renewed every third of it")
	return cmd
}

func runRebuild(ctx context.Context, st Streams, root string, f rebuildFlags) error {
	start := time.Now()
	if f.parallel < 1 {
		return bake.BadInputf("-parallel %d: want 1 or more", f.parallel)
	}
	shard, shards := 0, 0
	if f.shard != "" {
		var err error
		if shard, shards, err = rebuild.ParseShard(f.shard); err != nil {
			return bake.BadInput(err)
		}
		// The split weighs the bakes by their newest artifacts' times,
		// leaving out this nightly's own: without one version shared by
		// every shard, a shard that starts after another has baked could
		// split differently, and a bake would fall between them.
		if f.version == "" {
			return bake.BadInputf("--shard %s needs --version: give every shard the version bake plan printed (its matrix has it), so that all of them split the bakes alike", f.shard)
		}
	}
	dirs, err := rebuild.Find(root)
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
	var claims *claim.Claimer
	if f.claims != "" {
		if claims, err = newClaimer(ctx, f.claims, runUUID, f.claimLease); err != nil {
			return err
		}
	}
	bake.StartRun(runUUID, f.timeout) // the owner labels of what it makes
	load := rebuild.LoadOptions{Plugins: plugins(), Version: version, BuildTime: buildTime, RunUUID: runUUID}
	if f.patch {
		load.Edit = addPatch
	}
	cs := rebuild.Load(ctx, root, dirs, load)
	others := 0
	if shards > 0 {
		// Every shard splits all bakes alike: by their previous bake
		// times, leaving out this nightly's own (--version) artifacts.
		skip := ""
		if f.version != "" {
			skip = version
		}
		mine := rebuild.Split(rebuild.Weights(images.WithSnapshot(ctx), cs, skip, max(f.parallel, 4)), shards)[shard-1]
		var kept []*rebuild.Candidate
		for _, c := range cs {
			if slices.Contains(mine.Bakes, c.Bake) {
				kept = append(kept, c)
			}
		}
		others = len(cs) - len(kept)
		cs = kept
	}

	var engine rebuild.DockerEngine
	if api, err := dockerbuilder.NewClient(); err == nil {
		engine = api
	}

	var all []*bake.Job
	for _, c := range cs {
		if c.Job != nil {
			all = append(all, c.Job)
		}
	}
	if err := bake.CheckNames(all, version); err != nil {
		return err
	}

	// Each source is planned (its base resolved, its fingerprint looked
	// for: engine and registry calls, nothing boots) and, when it needs
	// it, baked at once; at most -parallel bakes and update checks run
	// at a time.
	rep := console.NewReporter(st.Err, f.json, !f.json && console.IsTerminal(st.Err))
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
	// Planning reads the engine's bake images once; the second look
	// under a claim (bakeOne) asks the engine again.
	planCtx := images.WithSnapshot(ctx)
	po := rebuild.PlanOptions{
		CheckUpdates: f.checkUpdates, Engine: engine, RunUUID: runUUID, Reporter: rep,
		Acquire: acquire, Release: func() { <-heavy },
	}
	// Planning is light (at most max(-parallel, 4) at once) and is not
	// held up by the bakes, which take the heavy slots.
	light := make(chan struct{}, max(f.parallel, 4))
	var wg sync.WaitGroup
	for _, c := range cs {
		if c.Job == nil || c.Err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case light <- struct{}{}:
			case <-ctx.Done():
				c.Err = fmt.Errorf("build %s: not checked: %w", c.Job.Name, context.Cause(ctx))
				return
			}
			if f.nightly {
				rebuild.Plan(planCtx, c, po)
			} else {
				c.Rebuild, c.Reason = true, "rebuild of everything (no --nightly)"
			}
			<-light
			if c.Err != nil || !c.Rebuild {
				return
			}
			bakeOne(ctx, c, claims, opts, acquire, func() { <-heavy })
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
		result, ver, took, reason := "", "-", "-", c.Reason
		err := c.Err
		if err == nil && c.Result != nil && c.Result.Err != nil {
			err = c.Result.Err
		}
		switch {
		case err != nil:
			result, reason = "failed", oneLine(err.Error())
			failed++
			if bake.IsBadInput(err) {
				badInput++
			}
		case c.Rebuild && c.Result != nil:
			result, ver, took = "rebuilt", version, c.Result.Elapsed.Round(100*time.Millisecond).String()
			rebuilt++
			entries = append(entries, c.Result.Artifact.Entry(map[string]string{"reason": c.Reason}))
		default:
			result, ver = "skipped", c.Found.Version
			skipped++
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Bake, c.Name(), result, ver, took, reason)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(st.Out, "%d rebuilt, %d skipped, %d failed in %s", rebuilt, skipped, failed, time.Since(start).Round(100*time.Millisecond))
	if shards > 0 {
		fmt.Fprintf(st.Out, " (shard %d/%d; %d sources are other shards')", shard, shards, others)
	}
	fmt.Fprintln(st.Out)
	if f.manifest != "" && len(entries) > 0 {
		if err := bake.AppendManifest(f.manifest, entries...); err != nil {
			return err
		}
	}
	switch {
	case failed == 0:
		return nil
	case badInput == failed:
		return &console.ExitError{Code: console.ExitBadInput}
	default:
		return &console.ExitError{Code: console.ExitFailed}
	}
}

// bakeOne bakes a candidate the plan rebuilds: under its claim when
// claims are on, so that no other runner bakes the same inputs, and
// looking again for its fingerprint once the claim is held, since the
// runner that held it before may have baked it.
func bakeOne(ctx context.Context, c *rebuild.Candidate, claims *claim.Claimer, opts bake.RunOptions, acquire func(context.Context) bool, release func()) {
	log := bake.Log{R: opts.Reporter, Source: c.Job.Name, Step: "claim"}
	if claims != nil && c.Fingerprint != "" {
		cl, err := claimFor(ctx, claims, c, log)
		if err != nil {
			c.Err = fmt.Errorf("build %s: %w", c.Job.Name, err)
			return
		}
		defer func() {
			if err := cl.Release(ctx); err != nil {
				log.Warn(err.Error())
			}
		}()
		if cl.TookOver != nil {
			log.Info(fmt.Sprintf("took over the claim of %s, dead since %s", cl.TookOver, cl.TookOver.Expires.Format(time.RFC3339)))
		}
		if finder, ok := c.Job.Builder.(bake.ArtifactFinder); ok {
			found, err := finder.FindArtifact(ctx, c.Fingerprint)
			if err != nil {
				c.Err = fmt.Errorf("build %s: look again for an image with fingerprint %s: %w", c.Job.Name, bake.ShortID(c.Fingerprint), err)
				return
			}
			if found != nil && (c.Found == nil || found.Version != c.Found.Version) {
				c.Rebuild, c.Found = false, found
				c.Reason = fmt.Sprintf("baked meanwhile by another runner: %s has fingerprint %s", found, bake.ShortID(c.Fingerprint))
				return
			}
		}
		ctx = cl.Context()
	}
	if !acquire(ctx) {
		c.Err = fmt.Errorf("build %s: not started: %w", c.Job.Name, context.Cause(ctx))
		return
	}
	defer release()
	res := bake.Run(ctx, []*bake.Job{c.Job}, opts)
	c.Result = &res[0]
}

// claimFor takes the claim on c's fingerprint, saying once per holder
// that it waits.
func claimFor(ctx context.Context, claims *claim.Claimer, c *rebuild.Candidate, log bake.Log) (*claim.Claim, error) {
	cc := *claims
	cc.What = "bake " + c.Job.Name + " (" + c.Bake + ")"
	var said string
	cc.Wait = func(r claim.Record) {
		if r.Owner != said {
			said = r.Owner
			log.Info(fmt.Sprintf("waiting: %s holds the claim on these inputs (%s) until %s", r, r.What, r.Expires.Format(time.RFC3339)))
		}
	}
	return cc.Acquire(ctx, strings.TrimPrefix(c.Fingerprint, "sha256:"))
}

// newClaimer reads --claims: ssm or ssm:PREFIX, in the region of the
// standard AWS chain.
func newClaimer(ctx context.Context, spec, owner string, lease time.Duration) (*claim.Claimer, error) {
	kind, prefix, _ := strings.Cut(spec, ":")
	if prefix == "" {
		prefix = "/bake/claims"
	}
	if kind != "ssm" || !strings.HasPrefix(prefix, "/") || strings.HasSuffix(prefix, "/") {
		return nil, bake.BadInputf("--claims %q: want ssm or ssm:/PREFIX (claims are SSM parameters under PREFIX, default /bake/claims)", spec)
	}
	if lease < 0 || (lease > 0 && lease < 3*time.Second) {
		return nil, bake.BadInputf("--claim-lease %s: want 3s or more (the holder renews every third of it)", lease)
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration for --claims: %w", err)
	}
	if cfg.Region == "" {
		return nil, bake.BadInputf("--claims ssm: no AWS region: set AWS_REGION")
	}
	return &claim.Claimer{Store: claim.SSM{API: ssm.NewFromConfig(cfg)}, Prefix: prefix, Owner: owner, Lease: lease}, nil
}

// oneLine keeps a table row on one line: the first line of a message.
func oneLine(s string) string {
	first, rest, _ := strings.Cut(s, "\n")
	if rest != "" {
		first += " ..."
	}
	return first
}
