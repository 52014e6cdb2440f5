// Package cli holds bake's commands. main only calls Main, so every
// command is testable against buffers.
package cli

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/internal/console"
)

// Streams are a command's standard streams: stdout is the result,
// stderr is progress.
type Streams = console.Streams

// Main runs bake with args and returns the exit code.
func Main(ctx context.Context, st Streams, args []string) int {
	return console.Exit(st.Err, Run(ctx, st, args))
}

// Run runs bake with args.
func Run(ctx context.Context, st Streams, args []string) error {
	root := newRoot(st)
	root.SetArgs(packerStyleFlags(root, args))
	root.SetIn(st.In)
	root.SetOut(st.Out)
	root.SetErr(st.Err)
	return root.ExecuteContext(ctx)
}

func newRoot(st Streams) *cobra.Command {
	root := &cobra.Command{
		Use:           "bake",
		Short:         "bake versioned machine images and roll fleets onto them",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return bake.BadInputf("%s: %w (see bake %s --help)", c.Name(), err, c.Name())
	})
	root.AddCommand(
		newVersionCmd(st),
		newBuildCmd(st),
		newValidateCmd(st),
		newInspectCmd(st),
		newFmtCmd(st),
		newSimCmd(st),
		newRecipeCmd(st),
		newCacheCmd(st),
		newImagesCmd(st),
		newPromoteCmd(st),
		newPruneCmd(st),
		newRebuildCmd(st),
		newPlanCmd(st),
		newOutdatedCmd(st),
		newGCCmd(st),
	)
	return root
}

// packerStyleFlags lets Packer users write -var and -only with one dash:
// a single-dash argument naming a long flag of the command gets a second
// dash. Everything after "--" is left alone.
func packerStyleFlags(root *cobra.Command, args []string) []string {
	cmd, _, err := root.Find(args)
	if err != nil || cmd == nil {
		return args
	}
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && len(a) > 2 {
			name, _, _ := strings.Cut(a[1:], "=")
			if cmd.Flags().Lookup(name) != nil || cmd.InheritedFlags().Lookup(name) != nil {
				a = "-" + a
			}
		}
		out = append(out, a)
	}
	return out
}
