package packer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/internal/cli"
	"github.com/bakehq/bake/internal/testenv"
)

// These tests bake with packer 1.6.6's real shell provisioner, started
// as a plugin (`packer plugin packer-provisioner-shell`) and addressed as
// provisioner "packer.shell", through bake's CLI on the real engine.

const baseImage = "localbase/debian:bookworm"

func needPackerAndDocker(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("packer"); err != nil {
		testenv.SkipOrFail(t, "packer not on PATH: its built-in provisioners cannot be tested")
	}
	if out, err := exec.Command("docker", "image", "inspect", baseImage).CombinedOutput(); err != nil {
		testenv.SkipOrFail(t, "docker engine or base image %s not there (make base-image): %v %s", baseImage, err, out)
	}
}

type run struct {
	code           int
	stdout, stderr string
}

func (r run) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s\n--- stderr\n%s", r.code, r.stdout, r.stderr)
}

// syncBuffer is a buffer that calls onWrite with everything so far.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	onWrite func(string)
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Write(p)
	if s.onWrite != nil {
		s.onWrite(s.b.String())
	}
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// bakeDir runs bake in-process with a private TMPDIR, which must be empty
// afterwards: the plugins' sockets and temp files live there. onOut sees
// stdout as it grows.
func bakeDir(t *testing.T, ctx context.Context, dir string, onOut func(string), args ...string) run {
	t.Helper()
	tmp, err := os.MkdirTemp("/tmp", "bkp")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	t.Setenv("TMPDIR", tmp) // short: a unix socket path has 108 bytes
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	out, errb := &syncBuffer{onWrite: onOut}, &syncBuffer{}
	code := cli.Main(ctx, cli.Streams{In: strings.NewReader(""), Out: out, Err: errb}, args)
	r := run{code: code, stdout: out.String(), stderr: errb.String()}
	entries, _ := os.ReadDir(tmp)
	for _, e := range entries {
		t.Errorf("left behind in TMPDIR: %s\n%s", e.Name(), r)
	}
	assertNoChildren(t)
	return r
}

// assertNoChildren fails if a process this test started still runs.
func assertNoChildren(t *testing.T) {
	t.Helper()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	me := strconv.Itoa(os.Getpid())
	for _, s := range stats {
		b, err := os.ReadFile(s)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 1 && f[1] == me {
			cmd, _ := os.ReadFile(filepath.Join(filepath.Dir(s), "cmdline"))
			t.Errorf("child process left running: %s %q", s, bytes.ReplaceAll(cmd, []byte{0}, []byte{' '}))
		}
	}
}

func writeBake(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "test.bake.hcl"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func bakeFile(repo, provisioner string) string { return bakeFileWith(repo, "docker", provisioner) }

// bakeFileWith is bakeFile with the source's communicator.
func bakeFileWith(repo, communicator, provisioner string) string {
	return fmt.Sprintf(`source "docker" "app" {
  image  = %q
  commit = true
  repository = %q
  communicator = %q
}

build {
  sources = ["source.docker.app"]

%s
}
`, baseImage, repo, communicator, provisioner)
}

func events(t *testing.T, stdout string) []bake.Event {
	t.Helper()
	var out []bake.Event
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var e bake.Event
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			continue // the result lines
		}
		out = append(out, e)
	}
	return out
}

func runUUID(evs []bake.Event) string {
	for _, e := range evs {
		if e.Type == bake.EventBuildStart {
			return e.Fields["run_uuid"]
		}
	}
	return ""
}

// assertNothingLeft checks that run left no container behind.
func assertNothingLeft(t *testing.T, run string) {
	t.Helper()
	if run == "" {
		t.Fatal("no run uuid reported")
	}
	out, err := exec.Command("docker", "ps", "-aq", "--filter", "label="+bake.LabelRun+"="+run).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("run %s left containers behind: %v %s", run, err, out)
	}
}

func uniq(prefix string) string { return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1e9) }

func removeImage(t *testing.T, ref string) {
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", ref).Run() })
}

func TestPackerShellBakes(t *testing.T) {
	needPackerAndDocker(t)
	repo, version := "bake-test/packer-shell", uniq("v")
	removeImage(t, repo+":"+version)
	dir := writeBake(t, bakeFile(repo, `  provisioner "packer.shell" {
    environment_vars = ["GREETING=hello from packer's shell"]
    inline = [
      "echo \"$GREETING\"",
      "echo \"$PACKER_BUILDER_TYPE $PACKER_BUILD_NAME\" > /packer-was-here",
    ]
  }`))
	r := bakeDir(t, context.Background(), dir, nil, "build", "--json", "--version", version, ".")
	if r.code != 0 {
		t.Fatalf("bake: %s", r)
	}
	evs := events(t, r.stdout)
	assertNothingLeft(t, runUUID(evs))
	var said, output bool
	for _, e := range evs {
		if e.Step != "provisioner packer.shell #1" {
			continue
		}
		said = said || e.Type == bake.EventInfo && strings.Contains(e.Message, "Provisioning with shell script")
		output = output || e.Type == bake.EventOutput && e.Message == "hello from packer's shell"
	}
	if !said || !output {
		t.Errorf("the plugin's progress (%v) and its command's output (%v) did not reach the step's events:\n%s", said, output, r)
	}
	out, err := exec.Command("docker", "run", "--rm", repo+":"+version, "cat", "/packer-was-here").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "docker app" {
		t.Errorf("the inline commands did not run in the image: %v %q", err, out)
	}
}

func TestPackerShellFailure(t *testing.T) {
	needPackerAndDocker(t)
	dir := writeBake(t, bakeFile("bake-test/packer-fail", `  provisioner "packer.shell" {
    inline = ["echo about to fail", "exit 3"]
  }`))
	bakeFails(t, dir, "provisioner packer.shell #1", "exited with code 3", "about to fail", "Script exited with non-zero exit status: 3")
}

// bakeFails bakes dir, which must fail with exit 1 leaving nothing
// behind, with an error that says each of wants.
func bakeFails(t *testing.T, dir string, wants ...string) {
	t.Helper()
	r := bakeDir(t, context.Background(), dir, nil, "build", "--json", "--version", uniq("v"), ".")
	if r.code != 1 {
		t.Fatalf("a failing command must fail the bake with exit 1: %s", r)
	}
	assertNothingLeft(t, runUUID(events(t, r.stdout)))
	for _, want := range wants {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("error lacks %q: %s", want, r)
		}
	}
}

func TestPackerShellCancel(t *testing.T) {
	needPackerAndDocker(t)
	for _, tc := range []struct {
		name, extra string
		cancel      bool
	}{
		{name: "ctrl-c", cancel: true},
		{name: "timeout", extra: `timeout = "3s"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeBake(t, bakeFile("bake-test/packer-cancel", fmt.Sprintf(`  provisioner "packer.shell" {
    %s
    inline = ["echo sleeping", "sleep 300"]
  }`, tc.extra)))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			onOut := func(s string) {
				if tc.cancel && strings.Contains(s, `"message":"sleeping"`) {
					cancel()
				}
			}
			start := time.Now()
			r := bakeDir(t, ctx, dir, onOut, "build", "--json", "--version", uniq("v"), ".")
			if r.code == 0 {
				t.Fatalf("bake must fail: %s", r)
			}
			if d := time.Since(start); d > 2*time.Minute {
				t.Errorf("stopping took %s", d)
			}
			if !strings.Contains(r.stdout, `"message":"sleeping"`) {
				t.Errorf("the command never started: %s", r)
			}
			assertNothingLeft(t, runUUID(events(t, r.stdout)))
		})
	}
}

// at is "test.bake.hcl:LINE:" for the first line of the bake file
// around block that holds text.
func at(block, text string) string {
	for i, l := range strings.Split(bakeFile("x", block), "\n") {
		if strings.Contains(l, text) {
			return fmt.Sprintf("test.bake.hcl:%d:", i+1)
		}
	}
	panic("no line holds " + text)
}

func TestPackerConfigErrors(t *testing.T) {
	needPackerAndDocker(t)
	for _, tc := range []struct {
		name, block, line string
		want              []string
	}{
		{"unknown attribute", `  provisioner "packer.shell" {
    inline = ["true"]
    inlin = ["oops"]
  }`, "inlin =", []string{`"inlin"`}},
		{"rejected by prepare", `  provisioner "packer.shell" {
    execute_command = "{{ .Path }}"
  }`, "provisioner", []string{"Packer provisioner shell", "Either a script file or inline script must be specified"}},
		{"no such provisioner", `  provisioner "no-such-provisioner" {
  }`, "provisioner", []string{`"no-such-provisioner"`, "nor a Packer plugin in ", ".packer.d/plugins"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeBake(t, bakeFile("bake-test/packer-bad", tc.block))
			tc.want = append(tc.want, at(tc.block, tc.line))
			for _, cmd := range []string{"validate", "build"} {
				r := bakeDir(t, context.Background(), dir, nil, cmd, ".")
				if r.code != 2 {
					t.Errorf("bake %s: a config error is bad input (exit 2): %s", cmd, r)
				}
				for _, w := range tc.want {
					if !strings.Contains(r.stderr, w) {
						t.Errorf("bake %s: error lacks %q: %s", cmd, w, r)
					}
				}
			}
		})
	}
}
