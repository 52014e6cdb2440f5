package bake

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestOwnerDead(t *testing.T) {
	t.Parallel()
	o := ownerOf("run-1234567890", time.Hour)
	got, ok := ParseOwner(o.Labels())
	if !ok || got != o {
		t.Fatalf("labels do not round-trip: %+v -> %+v (%v)", o, got, ok)
	}
	if _, ok := ParseOwner(map[string]string{LabelRun: "x"}); ok {
		t.Error("a run label alone was taken for an owner")
	}
	now := o.Start.Add(10 * time.Minute)
	for _, c := range []struct {
		name  string
		host  string
		alive bool
		now   time.Time
		dead  string
	}{
		{"this host, process runs", o.Host, true, now, ""},
		{"this host, process gone", o.Host, false, now, "is gone"},
		{"this host, alive past the deadline", o.Host, true, o.Deadline.Add(time.Hour), ""},
		{"other host, within the deadline", "elsewhere", false, now, ""},
		{"other host, past deadline and margin", "elsewhere", false, o.Deadline.Add(DefaultDeadlineMargin + time.Minute), "past its deadline"},
	} {
		lv := Liveness{Host: c.host, Now: c.now, Margin: DefaultDeadlineMargin, Alive: func(int, string) bool { return c.alive }}
		dead, why := lv.Dead(o)
		if dead != (c.dead != "") || !strings.Contains(why, c.dead) {
			t.Errorf("%s: dead %v (%s), want %q", c.name, dead, why, c.dead)
		}
	}
	// The real check: this process runs; a pid with another start time is
	// another process.
	if !ProcessAlive(os.Getpid(), ProcStart(os.Getpid())) {
		t.Error("this process is not alive")
	}
	if ProcStart(os.Getpid()) != "" && ProcessAlive(os.Getpid(), "1") {
		t.Error("a reused pid (other start time) was taken for the owner")
	}
}
