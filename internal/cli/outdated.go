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
	"github.com/bakehq/bake/bake/rebuild"
	dockerbuilder "github.com/bakehq/bake/builders/docker"
	"github.com/bakehq/bake/images"
	"github.com/bakehq/bake/internal/console"
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

func runOutdated(ctx context.Context, st Streams, path string, parallel int) error {
	dirs, err := rebuild.Find(path)
	if err != nil {
		return err
	}
	// Docker sources need the engine for the update check; a missing
	// engine fails them, not the AMI sources.
	api, apiErr := dockerbuilder.NewClient()
	runUUID := uuid.NewString()
	cs := rebuild.Load(ctx, path, dirs, rebuild.LoadOptions{Plugins: plugins(), Version: "outdated", BuildTime: time.Now().UTC(), RunUUID: runUUID})
	type row struct {
		latest  string
		newBase string
		updates string
		verdict string
	}
	rows := map[*rebuild.Candidate]*row{}
	for _, c := range cs {
		rows[c] = &row{latest: "-", newBase: "-", updates: "-"}
	}
	// Starting an instance for the update check takes minutes: its
	// progress goes to stderr.
	rep := console.NewReporter(st.Err, false, console.IsTerminal(st.Err))
	rebuild.Each(ctx, cs, parallel, func(ctx context.Context, c *rebuild.Candidate) {
		r := rows[c]
		base, err := c.Job.Builder.Resolve(ctx)
		if err != nil {
			c.Err = fmt.Errorf("build %s: %w", c.Job.Name, err)
			return
		}
		prev := rebuild.Previous(ctx, c.Job)
		check := base.Digest
		var why []string
		if prev != nil {
			r.latest, check = prev.Version, prev.ID
			if prev.BaseDigest != base.Digest {
				r.newBase = fmt.Sprintf("yes: %s→%s", rebuild.ShortDigest(prev.BaseDigest), rebuild.ShortDigest(base.Digest))
				why = append(why, "newer base")
			} else {
				r.newBase = "no"
			}
		} else {
			why = append(why, "never baked")
		}
		var u images.Updates
		uc, canCheck := c.Job.Builder.(rebuild.UpdateChecker)
		switch {
		case c.Job.BuilderType == "docker" && apiErr != nil:
			err = apiErr
		case c.Job.BuilderType == "docker":
			u, err = images.CheckUpdates(ctx, api, check, runUUID)
		case canCheck:
			u, err = uc.CheckUpdates(ctx, check, bake.Log{R: rep, Source: c.Job.Name, Step: "update check"})
		default:
			u.NotChecked = fmt.Sprintf("not checked (%s images are not started for the check)", c.Job.BuilderType)
		}
		if err != nil {
			c.Err = fmt.Errorf("build %s: %w", c.Job.Name, err)
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
		verdict := r.verdict
		if c.Err != nil {
			failed++
			verdict = "failed: " + oneLine(c.Err.Error())
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Bake, c.Name(), r.latest, r.newBase, r.updates, verdict)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if failed > 0 {
		return &console.ExitError{Code: console.ExitFailed}
	}
	return nil
}
