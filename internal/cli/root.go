// Package cli holds bake's commands. main only calls Main, so every
// command is testable against buffers.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/bakehq/bake/bake"
)

// Exit codes.
const (
	ExitOK       = 0
	ExitFailed   = 1 // the build (or the command's work) failed
	ExitBadInput = 2 // the user must fix a file, flag or variable
)

// Streams are a command's standard streams: stdout is the result,
// stderr is progress.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// IsTerminal reports whether w is a terminal (for the live view).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Main runs bake with args and returns the exit code.
func Main(ctx context.Context, st Streams, args []string) int {
	err := Run(ctx, st, args)
	if err == nil {
		return ExitOK
	}
	var silent *exitError
	if errors.As(err, &silent) {
		return silent.code
	}
	fmt.Fprintf(st.Err, "error: %s\n", err)
	if bake.IsBadInput(err) {
		return ExitBadInput
	}
	return ExitFailed
}

// exitError ends a command with a code after it has said why itself.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

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
