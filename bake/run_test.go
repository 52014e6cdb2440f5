package bake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeComm is an in-memory machine: commands are looked up in a table.
type fakeComm struct {
	mu    sync.Mutex
	ran   []string
	exit  map[string]int
	out   map[string]string
	block map[string]bool // commands that wait for ctx
	files map[string][]byte
}

func newFakeComm() *fakeComm {
	return &fakeComm{exit: map[string]int{}, out: map[string]string{}, block: map[string]bool{}, files: map[string][]byte{}}
}

func (c *fakeComm) Run(ctx context.Context, cmd *RemoteCmd) (int, error) {
	c.mu.Lock()
	c.ran = append(c.ran, cmd.Command)
	out, code, block := c.out[cmd.Command], c.exit[cmd.Command], c.block[cmd.Command]
	c.mu.Unlock()
	if cmd.Stdout != nil {
		io.WriteString(cmd.Stdout, out)
	}
	if block {
		<-ctx.Done()
		return -1, ctx.Err()
	}
	return code, nil
}

func (c *fakeComm) Upload(ctx context.Context, dst string, r io.Reader, fi FileInfo) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.files[dst] = b
	return nil
}

func (c *fakeComm) Download(ctx context.Context, src string, w io.Writer) error {
	c.mu.Lock()
	b, ok := c.files[src]
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("%s: no such file", src)
	}
	_, err := w.Write(b)
	return err
}

type fakeBuilder struct {
	comm      *fakeComm
	bootErr   error
	destroyed int
	captured  *ArtifactMeta
	mu        sync.Mutex
}

func (b *fakeBuilder) Resolve(ctx context.Context) (Base, error) {
	return Base{Name: "base:1", Digest: "sha256:base"}, nil
}

func (b *fakeBuilder) Boot(ctx context.Context, base Base, log Log) (Machine, error) {
	if b.bootErr != nil {
		return &fakeMachine{b: b}, b.bootErr
	}
	return &fakeMachine{b: b}, nil
}

type fakeMachine struct{ b *fakeBuilder }

func (m *fakeMachine) Communicator() Communicator { return m.b.comm }
func (m *fakeMachine) Capture(ctx context.Context, meta ArtifactMeta, log Log) (*Artifact, error) {
	m.b.captured = &meta
	return &Artifact{BuilderType: "fake", ID: "img-1", Names: []string{"repo:" + meta.Version}}, nil
}
func (m *fakeMachine) Destroy(ctx context.Context) error {
	if ctx.Err() != nil {
		return errors.New("destroy got a dead context")
	}
	m.b.mu.Lock()
	defer m.b.mu.Unlock()
	m.b.destroyed++
	return nil
}

// cmdProv runs one command checked.
type cmdProv string

func (p cmdProv) Provision(ctx context.Context, t *Target) error {
	out := t.Log.Stdout()
	defer out.Close()
	return RunChecked(ctx, t.Comm, string(p), out)
}

type events struct {
	mu sync.Mutex
	ev []Event
}

func (e *events) Report(ev Event) { e.mu.Lock(); e.ev = append(e.ev, ev); e.mu.Unlock() }
func (e *events) text() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b strings.Builder
	for _, ev := range e.ev {
		fmt.Fprintf(&b, "%s %s %s %s %s\n", ev.Type, ev.Step, ev.Message, ev.Error, ev.Fields)
	}
	return b.String()
}

func job(b *fakeBuilder, cmds ...string) *Job {
	j := &Job{Name: "b.fake.x", BuilderType: "fake", Builder: b, Inputs: []byte("in")}
	for i, c := range cmds {
		j.Steps = append(j.Steps, Step{Name: fmt.Sprintf("provisioner shell #%d", i+1), Provisioner: cmdProv(c)})
	}
	return j
}

func TestRunSuccess(t *testing.T) {
	t.Parallel()
	b := &fakeBuilder{comm: newFakeComm()}
	b.comm.out["echo hi"] = "hi\n"
	ev := &events{}
	res := Run(context.Background(), []*Job{job(b, "echo hi", "true")}, RunOptions{Reporter: ev, Version: "v1", RunUUID: "u", BuildTime: time.Unix(1700000000, 0), Revision: "abc"})
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	if got := strings.Join(b.comm.ran, ";"); got != "echo hi;true" {
		t.Errorf("ran %q", got)
	}
	if b.destroyed != 1 {
		t.Errorf("destroyed %d times", b.destroyed)
	}
	l := b.captured.Labels
	for k, want := range map[string]string{LabelVersion: "v1", LabelBaseDigest: "sha256:base", LabelParent: "sha256:base",
		LabelRevision: "abc", LabelRun: "u", LabelCreated: "2023-11-14T22:13:20Z"} {
		if l[k] != want {
			t.Errorf("label %s = %q, want %q", k, l[k], want)
		}
	}
	if !strings.HasPrefix(l[LabelFingerprint], "sha256:") {
		t.Errorf("fingerprint label %q", l[LabelFingerprint])
	}
	a := res[0].Artifact
	if a.Version != "v1" || a.Parent != "sha256:base" || a.Fingerprint != l[LabelFingerprint] {
		t.Errorf("artifact = %+v", a)
	}
	if !strings.Contains(ev.text(), "output provisioner shell #1 hi") {
		t.Errorf("output not reported:\n%s", ev.text())
	}
}

func TestRunFailingStep(t *testing.T) {
	t.Parallel()
	b := &fakeBuilder{comm: newFakeComm()}
	b.comm.exit["false"] = 3
	b.comm.out["false"] = "line1\nboom\n"
	res := Run(context.Background(), []*Job{job(b, "true", "false", "never")}, RunOptions{Version: "v"})
	err := res[0].Err
	var re *RunError
	if !errors.As(err, &re) {
		t.Fatalf("error is not a RunError: %v", err)
	}
	if re.Step != "provisioner shell #2" || re.ExitCode != 3 || !strings.Contains(re.Output, "boom") {
		t.Errorf("run error = %+v", re)
	}
	for _, w := range []string{"build b.fake.x", "provisioner shell #2", "exited with code 3", "false", "boom"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not say %q: %s", w, err)
		}
	}
	if strings.Contains(strings.Join(b.comm.ran, ";"), "never") {
		t.Error("a step after the failing one ran")
	}
	if b.destroyed != 1 || b.captured != nil {
		t.Errorf("destroyed %d, captured %v", b.destroyed, b.captured)
	}
}

func TestRunCancelCleansUp(t *testing.T) {
	t.Parallel()
	b := &fakeBuilder{comm: newFakeComm()}
	b.comm.block["sleep"] = true
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	res := Run(ctx, []*Job{job(b, "sleep")}, RunOptions{})
	if !errors.Is(res[0].Err, context.Canceled) {
		t.Errorf("err = %v", res[0].Err)
	}
	if b.destroyed != 1 {
		t.Errorf("destroyed %d times after cancel (Destroy must get a live context)", b.destroyed)
	}
}

func TestRunBootFailureCleansUp(t *testing.T) {
	t.Parallel()
	b := &fakeBuilder{comm: newFakeComm(), bootErr: errors.New("no space")}
	res := Run(context.Background(), []*Job{job(b, "true")}, RunOptions{})
	if res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "boot: no space") {
		t.Errorf("err = %v", res[0].Err)
	}
	if b.destroyed != 1 {
		t.Errorf("a half-booted machine was not destroyed")
	}
}

func TestRunStepTimeoutAndRetries(t *testing.T) {
	t.Parallel()
	b := &fakeBuilder{comm: newFakeComm()}
	b.comm.block["sleep"] = true
	j := job(b, "sleep")
	j.Steps[0].Timeout = 30 * time.Millisecond
	j.Steps[0].MaxRetries = 2
	res := Run(context.Background(), []*Job{j}, RunOptions{})
	if res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "timed out after 30ms") {
		t.Errorf("err = %v", res[0].Err)
	}
	if n := len(b.comm.ran); n != 3 {
		t.Errorf("ran %d times, want 1 + 2 retries", n)
	}
}

func TestRunParallelBounded(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	running, peak := 0, 0
	prov := provFunc(func(ctx context.Context, t *Target) error {
		mu.Lock()
		running++
		if running > peak {
			peak = running
		}
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		running--
		mu.Unlock()
		return nil
	})
	var jobs []*Job
	for i := 0; i < 6; i++ {
		b := &fakeBuilder{comm: newFakeComm()}
		jobs = append(jobs, &Job{Name: fmt.Sprint(i), Builder: b, Steps: []Step{{Name: "p", Provisioner: prov}}})
	}
	for _, res := range Run(context.Background(), jobs, RunOptions{Parallel: 2}) {
		if res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	if peak != 2 {
		t.Errorf("peak concurrency %d, want 2", peak)
	}
}

type provFunc func(ctx context.Context, t *Target) error

func (f provFunc) Provision(ctx context.Context, t *Target) error { return f(ctx, t) }

func TestRedactor(t *testing.T) {
	t.Parallel()
	r := NewRedactor([]string{"", "abc", "abcdef"})
	if got := r.String("x abcdef y abc"); got != "x <sensitive> y <sensitive>" {
		t.Errorf("got %q", got)
	}
	ev := &events{}
	r.Reporter(ev).Report(Event{Message: "abc", Error: "e abcdef", Fields: map[string]string{"k": "abc"}})
	if strings.Contains(ev.text(), "abc") {
		t.Errorf("secret reached the reporter: %s", ev.text())
	}
}

func TestTail(t *testing.T) {
	t.Parallel()
	tail := NewTail(10)
	io.WriteString(tail, "first line\nsecond\nend\n")
	if got := tail.String(); got != "end\n" {
		t.Errorf("tail = %q", got)
	}
}

func TestShellQuote(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"a": "a", "": "''", "a b": "'a b'", "it's": `'it'"'"'s'`, "/x/y.sh": "/x/y.sh"} {
		if got := ShellQuote(in); got != want {
			t.Errorf("ShellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestAppendManifest(t *testing.T) {
	t.Parallel()
	p := t.TempDir() + "/m.json"
	a := &Artifact{BuilderType: "docker", ID: "sha256:1", Name: "b.docker.x", Version: "v1", RunUUID: "r1", BuildTime: time.Unix(5, 0)}
	if err := AppendManifest(p, a.Entry(nil)); err != nil {
		t.Fatal(err)
	}
	a.Version, a.RunUUID = "v2", "r2"
	if err := AppendManifest(p, a.Entry(nil)); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	b, _ := os.ReadFile(p)
	buf.Write(b)
	for _, w := range []string{`"builder_type": "docker"`, `"packer_run_uuid": "r1"`, `"version": "v2"`, `"last_run_uuid": "r2"`, `"build_time": 5`} {
		if !strings.Contains(buf.String(), w) {
			t.Errorf("manifest lacks %s:\n%s", w, buf.String())
		}
	}
}
