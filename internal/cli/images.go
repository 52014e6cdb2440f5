package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/bake/claim"
	dockerbuilder "github.com/bakehq/bake/builders/docker"
	"github.com/bakehq/bake/images"
	"github.com/bakehq/bake/internal/console"
)

// storeFlags choose the kind of artifact a lifecycle command works on.
type storeFlags struct {
	kind    string
	regions []string
}

func (f *storeFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.kind, "kind", "docker", "the kind of artifact: docker (engine and registry) or amazon-ebs (AMIs)")
	cmd.Flags().StringSliceVar(&f.regions, "region", nil, "for AMIs: the regions to work in (default: AWS_REGION / the profile's)")
}

func (f *storeFlags) amazon() bool {
	return f.kind == "amazon-ebs" || f.kind == "amazon" || f.kind == "ami"
}

func (f *storeFlags) store(ctx context.Context) (images.Store, error) {
	switch f.kind {
	case "docker":
		api, err := dockerbuilder.NewClient()
		if err != nil {
			return nil, err
		}
		return &images.Docker{API: api}, nil
	case "amazon-ebs", "amazon", "ami":
		return amazonStore(ctx, f.regions)
	}
	return nil, bake.BadInputf("--kind %q: want docker or amazon-ebs", f.kind)
}

func newImagesCmd(st Streams) *cobra.Command {
	var sf storeFlags
	var jsonOut bool
	var channel string
	cmd := &cobra.Command{
		Use:   "images NAME",
		Short: "list the versions of an image: created, base, fingerprint, channels and where each is in use",
		Long: "NAME is a repository (with its registry host for pushed images), a bake's BUILD.TYPE.NAME or its source name.\n" +
			"With --channel, print only the version the channel points at.",
		Args: exactlyOneArg("an image name (repository, BUILD.TYPE.NAME or source name)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := sf.store(cmd.Context())
			if err != nil {
				return err
			}
			vs, err := s.List(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if channel != "" {
				v, err := images.ByChannel(vs, args[0], channel)
				if err != nil {
					return err
				}
				vs = []images.Version{v}
			}
			if jsonOut {
				enc := json.NewEncoder(st.Out)
				enc.SetIndent("", "  ")
				if vs == nil {
					vs = []images.Version{}
				}
				return enc.Encode(vs)
			}
			if len(vs) == 0 {
				return bake.BadInputf("%s has no versions: bake it first, or check the name (a repository, BUILD.TYPE.NAME or the source name)", args[0])
			}
			return printVersions(st, vs)
		},
	}
	sf.add(cmd)
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the versions as JSON")
	cmd.Flags().StringVar(&channel, "channel", "", "print only the version this channel points at")
	return cmd
}

func printVersions(st Streams, vs []images.Version) error {
	w := tabwriter.NewWriter(st.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "VERSION\tCREATED\tBASE\tFINGERPRINT\tCHANNELS\tWHERE\tIN USE")
	for _, v := range vs {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Version, v.Created.UTC().Format(time.RFC3339),
			v.BaseName+"@"+bake.ShortID(v.BaseDigest), bake.ShortID(v.Fingerprint), dash(strings.Join(v.Channels, ",")),
			v.Repository+" ("+v.Where+")", dash(strings.Join(v.InUse, "; ")))
	}
	return w.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

type promoteFlags struct {
	channel    string
	expect     string
	allowOlder bool
	lock       string
}

func newPromoteCmd(st Streams) *cobra.Command {
	var sf storeFlags
	var f promoteFlags
	cmd := &cobra.Command{
		Use:   "promote NAME VERSION --channel CHANNEL",
		Short: "point a channel (e.g. prod) at a version: a registry tag for images, an SSM parameter for AMIs",
		Long: "A promote is a compare-and-swap: under a lock (an SSM claim, always for AMIs and with --lock ssm for\n" +
			"images) it reads where the channel points and moves it only forward: never to a version older than the\n" +
			"one it points at (unless --allow-older, for a deliberate rollback), and with --expect only from that\n" +
			"version. Concurrent pipelines so never promote out of order. Exit 1 when refused; nothing changes.",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return bake.BadInputf("bake promote needs an image name and a version (got %d arguments): bake %s", len(args), cmd.Use)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.channel == "" {
				return bake.BadInputf("bake promote: say which channel with --channel, e.g. --channel prod")
			}
			if err := images.CheckChannel(f.channel); err != nil {
				return err
			}
			if f.lock != "" && f.lock != "ssm" {
				return bake.BadInputf("--lock %q: want ssm (a claim in SSM Parameter Store, region from AWS_REGION)", f.lock)
			}
			s, err := sf.store(cmd.Context())
			if err != nil {
				return err
			}
			var lock *claim.Claimer
			if f.lock == "ssm" || sf.amazon() {
				if lock, err = newClaimer(cmd.Context(), "ssm:/bake/locks", uuid.NewString(), 30*time.Second); err != nil {
					return err
				}
			}
			return promote(cmd.Context(), st, s, lock, args[0], args[1], f)
		},
	}
	sf.add(cmd)
	cmd.Flags().StringVar(&f.channel, "channel", "", "the channel to point at VERSION")
	cmd.Flags().StringVar(&f.expect, "expect", "", "move the channel only if it points at this version now (none: only if it points nowhere)")
	cmd.Flags().BoolVar(&f.allowOlder, "allow-older", false, "allow moving the channel back to an older version (a rollback)")
	cmd.Flags().StringVar(&f.lock, "lock", "", "for images: take the channel's lock in ssm, so that pipelines on other machines promote one at a time (AMIs always do)")
	return cmd
}

// refusedError ends a promote the compare refused: exit 1, nothing changed.
type refusedError struct{ msg string }

func (e *refusedError) Error() string { return e.msg }

func promote(ctx context.Context, st Streams, s images.Store, lock *claim.Claimer, name, version string, f promoteFlags) error {
	vs, err := s.List(ctx, name)
	if err != nil {
		return err
	}
	hits, err := images.Find(vs, name, version)
	if err != nil {
		return err
	}
	for _, v := range hits {
		if err := promoteOne(ctx, st, s, lock, name, v, vs, f); err != nil {
			return err
		}
	}
	return nil
}

// promoteOne is the compare-and-swap of one repository's (or region's)
// channel: under the lock, the channel is read again (vs is what was read
// before it) and moved only forward.
func promoteOne(ctx context.Context, st Streams, s images.Store, lock *claim.Claimer, name string, v images.Version, vs []images.Version, f promoteFlags) error {
	if lock != nil {
		key := strings.NewReplacer("/", "_", ":", "_", " ", "_").Replace(v.Repository + "_" + name + "_" + f.channel)
		l := *lock
		l.Poll = 200 * time.Millisecond // a promote holds the lock for a second or so
		l.What = fmt.Sprintf("promote %s %s --channel %s", name, v.Version, f.channel)
		held, err := l.Acquire(ctx, key)
		if err != nil {
			return fmt.Errorf("lock channel %s of %s: %w", f.channel, v.Repository, err)
		}
		defer func() {
			if err := held.Release(ctx); err != nil {
				fmt.Fprintf(st.Err, "warning: %v\n", err)
			}
		}()
		ctx = held.Context()
		if vs, err = s.List(ctx, name); err != nil {
			return err
		}
	}
	var same []images.Version
	for _, o := range vs {
		if o.Repository == v.Repository {
			same = append(same, o)
		}
	}
	was := ""
	old, err := images.ByChannel(same, name, f.channel)
	has := err == nil
	switch {
	case f.expect == "none" && has:
		return &refusedError{fmt.Sprintf("%s: channel %s points at %s, not nowhere (--expect none): another pipeline promoted meanwhile; nothing changed", v.Repository, f.channel, old.Version)}
	case f.expect != "" && f.expect != "none" && (!has || old.Version != f.expect):
		now := "nowhere"
		if has {
			now = old.Version
		}
		return &refusedError{fmt.Sprintf("%s: channel %s points at %s, not %s (--expect %s): another pipeline promoted meanwhile; nothing changed", v.Repository, f.channel, now, f.expect, f.expect)}
	case has && old.Version == v.Version:
		fmt.Fprintf(st.Out, "%s: channel %s already points at %s (%s)\n", v.Repository, f.channel, v.Version, bake.ShortID(v.ID))
		return nil
	case has && !f.allowOlder && v.Created.Before(old.Created):
		return &refusedError{fmt.Sprintf("%s: channel %s points at %s (built %s), newer than %s (built %s): not moved back; nothing changed (to roll back on purpose, pass --allow-older)",
			v.Repository, f.channel, old.Version, old.Created.UTC().Format(time.RFC3339), v.Version, v.Created.UTC().Format(time.RFC3339))}
	case has:
		was = " (was " + old.Version + ")"
	}
	if err := s.SetChannel(ctx, v, f.channel); err != nil {
		return err
	}
	fmt.Fprintf(st.Out, "%s: channel %s now points at %s (%s)%s\n", v.Repository, f.channel, v.Version, bake.ShortID(v.ID), was)
	return nil
}

func newPruneCmd(st Streams) *cobra.Command {
	var sf storeFlags
	var keep int
	var olderThan string
	var apply bool
	cmd := &cobra.Command{
		Use:   "prune NAME --keep N [--older-than D] [--apply]",
		Short: "plan (and with --apply, do) the removal of old versions; never one a channel or anything running uses",
		Args:  exactlyOneArg("an image name (repository, BUILD.TYPE.NAME or source name)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if keep < 0 {
				return bake.BadInputf("bake prune: say how many of the newest versions to keep with --keep N (N ≥ 0)")
			}
			var age time.Duration
			if olderThan != "" {
				d, err := parseAge(olderThan)
				if err != nil {
					return err
				}
				age = d
			}
			s, err := sf.store(cmd.Context())
			if err != nil {
				return err
			}
			return prune(cmd.Context(), st, s, args[0], images.Policy{Keep: keep, OlderThan: age, Now: time.Now()}, apply)
		},
	}
	sf.add(cmd)
	cmd.Flags().IntVar(&keep, "keep", -1, "keep this many of the newest versions (required)")
	cmd.Flags().StringVar(&olderThan, "older-than", "", "remove only versions older than this: 30d, 12h, 90m")
	cmd.Flags().BoolVar(&apply, "apply", false, "remove what the plan says (without it, nothing changes)")
	return cmd
}

func prune(ctx context.Context, st Streams, s images.Store, name string, p images.Policy, apply bool) error {
	vs, err := s.List(ctx, name)
	if err != nil {
		return err
	}
	if len(vs) == 0 {
		return bake.BadInputf("%s has no versions: check the name (a repository, BUILD.TYPE.NAME or the source name)", name)
	}
	plan := images.Plan(vs, p)
	w := tabwriter.NewWriter(st.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "VERSION\tREPOSITORY\tACTION\tWHY")
	n := 0
	for _, d := range plan {
		action := "keep"
		if d.Remove {
			action, n = "remove", n+1
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", d.Version.Version, d.Version.Repository, action, d.Why)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if !apply {
		fmt.Fprintf(st.Out, "plan only: %d of %d versions would be removed; run again with --apply to remove them\n", n, len(plan))
		return nil
	}
	failed := 0
	for _, d := range plan {
		if !d.Remove {
			continue
		}
		done, err := s.Remove(ctx, d.Version)
		for _, what := range done {
			fmt.Fprintf(st.Out, "removed %s\n", what)
		}
		if err != nil {
			failed++
			fmt.Fprintf(st.Err, "error: %v\n", err)
		}
	}
	if failed > 0 {
		return &console.ExitError{Code: console.ExitFailed}
	}
	fmt.Fprintf(st.Out, "removed %d of %d versions\n", n, len(plan))
	return nil
}

// parseAge reads a duration with a d (days) unit besides Go's.
func parseAge(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err == nil && n >= 0 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, bake.BadInputf("--older-than %q: write an age like 30d, 12h or 90m", s)
	}
	return d, nil
}
