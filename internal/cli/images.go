package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/bakehq/bake/bake"
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

func newPromoteCmd(st Streams) *cobra.Command {
	var sf storeFlags
	var channel string
	cmd := &cobra.Command{
		Use:   "promote NAME VERSION --channel CHANNEL",
		Short: "point a channel (e.g. prod) at a version: a registry tag for images",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return bake.BadInputf("bake promote needs an image name and a version (got %d arguments): bake %s", len(args), cmd.Use)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if channel == "" {
				return bake.BadInputf("bake promote: say which channel with --channel, e.g. --channel prod")
			}
			if err := images.CheckChannel(channel); err != nil {
				return err
			}
			s, err := sf.store(cmd.Context())
			if err != nil {
				return err
			}
			return promote(cmd.Context(), st, s, args[0], args[1], channel)
		},
	}
	sf.add(cmd)
	cmd.Flags().StringVar(&channel, "channel", "", "the channel to point at VERSION")
	return cmd
}

func promote(ctx context.Context, st Streams, s images.Store, name, version, channel string) error {
	vs, err := s.List(ctx, name)
	if err != nil {
		return err
	}
	hits, err := images.Find(vs, name, version)
	if err != nil {
		return err
	}
	for _, v := range hits {
		was := ""
		var same []images.Version
		for _, o := range vs {
			if o.Repository == v.Repository {
				same = append(same, o)
			}
		}
		if old, err := images.ByChannel(same, name, channel); err == nil {
			if old.Version == v.Version {
				fmt.Fprintf(st.Out, "%s: channel %s already points at %s (%s)\n", v.Repository, channel, v.Version, bake.ShortID(v.ID))
				continue
			}
			was = " (was " + old.Version + ")"
		}
		if err := s.SetChannel(ctx, v, channel); err != nil {
			return err
		}
		fmt.Fprintf(st.Out, "%s: channel %s now points at %s (%s)%s\n", v.Repository, channel, v.Version, bake.ShortID(v.ID), was)
	}
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
