package bake

import (
	"bytes"
	"strings"
	"sync"
	"time"
)

// Event types reported while a bake runs. With --json each is one line.
const (
	EventBuildStart = "build.start" // a source starts
	EventStepStart  = "step.start"
	EventStepDone   = "step.done"
	EventStepCached = "step.cached"
	EventOutput     = "output" // a line of a provisioner's output
	EventInfo       = "info"
	EventWarning    = "warning"
	EventArtifact   = "artifact"
	EventBuildDone  = "build.done" // a source ended; Error set when it failed
	EventSkipped    = "build.skipped"
)

// Event is one thing that happened during a run.
type Event struct {
	Time    time.Time         `json:"time"`
	Type    string            `json:"type"`
	Source  string            `json:"source,omitempty"`
	Step    string            `json:"step,omitempty"`
	Stream  string            `json:"stream,omitempty"`
	Message string            `json:"message,omitempty"`
	Error   string            `json:"error,omitempty"`
	Elapsed float64           `json:"elapsed_seconds,omitempty"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// Reporter receives events. Implementations are safe for concurrent use.
type Reporter interface {
	Report(Event)
}

// ReporterFunc adapts a function to Reporter.
type ReporterFunc func(Event)

// Report calls f(e).
func (f ReporterFunc) Report(e Event) { f(e) }

// Discard drops every event.
var Discard Reporter = ReporterFunc(func(Event) {})

// Log reports events for one source and step. The zero Log discards.
type Log struct {
	R      Reporter
	Source string
	Step   string
}

// WithStep returns a Log for step.
func (l Log) WithStep(step string) Log { l.Step = step; return l }

func (l Log) report(e Event) {
	if l.R == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Source, e.Step = l.Source, l.Step
	l.R.Report(e)
}

// Info reports a progress message.
func (l Log) Info(msg string) { l.report(Event{Type: EventInfo, Message: msg}) }

// Warn reports a warning.
func (l Log) Warn(msg string) { l.report(Event{Type: EventWarning, Message: msg}) }

// Event reports e with the log's source and step.
func (l Log) Event(e Event) { l.report(e) }

// Stdout returns a writer that reports each line written as an output
// event on stream "stdout". Close flushes a last partial line.
func (l Log) Stdout() *LineWriter { return &LineWriter{log: l, stream: "stdout"} }

// Stderr is Stdout for stream "stderr".
func (l Log) Stderr() *LineWriter { return &LineWriter{log: l, stream: "stderr"} }

// LineWriter turns a byte stream into one output event per line.
type LineWriter struct {
	mu     sync.Mutex
	log    Log
	stream string
	buf    []byte
}

func (w *LineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.emit(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 64<<10 { // a very long line without newline
		w.emit(string(w.buf))
		w.buf = w.buf[:0]
	}
	return len(p), nil
}

// Close reports a last line that had no newline.
func (w *LineWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(string(w.buf))
		w.buf = nil
	}
	return nil
}

func (w *LineWriter) emit(line string) {
	w.log.report(Event{Type: EventOutput, Stream: w.stream, Message: strings.TrimRight(line, "\r")})
}
