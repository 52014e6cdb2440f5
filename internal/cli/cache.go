package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/bakehq/bake/bake"
	dockerbuilder "github.com/bakehq/bake/builders/docker"
)

func newCacheCmd(st Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "list and prune the step cache of Docker bakes",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "ls",
		Short: "list the saved steps, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := dockerbuilder.NewClient()
			if err != nil {
				return err
			}
			entries, err := dockerbuilder.CacheEntries(cmd.Context(), api)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(st.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "KEY\tCREATED\tSIZE\tSTEP")
			for _, e := range entries {
				insp, err := api.ImageInspect(cmd.Context(), e.ID)
				comment := ""
				if err == nil {
					comment, _, _ = strings.Cut(insp.Comment, "\n") // the step; the facts follow
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", e.Key[:12], e.Created.UTC().Format(time.RFC3339), units.HumanSize(float64(e.Size)), comment)
			}
			return w.Flush()
		},
	})
	var all bool
	var maxEntries int
	var maxSize string
	var olderThan time.Duration
	prune := &cobra.Command{
		Use:   "prune",
		Short: "remove saved steps beyond the bounds (or --all)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			maxBytes, err := units.RAMInBytes(maxSize)
			if err != nil {
				return bake.BadInputf("--max-size %q: write a size like 20GiB", maxSize)
			}
			api, err := dockerbuilder.NewClient()
			if err != nil {
				return err
			}
			removed, err := dockerbuilder.PruneCache(cmd.Context(), api, maxEntries, maxBytes, olderThan, all)
			for _, e := range removed {
				fmt.Fprintf(st.Out, "removed %s (%s)\n", e.Key[:12], units.HumanSize(float64(e.Size)))
			}
			fmt.Fprintf(st.Out, "%d cache entries removed\n", len(removed))
			return err
		},
	}
	prune.Flags().BoolVar(&all, "all", false, "remove every entry")
	prune.Flags().IntVar(&maxEntries, "max-entries", dockerbuilder.DefaultCacheMaxEntries, "keep at most this many entries")
	prune.Flags().StringVar(&maxSize, "max-size", units.BytesSize(dockerbuilder.DefaultCacheMaxBytes), "keep at most this much (sizes include shared layers)")
	prune.Flags().DurationVar(&olderThan, "older-than", 0, "also remove entries older than this, e.g. 168h")
	cmd.AddCommand(prune)
	return cmd
}

// boundCache keeps the step cache within its default bounds after a bake.
func boundCache(ctx context.Context, st Streams) error {
	api, err := dockerbuilder.NewClient()
	if err != nil {
		return nil // no engine: nothing was cached
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, err = dockerbuilder.PruneCache(ctx, api, dockerbuilder.DefaultCacheMaxEntries, dockerbuilder.DefaultCacheMaxBytes, 0, false)
	return err
}
