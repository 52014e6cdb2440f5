package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/bakehq/bake/bake"
	dockerbuilder "github.com/bakehq/bake/builders/docker"
	"github.com/bakehq/bake/images"
)

func newOutdatedCmd(st Streams) *cobra.Command {
	var parallel int
	cmd := &cobra.Command{
		Use:   "outdated FILE|DIR",
		Short: "report, per source, whether a newer base exists and how many security updates are pending",
		Long: "For each source of each bake under DIR: the base it would start from now against the one its newest\n" +
			"image was baked on, and the package updates apt offers in that image (or in the base, when it was never\n" +
			"baked), counted in a throw-away container (Docker) or instance (amazon-ebs, started as a bake starts it\n" +
			"and always removed). Nothing is baked. Exit 1 when a check failed.",
		Args: exactlyOneArg("a bake file or directory"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runOutdated(cmd.Context(), st, args[0], parallel)
		},
	}
	cmd.Flags().IntVar(&parallel, "parallel", 2, "sources checked at once")
	return cmd
}

// updateChecker is implemented by builders that start their own image
// to count its pending updates (amazon-ebs boots an instance); Docker's
// check runs a container through the engine (images.CheckUpdates).
type updateChecker interface {
	CheckUpdates(ctx context.Context, id string, log bake.Log) (images.Updates, error)
}

func runOutdated(ctx context.Context, st Streams, path string, parallel int) error {
	dirs, err := findBakes(path)
	if err != nil {
		return err
	}
	// Docker sources need the engine for the update check; a missing
	// engine fails them, not the AMI sources.
	api, apiErr := dockerbuilder.NewClient()
	runUUID := uuid.NewString()
	cs := expandBakes(ctx, path, dirs, expandOptions{version: "outdated", buildTime: time.Now().UTC(), runUUID: runUUID})
	type row struct {
		latest  string
		newBase string
		updates string
		verdict string
	}
	rows := map[*candidate]*row{}
	for _, c := range cs {
		rows[c] = &row{latest: "-", newBase: "-", updates: "-"}
	}
	// Starting an instance for the update check takes minutes: its
	// progress goes to stderr.
	rep := newReporter(st.Err, false, IsTerminal(st.Err))
	each(ctx, cs, parallel, func(ctx context.Context, c *candidate) {
		r := rows[c]
		base, err := c.job.Builder.Resolve(ctx)
		if err != nil {
			c.err = fmt.Errorf("build %s: %w", c.job.Name, err)
			return
		}
		prev := previous(ctx, c.job)
		check := base.Digest
		var why []string
		if prev != nil {
			r.latest, check = prev.Version, prev.ID
			if prev.BaseDigest != base.Digest {
				r.newBase = fmt.Sprintf("yes: %s→%s", shortDigest(prev.BaseDigest), shortDigest(base.Digest))
				why = append(why, "newer base")
			} else {
				r.newBase = "no"
			}
		} else {
			why = append(why, "never baked")
		}
		var u images.Updates
		uc, canCheck := c.job.Builder.(updateChecker)
		switch {
		case c.job.BuilderType == "docker" && apiErr != nil:
			err = apiErr
		case c.job.BuilderType == "docker":
			u, err = images.CheckUpdates(ctx, api, check, runUUID)
		case canCheck:
			u, err = uc.CheckUpdates(ctx, check, bake.Log{R: rep, Source: c.job.Name, Step: "update check"})
		default:
			u.NotChecked = fmt.Sprintf("not checked (%s images are not started for the check)", c.job.BuilderType)
		}
		if err != nil {
			c.err = fmt.Errorf("build %s: %w", c.job.Name, err)
			return
		}
		switch {
		case u.NotChecked != "":
			r.updates = u.NotChecked
		case u.Unsupported:
			r.updates = "not checked (no apt-get)"
		default:
			r.updates = fmt.Sprintf("%d (%d security)", u.Pending, u.Security)
			if u.Pending > 0 {
				why = append(why, "updates pending")
			}
		}
		r.verdict = "up to date"
		if u.NotChecked != "" {
			r.verdict = "up to date, updates not checked"
		}
		if len(why) > 0 {
			r.verdict = "rebuild: " + strings.Join(why, ", ")
		}
	})
	rep.Close()
	w := tabwriter.NewWriter(st.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "BAKE\tSOURCE\tNEWEST\tNEWER BASE\tUPDATES\tVERDICT")
	failed := 0
	for _, c := range cs {
		r := rows[c]
		name := "-"
		if c.job != nil {
			name = c.job.Name
		}
		verdict := r.verdict
		if c.err != nil {
			failed++
			verdict = "failed: " + oneLine(c.err.Error())
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", c.bake, name, r.latest, r.newBase, r.updates, verdict)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if failed > 0 {
		return &exitError{code: ExitFailed}
	}
	return nil
}
