package console

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bakehq/bake/bake"
)

// Reporter is a bake.Reporter that is stopped when the run ends.
type Reporter interface {
	bake.Reporter
	Close()
}

// NewReporter picks the progress output: JSON events, a live view on a
// terminal, or plain timestamped lines (CI).
func NewReporter(w io.Writer, jsonOut, tty bool) Reporter {
	switch {
	case jsonOut:
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return &jsonReporter{enc: enc}
	case tty:
		return newLiveReporter(w)
	default:
		return &plainReporter{w: w}
	}
}

type jsonReporter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (r *jsonReporter) Report(e bake.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e.Time = e.Time.UTC()
	r.enc.Encode(e)
}

func (r *jsonReporter) Close() {}

// line renders an event as the text of one line, without timestamp;
// "" means the event is not shown as a line.
func line(e bake.Event) string {
	who := e.Source
	if e.Step != "" && e.Type != bake.EventOutput {
		who += ": " + e.Step
	}
	switch e.Type {
	case bake.EventBuildStart:
		return fmt.Sprintf("%s: build started (%s)", who, e.Message)
	case bake.EventStepStart:
		return fmt.Sprintf("%s: started", who)
	case bake.EventStepDone:
		if e.Error != "" {
			return fmt.Sprintf("%s: failed after %.1fs", who, e.Elapsed)
		}
		return fmt.Sprintf("%s: done in %.1fs", who, e.Elapsed)
	case bake.EventStepCached:
		return fmt.Sprintf("%s: cached", who)
	case bake.EventOutput:
		return fmt.Sprintf("%s | %s", e.Source, e.Message)
	case bake.EventInfo:
		return fmt.Sprintf("%s: %s", who, e.Message)
	case bake.EventWarning:
		return fmt.Sprintf("%s: warning: %s", who, e.Message)
	case bake.EventArtifact:
		return fmt.Sprintf("%s: artifact %s", who, e.Message)
	case bake.EventSkipped:
		return fmt.Sprintf("%s: skipped: %s", who, e.Message)
	case bake.EventBuildDone:
		if e.Error != "" {
			return fmt.Sprintf("%s: build failed after %.1fs", who, e.Elapsed)
		}
		return fmt.Sprintf("%s: build finished in %.1fs", who, e.Elapsed)
	}
	return ""
}

type plainReporter struct {
	mu sync.Mutex
	w  io.Writer
}

func (r *plainReporter) Report(e bake.Event) {
	l := line(e)
	if l == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.w, "%s %s\n", e.Time.UTC().Format("2006-01-02T15:04:05.000Z"), l)
}

func (r *plainReporter) Close() {}

// liveReporter prints event lines and keeps, below them, one status line
// per running source with its current step and elapsed time.
type liveReporter struct {
	mu      sync.Mutex
	w       io.Writer
	status  map[string]*liveStatus
	drawn   int
	stop    chan struct{}
	stopped sync.WaitGroup
}

type liveStatus struct {
	step      string
	start     time.Time
	stepStart time.Time
	done      bool
}

func newLiveReporter(w io.Writer) *liveReporter {
	r := &liveReporter{w: w, status: map[string]*liveStatus{}, stop: make(chan struct{})}
	r.stopped.Add(1)
	go func() {
		defer r.stopped.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				r.mu.Lock()
				r.redraw(nil)
				r.mu.Unlock()
			case <-r.stop:
				return
			}
		}
	}()
	return r
}

func (r *liveReporter) Report(e bake.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.status[e.Source]
	if s == nil && e.Source != "" {
		s = &liveStatus{start: e.Time}
		r.status[e.Source] = s
	}
	switch e.Type {
	case bake.EventStepStart:
		s.step, s.stepStart = e.Step, e.Time
	case bake.EventBuildDone:
		s.done = true
	}
	var lines []string
	if l := line(e); l != "" && e.Type != bake.EventStepStart {
		lines = append(lines, l)
	}
	r.redraw(lines)
}

// redraw erases the status lines, prints lines, and draws the status
// lines again.
func (r *liveReporter) redraw(lines []string) {
	var b strings.Builder
	if r.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA\x1b[J", r.drawn)
	}
	for _, l := range lines {
		b.WriteString(l)
		b.WriteString("\n")
	}
	names := make([]string, 0, len(r.status))
	for n, s := range r.status {
		if !s.done {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	now := time.Now()
	for _, n := range names {
		s := r.status[n]
		step := s.step
		if step == "" {
			step = "starting"
		}
		fmt.Fprintf(&b, "\x1b[1m» %s\x1b[0m  %s  %.1fs (total %.1fs)\n", n, step, since(now, s.stepStart, s.start), now.Sub(s.start).Seconds())
	}
	r.drawn = len(names)
	io.WriteString(r.w, b.String())
}

func (r *liveReporter) Close() {
	close(r.stop)
	r.stopped.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.drawn > 0 {
		fmt.Fprintf(r.w, "\x1b[%dA\x1b[J", r.drawn)
		r.drawn = 0
	}
}

func since(now, t, fallback time.Time) float64 {
	if t.IsZero() {
		t = fallback
	}
	return now.Sub(t).Seconds()
}
