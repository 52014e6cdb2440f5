package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/spf13/cobra"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/bake/gc"
	"github.com/bakehq/bake/builders/amazon"
	"github.com/bakehq/bake/builders/docker"
)

func newGCCmd(st Streams) *cobra.Command {
	var dryRun bool
	var regions []string
	var profile string
	cmd := &cobra.Command{
		Use:   "gc [--dry-run] [--region R]...",
		Short: "remove what killed bake runs left: containers, instances, key pairs, security groups, snapshots, unfinished AMIs",
		Long: "bake gc finds resources carrying bake's owner labels or tags whose run is provably dead (same host and its\n" +
			"process gone, or past its deadline plus " + bake.DefaultDeadlineMargin.String() + ") and removes them. Docker always; AWS in each\n" +
			"--region (default AWS_REGION when set). It never touches a live run's resources or anything without owner tags.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(regions) == 0 && os.Getenv("AWS_REGION") != "" {
				regions = []string{os.Getenv("AWS_REGION")}
			}
			found, err := runGC(cmd.Context(), sweepers(cmd.Context(), regions, profile), dryRun)
			verb := "removed"
			if dryRun {
				verb = "would remove"
			}
			for _, l := range found {
				fmt.Fprintf(st.Out, "%s %s\n", verb, l)
			}
			if len(found) == 0 {
				fmt.Fprintln(st.Err, "nothing of a dead bake run is left")
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list what would be removed and why its run is dead; remove nothing")
	cmd.Flags().StringSliceVar(&regions, "region", nil, "AWS regions to sweep (default AWS_REGION)")
	cmd.Flags().StringVar(&profile, "profile", "", "AWS profile")
	return cmd
}

// sweepers are Docker's (when an engine answers) and one per region.
func sweepers(ctx context.Context, regions []string, profile string) []gc.Sweeper {
	var s []gc.Sweeper
	if c, err := docker.NewClient(); err == nil {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, perr := c.Ping(pctx)
		cancel()
		if perr == nil {
			s = append(s, gc.Docker{API: c})
		}
	}
	for _, r := range regions {
		s = append(s, regionSweeper{region: r, profile: profile})
	}
	return s
}

// regionSweeper loads the AWS configuration when it sweeps.
type regionSweeper struct{ region, profile string }

func (r regionSweeper) Sweep(ctx context.Context, lv bake.Liveness, dryRun bool) ([]gc.Leftover, error) {
	cfg, err := amazon.AWSConfig(ctx, "bake gc", "gc", r.region, r.profile)
	if err != nil {
		return nil, err
	}
	return gc.Amazon{API: ec2.NewFromConfig(cfg), Region: cfg.Region}.Sweep(ctx, lv, dryRun)
}

func runGC(ctx context.Context, sw []gc.Sweeper, dryRun bool) ([]gc.Leftover, error) {
	lv := bake.LocalLiveness()
	var found []gc.Leftover
	var errs []error
	for _, s := range sw {
		f, err := s.Sweep(ctx, lv, dryRun)
		found = append(found, f...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return found, errors.Join(errs...)
}

// cheapGC runs at the start of a build: Docker's one filtered list call
// when a job uses docker, and the AWS sweep of the regions of amazon-ebs
// jobs. It reports one line when it removed something and a warning when
// it failed; it never fails the build.
func cheapGC(ctx context.Context, jobs []*bake.Job, r bake.Reporter) {
	var sw []gc.Sweeper
	regions := map[string]string{}
	for _, j := range jobs {
		switch b := j.Builder.(type) {
		case *docker.Builder:
			if len(sw) == 0 {
				if c, err := docker.NewClient(); err == nil {
					sw = append(sw, gc.Docker{API: c})
				}
			}
		case *amazon.Builder:
			// "" is the region of the environment (AWS_REGION, the
			// profile), where a source without region builds.
			c := b.Config()
			regions[c.Region] = c.Profile
		}
	}
	for reg, prof := range regions {
		sw = append(sw, regionSweeper{region: reg, profile: prof})
	}
	if len(sw) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	found, err := runGC(ctx, sw, false)
	if len(found) > 0 {
		runs := map[string]bool{}
		for _, l := range found {
			runs[l.Run] = true
		}
		kinds := map[string]int{}
		for _, l := range found {
			kinds[l.Kind]++
		}
		var parts []string
		for k, n := range kinds {
			parts = append(parts, fmt.Sprintf("%d %s", n, k))
		}
		r.Report(bake.Event{Time: time.Now(), Type: bake.EventInfo,
			Message: fmt.Sprintf("gc: removed %s left by %d dead bake run(s) (bake gc --dry-run lists such leftovers)", strings.Join(parts, ", "), len(runs))})
	}
	if err != nil {
		r.Report(bake.Event{Time: time.Now(), Type: bake.EventWarning, Message: "gc: " + err.Error()})
	}
}
