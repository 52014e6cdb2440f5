package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/bake/rebuild"
	"github.com/bakehq/bake/images"
)

type planFlags struct {
	shards   int
	version  string
	parallel int
	json     bool
}

func newPlanCmd(st Streams) *cobra.Command {
	var f planFlags
	cmd := &cobra.Command{
		Use:   "plan DIR --shards N [--json]",
		Short: "split the bakes under DIR into N shards balanced by their previous bake times, for a CI matrix",
		Long: "Loads every bake under DIR as bake rebuild does and deals the bakes into N shards, heaviest first, by the\n" +
			"time each one's newest artifacts took to bake (dev.bake.took; the median for bakes never baked). The split\n" +
			"depends only on those times, so bake rebuild DIR --nightly --shard I/N --version V on every runner picks the\n" +
			"same bakes. --json prints one object a GitHub Actions matrix takes as it is (fromJSON): {\"include\": [{\"shard\":\n" +
			"\"1/N\", \"index\", \"total\", \"version\", \"bakes\", \"seconds\"}, ...]}. Nothing is baked.",
		Args: exactlyOneArg("a directory of bakes"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPlan(cmd.Context(), st, args[0], f)
		},
	}
	cmd.Flags().IntVar(&f.shards, "shards", 1, "how many shards (runners)")
	cmd.Flags().StringVar(&f.version, "version", "", "the version every shard tags its images with (default YYYYMMDD.HHMMSS-GITSHA, once for all shards)")
	cmd.Flags().IntVar(&f.parallel, "parallel", 4, "bakes looked up at once")
	cmd.Flags().BoolVar(&f.json, "json", false, "print the plan as a GitHub Actions matrix (JSON) on stdout")
	return cmd
}

// matrixEntry is one shard as a CI matrix entry.
type matrixEntry struct {
	Shard   string   `json:"shard"`
	Index   int      `json:"index"`
	Total   int      `json:"total"`
	Version string   `json:"version"`
	Bakes   []string `json:"bakes"`
	Seconds float64  `json:"seconds"`
}

func runPlan(ctx context.Context, st Streams, root string, f planFlags) error {
	if f.shards < 1 || f.shards > 256 {
		return bake.BadInputf("--shards %d: want 1 to 256", f.shards)
	}
	dirs, err := rebuild.Find(root)
	if err != nil {
		return err
	}
	buildTime := time.Now().UTC()
	version := f.version
	if version == "" {
		version = DefaultVersion(buildTime, gitRevision(root))
	}
	if err := checkVersion(version); err != nil {
		return err
	}
	cs := rebuild.Load(ctx, root, dirs, rebuild.LoadOptions{Plugins: plugins(), Version: version, BuildTime: buildTime, RunUUID: uuid.NewString()})
	var failed []string
	for _, c := range cs {
		if c.Err != nil {
			failed = append(failed, fmt.Sprintf("%s: %s", c.Bake, oneLine(c.Err.Error())))
		}
	}
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	skip := ""
	if f.version != "" {
		skip = version
	}
	shards := rebuild.Split(rebuild.Weights(images.WithSnapshot(ctx), cs, skip, f.parallel), f.shards)
	if f.json {
		m := struct {
			Include []matrixEntry `json:"include"`
		}{Include: []matrixEntry{}}
		for _, s := range shards {
			m.Include = append(m.Include, matrixEntry{Shard: s.String(), Index: s.Index, Total: s.Total, Version: version, Bakes: s.Bakes, Seconds: s.Took.Seconds()})
		}
		enc := json.NewEncoder(st.Out)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(m); err != nil {
			return err
		}
	} else {
		w := tabwriter.NewWriter(st.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "SHARD\tBAKES\tTIME\tNAMES")
		for _, s := range shards {
			fmt.Fprintf(w, "%s\t%d\t%s\t%s\n", s, len(s.Bakes), s.Took, strings.Join(s.Bakes, " "))
		}
		if err := w.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(st.Out, "version %s: bake rebuild %s --nightly --shard I/%d --version %s\n", version, root, f.shards, version)
	}
	// A bake that does not load is still dealt (its shard reports it);
	// say so here too, where the pipeline starts.
	for _, l := range failed {
		fmt.Fprintf(st.Err, "warning: %s\n", l)
	}
	return nil
}
