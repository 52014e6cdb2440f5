package cli

import (
	"io"

	"github.com/bakehq/bake/bake"
)

// Reporter is a bake.Reporter that is stopped when the run ends.
type Reporter interface {
	bake.Reporter
	Close()
}

// NewReporter is bake's progress output for other commands (roll): JSON
// events, a live view on a terminal, or plain timestamped lines (CI).
func NewReporter(w io.Writer, jsonOut, tty bool) Reporter { return newReporter(w, jsonOut, tty) }
