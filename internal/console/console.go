// Package console is what the bake and roll commands share: their
// standard streams, exit codes and how an error becomes one, and the
// progress output (JSON events, a live view on a terminal, or plain
// lines). It knows no builder, store or cloud, so a binary that imports
// it links none of them.
package console

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/bakehq/bake/bake"
)

// Streams are a command's standard streams: stdout is the result,
// stderr is progress.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// Exit codes.
const (
	ExitOK       = 0
	ExitFailed   = 1 // the build (or the command's work) failed
	ExitBadInput = 2 // the user must fix a file, flag or variable
)

// ExitError ends a command with Code after the command has said why
// itself, so Exit prints nothing for it.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit %d", e.Code) }

// ExitCode is the code the command ends with.
func (e *ExitError) ExitCode() int { return e.Code }

// Exit is the exit code for the error a command returned: ExitOK for
// nil; the code of an error with an ExitCode method (an *ExitError),
// which has been explained already; otherwise it prints "error: ..." to
// w and is ExitBadInput for bad input, ExitFailed for the rest.
func Exit(w io.Writer, err error) int {
	if err == nil {
		return ExitOK
	}
	var silent interface{ ExitCode() int }
	if errors.As(err, &silent) {
		return silent.ExitCode()
	}
	fmt.Fprintf(w, "error: %s\n", err)
	if bake.IsBadInput(err) {
		return ExitBadInput
	}
	return ExitFailed
}

// IsTerminal reports whether w is a terminal (for the live view).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
