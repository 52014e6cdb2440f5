package cli

import (
	"fmt"
	"io"

	"github.com/bakehq/bake/internal/console"
)

// The names rebuild.go and outdated.go still use for what lives in
// package console; the other commands call console directly.

const (
	ExitOK       = console.ExitOK
	ExitFailed   = console.ExitFailed
	ExitBadInput = console.ExitBadInput
)

// exitError is console.ExitError as rebuild.go and outdated.go write it.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }
func (e *exitError) ExitCode() int { return e.code }

func newReporter(w io.Writer, jsonOut, tty bool) console.Reporter {
	return console.NewReporter(w, jsonOut, tty)
}

// IsTerminal reports whether w is a terminal (for the live view).
func IsTerminal(w io.Writer) bool { return console.IsTerminal(w) }
