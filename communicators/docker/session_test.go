package docker

import (
	"strings"
	"testing"
)

// The marker is found wherever the engine's frames split it, output
// before it streams through, and nothing of it leaks into the output.
func TestMarkerWriter(t *testing.T) {
	t.Parallel()
	s := &session{marker: []byte("\x00BAKEabc:"), done: make(chan int, 4)}
	full := "line one\nbinary\x00zero\x00BAKEab not a marker\n\x00BAKEabc:42\x00\n"
	for split := 1; split < len(full); split++ {
		var out strings.Builder
		m := &markerWriter{s: s}
		m.begin(&out)
		m.feed([]byte(full[:split]))
		m.feed([]byte(full[split:]))
		select {
		case code := <-s.done:
			if code != 42 {
				t.Fatalf("split %d: code %d", split, code)
			}
		default:
			t.Fatalf("split %d: marker not found", split)
		}
		if want := "line one\nbinary\x00zero\x00BAKEab not a marker\n"; out.String() != want {
			t.Fatalf("split %d: output %q", split, out.String())
		}
	}
}
