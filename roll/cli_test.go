package roll_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/bakehq/bake/roll"
)

// These tests run the roll binary as a pipeline would.

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s\n--- stderr\n%s", r.code, r.stdout, r.stderr)
}

func needBin(t *testing.T) {
	t.Helper()
	needCloud(t)
	if binErr != "" {
		t.Fatal(binErr)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}
func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.buf.String() }

// proc is a running roll.
type proc struct {
	cmd      *exec.Cmd
	out, err *syncBuffer
	done     chan struct{}
	code     int
}

func start(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(rollBin, args...), out: &syncBuffer{}, err: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.err
	must(t, p.cmd.Start())
	go func() {
		err := p.cmd.Wait()
		p.code = 0
		if ee, ok := err.(*exec.ExitError); ok {
			p.code = ee.ExitCode()
		} else if err != nil {
			p.code = -1
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// wait waits (bounded) for the roll to exit.
func (p *proc) wait(t *testing.T, d time.Duration) result {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("roll %v did not finish in %s:\n%s\n%s", p.cmd.Args[1:], d, p.out, p.err)
	}
	return result{p.out.String(), p.err.String(), p.code}
}

// when waits (bounded) until the roll printed s.
func (p *proc) when(t *testing.T, s string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(p.out.String(), s) {
		select {
		case <-p.done:
			t.Fatalf("roll exited with %d before printing %q:\n%s\n%s", p.code, s, p.out, p.err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("roll did not print %q in %s:\n%s\n%s", s, d, p.out, p.err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func run(t *testing.T, args ...string) result {
	t.Helper()
	return start(t, args...).wait(t, 4*time.Minute)
}

func rollArgs(s *service, strategy, version string, more ...string) []string {
	return append([]string{"--service", s.file, "--strategy", strategy, "--image", cloud.amis[version]}, more...)
}

// TestKillAtEachPhase kills roll with SIGKILL in each phase; running it
// again converges: one group left, on the new image, traffic on it.
func TestKillAtEachPhase(t *testing.T) {
	t.Parallel()
	needBin(t)
	plans := map[string][]string{
		"kill1": {roll.PhaseCreating, roll.PhasePromoted},
		"kill2": {roll.PhaseWaiting, roll.PhaseScaleDown},
	}
	for name, phases := range plans {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newService(t, name, serviceOpts{via: viaListener, bgDelay: "4s", bgWindow: "2s"})
			deploy(t, s, "blue")
			to := "green"
			for _, phase := range phases {
				p := start(t, rollArgs(s, roll.BlueGreen, to, "--json")...)
				p.when(t, `"phase":"`+phase+`"`, 2*time.Minute)
				must(t, p.cmd.Process.Signal(syscall.SIGKILL))
				<-p.done
				t.Logf("killed roll to %s in phase %s", to, phase)
				st := run(t, "status", "--service", s.file)
				if !strings.Contains(st.stdout, "holder: dead: pid") || !strings.Contains(st.stdout, "resumes roll") {
					t.Errorf("status after a kill in phase %s should say the holder is dead and that a rerun resumes: %s", phase, st)
				}
				r := run(t, rollArgs(s, roll.BlueGreen, to)...)
				if r.code != 0 || !strings.Contains(r.stdout, "done (bluegreen)") {
					t.Fatalf("re-run after a kill in phase %s: %s", phase, r)
				}
				if !strings.Contains(r.stderr, "resuming roll") {
					t.Errorf("the re-run did not resume the killed roll: %s", r)
				}
				waitFor(t, "one group left", 30*time.Second, func() bool { return len(groupsOf(t, name, true)) == 1 })
				if ips := instanceIPs(t, name, to); len(ips) != 1 {
					t.Errorf("instances on %s: %v", to, ips)
				}
				l := startLoad(t, s)
				waitFor(t, "traffic on "+to, 10*time.Second, func() bool { st := l.Stats(); return st.Served > 20 && st.allOn(to) })
				l.Stop()
				if to == "green" {
					to = "blue"
				} else {
					to = "green"
				}
			}
			h := run(t, "history", "--service", s.file)
			if h.code != 0 || strings.Count(h.stdout, " done ") != 3 {
				t.Errorf("history after the kills: %s", h)
			}
		})
	}
}

// TestConcurrentRollRefused: a second roll of a service while one runs
// is refused with a clear message, and the first one finishes.
func TestConcurrentRollRefused(t *testing.T) {
	t.Parallel()
	needBin(t)
	s := newService(t, "locked", serviceOpts{via: viaListener})
	deploy(t, s, "blue")
	// The first by channel, the second by version: both resolve to green.
	promote(t, "green", "locked")
	first := start(t, "--service", s.file, "--channel", bakeName+"/locked", "--json")
	first.when(t, `"phase":"waiting"`, time.Minute)
	second := run(t, "--service", s.file, "--strategy", "canary", "--version", "green")
	if second.code != 4 || !strings.Contains(second.stderr, "another roll of this service is running") || !strings.Contains(second.stderr, "/roll/locked/lock") {
		t.Errorf("second roll: %s", second)
	}
	if r := first.wait(t, 2*time.Minute); r.code != 0 {
		t.Errorf("first roll: %s", r)
	}
}

// TestBadInput: mistakes are reported before anything changes.
func TestBadInput(t *testing.T) {
	t.Parallel()
	needBin(t)
	s := newService(t, "badinput", serviceOpts{via: viaListener})
	other := newService(t, "other", serviceOpts{via: viaListener})
	wrong, err := os.ReadFile(s.file)
	must(t, err)
	wrongFile := s.file + ".wrong" + roll.FileSuffix
	must(t, os.WriteFile(wrongFile, bytes.Replace(wrong, []byte(s.lis[0]), []byte(other.lis[0]), 1), 0o644))
	tests := []struct {
		name  string
		args  []string
		wants []string
	}{
		{"unknown service", []string{"--service", s.file, "--name", "nope", "--image", cloud.amis["green"]}, []string{`unknown service "nope"`, "badinput"}},
		{"missing file", []string{"--service", s.file + ".missing", "--image", cloud.amis["green"]}, []string{"read service file", "no such file"}},
		{"ami does not exist", []string{"--service", s.file, "--image", "ami-0123456789abcdef0"}, []string{"image ami-0123456789abcdef0 does not exist"}},
		{"no version", []string{"--service", s.file, "--version", "v-none"}, []string{"an image tagged org.opencontainers.image.version=v-none does not exist"}},
		{"foreign listener", []string{"--service", wrongFile, "--image", cloud.amis["green"]}, []string{"does not belong to the service", other.lis[0]}},
		{"unknown strategy", []string{"--service", s.file, "--strategy", "yolo", "--image", cloud.amis["green"]}, []string{`unknown strategy "yolo"`}},
		{"route53 without records", []string{"--service", s.file, "--strategy", "route53", "--image", cloud.amis["green"]}, []string{"strategy route53 needs"}},
		{"two targets", []string{"--service", s.file, "--image", cloud.amis["green"], "--version", "x"}, []string{"exactly one of --image"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.args...)
			if r.code != 2 {
				t.Errorf("exit %d, want 2: %s", r.code, r)
			}
			for _, w := range tt.wants {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr does not say %q: %s", w, r)
				}
			}
		})
	}
	if g := groupsOf(t, "badinput", true); len(g) != 0 {
		t.Errorf("bad input created groups %v", g)
	}
	if _, err := cloud.ssm.GetParameter(context.Background(), &ssm.GetParameterInput{Name: aws.String("/roll/badinput/state")}); err == nil {
		t.Error("bad input wrote roll state")
	}
}

// TestOperations: status, promote at a manual gate, pause/resume, abort
// and history, as an operator runs them.
func TestOperations(t *testing.T) {
	t.Parallel()
	needBin(t)
	s := newService(t, "ops", serviceOpts{via: viaListener, extra: `
  canary {
    steps = [50, 100]
    pause = "manual"
  }`})
	deploy(t, s, "blue")
	if r := run(t, "promote", "--service", s.file); r.code != 2 || !strings.Contains(r.stderr, "no roll of service ops is in progress") {
		t.Errorf("promote with no roll: %s", r)
	}
	p := start(t, rollArgs(s, roll.Canary, "green")...)
	waitErr := func(s string) { // progress goes to stderr without --json
		deadline := time.Now().Add(2 * time.Minute)
		for !strings.Contains(p.err.String(), s) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if !strings.Contains(p.err.String(), s) {
			t.Fatalf("roll never said %q:\n%s", s, p.err)
		}
	}
	waitErr("waiting for `roll promote ops`")
	st := run(t, "status", "--service", s.file)
	if st.code != 0 || !strings.Contains(st.stdout, "shifting") || !strings.Contains(st.stdout, "slot a 50%") || !strings.Contains(st.stdout, "locked by roll") {
		t.Errorf("status at the gate: %s", st)
	}
	if r := run(t, "pause", "--service", s.file); r.code != 0 {
		t.Errorf("pause: %s", r)
	}
	waitErr("paused")
	if r := run(t, "resume", "--service", s.file); r.code != 0 {
		t.Errorf("resume: %s", r)
	}
	waitErr("resumed")
	if r := run(t, "promote", "--service", s.file); r.code != 0 || !strings.Contains(r.stdout, "sent promote") {
		t.Errorf("promote: %s", r)
	}
	if r := p.wait(t, 2*time.Minute); r.code != 0 {
		t.Fatalf("roll after promote: %s", r)
	}

	// Abort at the gate: traffic back on blue (now green's image), the new group deleted.
	p = start(t, rollArgs(s, roll.Canary, "blue")...)
	waitErr("waiting for `roll promote ops`")
	ab := run(t, "abort", "--service", s.file)
	if ab.code != 0 {
		t.Errorf("abort: %s", ab)
	}
	r := p.wait(t, time.Minute)
	if r.code != 3 || !strings.Contains(r.stderr, "aborted") {
		t.Errorf("the aborted roll: %s", r)
	}
	waitFor(t, "the aborted group deleted", 30*time.Second, func() bool { return len(groupsOf(t, "ops", true)) == 1 })
	l := startLoad(t, s)
	waitFor(t, "traffic on green", 10*time.Second, func() bool { st := l.Stats(); return st.Served > 20 && st.allOn("green") })
	l.Stop()
	h := run(t, "history", "--service", s.file)
	if h.code != 0 || !strings.Contains(h.stdout, "aborted") || !strings.Contains(h.stdout, cloud.amis["blue"]+" -> "+cloud.amis["green"]) {
		t.Errorf("history: %s", h)
	}
	js := run(t, "status", "--service", s.file, "--json")
	if js.code != 0 || !strings.Contains(js.stdout, `"phase": "aborted"`) {
		t.Errorf("status --json: %s", js)
	}
}
