package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"github.com/zclconf/go-cty/cty"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/bake/config"
	"github.com/bakehq/bake/internal/console"
)

type buildFlags struct {
	vars     []string
	varFiles []string
	only     []string
	except   []string
	parallel int
	version  string
	json     bool
	manifest string
	timeout  time.Duration
	noCache  bool
	resume   bool
	onError  string
	// skipUnchanged and patch are bake build --skip-unchanged / --patch.
	skipUnchanged bool
	patch         bool
}

func (f *buildFlags) addLoad(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&f.vars, "var", nil, "set a variable: -var name=value (repeatable)")
	cmd.Flags().StringArrayVar(&f.varFiles, "var-file", nil, "read variables from an HCL file (repeatable)")
}

func newBuildCmd(st Streams) *cobra.Command {
	var f buildFlags
	cmd := &cobra.Command{
		Use:   "build [flags] FILE|DIR",
		Short: "bake the sources of a bake file into versioned images",
		Args:  exactlyOneArg("a bake file or directory"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBuild(cmd.Context(), st, args[0], f)
		},
	}
	f.addLoad(cmd)
	cmd.Flags().StringSliceVar(&f.only, "only", nil, "build only these sources (globs over BUILD.TYPE.NAME or TYPE.NAME, comma-separated)")
	cmd.Flags().StringSliceVar(&f.except, "except", nil, "build all but these sources")
	cmd.Flags().IntVar(&f.parallel, "parallel", 0, "sources built at once (0: all)")
	cmd.Flags().StringVar(&f.version, "version", "", "the version images are tagged with (default: var.version, else YYYYMMDD.HHMMSS-GITSHA)")
	cmd.Flags().BoolVar(&f.json, "json", false, "print one JSON event per line on stdout instead of progress")
	cmd.Flags().StringVar(&f.manifest, "manifest", "bake-manifest.json", "record artifacts in this manifest file (\"\" for none)")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 0, "give up (and clean up) after this long, e.g. 30m")
	cmd.Flags().StringVar(&f.onError, "on-error", bake.OnErrorCleanup, "after a failed bake: cleanup removes what it made; abort keeps it (e.g. the instance) for debugging and prints how to remove it")
	cmd.Flags().BoolVar(&f.noCache, "no-cache", false, "neither use nor fill the step cache")
	cmd.Flags().BoolVar(&f.resume, "resume", false, "restart a failed AMI bake from its last checkpoint (steps with checkpoint = true)")
	cmd.Flags().BoolVar(&f.skipUnchanged, "skip-unchanged", false, "skip a source when an image with the same fingerprint (base, config, uploaded files) exists, in the registry for sources that push")
	cmd.Flags().BoolVar(&f.patch, "patch", false, "apply the security-patches recipe last, to every source")
	return cmd
}

func exactlyOneArg(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return bake.BadInputf("bake %s needs %s (got %d arguments): bake %s", cmd.Name(), what, len(args), cmd.Use)
		}
		return nil
	}
}

// load reads the bake at path; execute runs its data sources (bake
// build), else only the local ones run (validate, inspect).
func load(ctx context.Context, path string, f buildFlags, pl bake.Plugins, execute bool) (*config.Config, error) {
	return config.Load(config.Options{Path: path, Vars: f.vars, VarFiles: f.varFiles, Env: os.Environ(),
		Plugins: pl, ExecuteData: execute, Context: ctx})
}

func runBuild(ctx context.Context, st Streams, path string, f buildFlags) error {
	pl := plugins()
	cfg, err := load(ctx, path, f, pl, true)
	if err != nil {
		return err
	}
	redact := bake.NewRedactor(cfg.Secrets())
	buildTime := time.Now().UTC()
	rev := gitRevision(cfg.Dir)
	version := f.version
	if version == "" {
		version = versionFromVars(cfg)
	}
	if version == "" {
		version = DefaultVersion(buildTime, rev)
	}
	if err := checkVersion(version); err != nil {
		return err
	}
	if f.onError != bake.OnErrorCleanup && f.onError != bake.OnErrorAbort {
		return bake.BadInputf("--on-error=%q: want cleanup or abort", f.onError)
	}
	runUUID := uuid.NewString()
	bake.StartRun(runUUID, f.timeout) // the owner labels of what it makes
	jobs, err := cfg.Jobs(config.ExpandOptions{
		Plugins: pl, Only: f.only, Except: f.except,
		Version: version, BuildTime: buildTime, RunUUID: runUUID, OnError: f.onError,
	})
	if err != nil {
		return bake.BadInput(errors.New(redact.String(err.Error())))
	}
	if f.patch {
		if err := addPatch(jobs, cfg.Dir); err != nil {
			return bake.BadInput(err)
		}
	}

	if err := bake.CheckNames(jobs, version); err != nil {
		return err
	}

	progress := st.Err
	if f.json {
		progress = st.Out
	}
	rep := console.NewReporter(progress, f.json, !f.json && console.IsTerminal(st.Err))
	r := redact.Reporter(rep)
	for _, w := range cfg.Warnings {
		r.Report(bake.Event{Time: time.Now(), Type: bake.EventWarning, Message: w})
	}

	cheapGC(ctx, jobs, r) // what killed runs left
	if f.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, f.timeout, fmt.Errorf("timed out after --timeout %s", f.timeout))
		defer cancel()
	}
	parallel := f.parallel
	if parallel <= 0 {
		parallel = len(jobs)
	}
	results := bake.Run(ctx, jobs, bake.RunOptions{
		Parallel: parallel, Reporter: r, Version: version, BuildTime: buildTime, RunUUID: runUUID,
		Revision: rev, SourceURL: gitSource(cfg.Dir, path), Cache: !f.noCache, Resume: f.resume, SkipUnchanged: f.skipUnchanged,
	})
	if !f.noCache {
		if err := boundCache(context.WithoutCancel(ctx), st); err != nil {
			r.Report(bake.Event{Time: time.Now(), Type: bake.EventWarning, Message: err.Error()})
		}
	}
	rep.Close()

	var entries []bake.ManifestEntry
	failed, badInput := 0, 0
	for _, res := range results {
		if res.Err != nil {
			failed++
			if bake.IsBadInput(res.Err) {
				badInput++
			}
			msg := res.Err.Error()
			if ctx.Err() != nil {
				kept := "everything it made was removed"
				if f.onError == bake.OnErrorAbort {
					kept = "--on-error=abort: what it made was kept, see above for how to remove it"
				}
				msg = fmt.Sprintf("build %s: stopped: %v (%s)", res.Job.Name, context.Cause(ctx), kept)
			}
			fmt.Fprintf(st.Err, "error: %s\n", redact.String(msg))
			continue
		}
		a := res.Artifact
		if res.Skipped {
			if !f.json {
				fmt.Fprintf(st.Out, "%s: unchanged, skipped: %s has the same fingerprint (%s)\n", res.Job.Name, a, bake.ShortID(res.Fingerprint))
			}
			continue
		}
		entries = append(entries, a.Entry(nil))
		if !f.json {
			fmt.Fprintf(st.Out, "%s: %s (%s)\n", res.Job.Name, a, bake.ShortID(a.ID))
		}
	}
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

// DefaultVersion is a version that sorts by time: 20261121.153012, with
// the short git revision of the bake file's repository appended.
func DefaultVersion(t time.Time, rev string) string {
	v := t.UTC().Format("20060102.150405")
	if len(rev) >= 7 {
		v += "-" + rev[:7]
	}
	return v
}

func versionFromVars(cfg *config.Config) string {
	for _, v := range cfg.Variables {
		if v.Name == "version" && v.Value.Type() == cty.String && !v.Value.IsNull() {
			return v.Value.AsString()
		}
	}
	return ""
}

// checkVersion refuses versions that are not valid docker tags.
func checkVersion(v string) error {
	if len(v) > 128 {
		return bake.BadInputf("version %q is longer than 128 characters", v)
	}
	for i, r := range v {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || (i > 0 && (r == '.' || r == '-'))
		if !ok {
			return bake.BadInputf("version %q: use letters, digits, _ . and - (not first), as in a docker tag", v)
		}
	}
	return nil
}

func gitRevision(dir string) string {
	out, err := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func gitSource(dir, path string) string {
	if out, err := exec.Command("git", "-C", dir, "config", "--get", "remote.origin.url").Output(); err == nil {
		if u := strings.TrimSpace(string(out)); u != "" {
			return u
		}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	return "file://" + abs
}
