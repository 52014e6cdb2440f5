package bake

import (
	"errors"
	"fmt"
	"strings"
	"sync"
)

// TailBytes is how much of a failed command's output an error keeps.
const TailBytes = 4096

// RunError is a remote command that ran and failed. It carries what the
// user needs to see: the step, the command, its exit code and the tail of
// its output, and a hint where one is known.
type RunError struct {
	Step     string // "provisioner shell #2", filled in by the runner
	Command  string
	ExitCode int
	Output   string // the tail of stdout and stderr, interleaved
	Hint     string
}

func (e *RunError) Error() string {
	var b strings.Builder
	if e.Step != "" {
		fmt.Fprintf(&b, "%s: ", e.Step)
	}
	fmt.Fprintf(&b, "command exited with code %d: %s", e.ExitCode, oneLine(e.Command, 200))
	if out := strings.TrimRight(e.Output, "\n"); out != "" {
		b.WriteString("\n--- last output ---\n")
		b.WriteString(out)
	}
	if e.Hint != "" {
		b.WriteString("\nhint: ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		s = s[:max-3] + "..."
	}
	return s
}

// InputError marks bad input: a bake file, a flag or a variable the user
// must fix. The CLI exits 2 for it, 1 for any other failure.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// BadInput wraps err as an *InputError.
func BadInput(err error) error {
	if err == nil {
		return nil
	}
	return &InputError{Err: err}
}

// BadInputf is BadInput(fmt.Errorf(...)).
func BadInputf(format string, args ...any) error {
	return &InputError{Err: fmt.Errorf(format, args...)}
}

// IsBadInput reports whether err is, or wraps, an *InputError.
func IsBadInput(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}

// Tail is an io.Writer that keeps the last n bytes written to it.
type Tail struct {
	mu  sync.Mutex
	n   int
	buf []byte
}

// NewTail returns a Tail keeping n bytes.
func NewTail(n int) *Tail { return &Tail{n: n} }

func (t *Tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.n; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// String returns the kept bytes, starting at a line boundary when the
// tail was cut.
func (t *Tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := string(t.buf)
	if len(t.buf) == t.n {
		if i := strings.IndexByte(s, '\n'); i >= 0 && i < len(s)-1 {
			s = s[i+1:]
		}
	}
	return s
}

// ShellQuote quotes s for a POSIX shell.
func ShellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}
