package main

// End-to-end tests of the bake binary on the real Docker engine: they
// build bake, run it as a user would and look at what it left behind.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/internal/testenv"
)

const baseImage = "localbase/debian:bookworm"

var (
	bakeBin  string
	repoRoot string
	docker   *client.Client
	skipWhy  string
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	_, file, _, _ := runtime.Caller(0)
	repoRoot = filepath.Join(filepath.Dir(file), "..", "..")
	dir, err := os.MkdirTemp("", "bake-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bakeBin = filepath.Join(dir, "bake")
	build := exec.Command("go", "build", "-o", bakeBin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build bake:", err)
		return 1
	}
	docker, err = client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err = docker.Ping(ctx)
		cancel()
	}
	if err != nil {
		skipWhy = "docker engine not reachable: " + err.Error()
	} else if _, err := docker.ImageInspect(context.Background(), baseImage); err != nil {
		skipWhy = fmt.Sprintf("base image %s missing (make base-image): %v", baseImage, err)
	}
	return m.Run()
}

func needDocker(t *testing.T) {
	t.Helper()
	if skipWhy != "" {
		testenv.SkipOrFail(t, "%s", skipWhy)
	}
}

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s\n--- stderr\n%s", r.code, r.stdout, r.stderr)
}

// runBake runs the bake binary in dir with args.
func runBake(t *testing.T, dir string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bakeBin, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run bake %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

// writeBake writes a bake file into a new temp dir and returns the dir.
func writeBake(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "test.bake.hcl"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// events parses --json output.
func events(t *testing.T, stdout string) []bake.Event {
	t.Helper()
	var out []bake.Event
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if l == "" {
			continue
		}
		var e bake.Event
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("--json line is not an event: %q: %v", l, err)
		}
		out = append(out, e)
	}
	return out
}

func runUUIDs(evs []bake.Event) []string {
	var ids []string
	for _, e := range evs {
		if e.Type == bake.EventBuildStart {
			ids = append(ids, e.Fields["run_uuid"])
		}
	}
	return ids
}

// leftovers counts containers and dangling images labelled with run.
func leftovers(t *testing.T, run string) (containers, images int) {
	t.Helper()
	ctx := context.Background()
	f := filters.NewArgs(filters.Arg("label", bake.LabelRun+"="+run))
	cs, err := docker.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	f.Add("dangling", "true")
	is, err := docker.ImageList(ctx, image.ListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	return len(cs), len(is)
}

func assertNothingLeft(t *testing.T, run string) {
	t.Helper()
	if run == "" {
		t.Fatal("no run uuid reported")
	}
	c, i := leftovers(t, run)
	if c != 0 || i != 0 {
		t.Errorf("run %s left %d containers and %d dangling images behind", run, c, i)
	}
}

func removeImage(t *testing.T, refs ...string) {
	t.Cleanup(func() {
		for _, r := range refs {
			docker.ImageRemove(context.Background(), r, image.RemoveOptions{Force: true, PruneChildren: true})
		}
	})
}

// serve runs image with port 80 published on a loopback port and
// returns the base URL.
func serve(t *testing.T, ref string) string {
	t.Helper()
	ctx := context.Background()
	c, err := docker.ContainerCreate(ctx, &container.Config{Image: ref, Labels: map[string]string{"dev.bake.test": "e2e"}, ExposedPorts: nat.PortSet{"80/tcp": {}}},
		&container.HostConfig{PortBindings: nat.PortMap{"80/tcp": {{HostIP: "127.0.0.1", HostPort: "0"}}}}, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		docker.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true})
	})
	if err := docker.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	insp, err := docker.ContainerInspect(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	b := insp.NetworkSettings.Ports["80/tcp"]
	if len(b) == 0 {
		t.Fatal("port 80 not published")
	}
	return "http://" + net.JoinHostPort(b[0].HostIP, b[0].HostPort)
}

// get fetches url, retrying while the server starts (bounded).
func get(t *testing.T, url string) string {
	t.Helper()
	var last error
	for i := 0; i < 100; i++ {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return string(b)
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("GET %s: %v", url, last)
	return ""
}

// interruptWhen runs bake with args, sends it sig once ready holds for
// what it printed on stdout so far (bounded), and waits for it to exit.
func interruptWhen(t *testing.T, sig os.Signal, args []string, dir string, ready func(stdout string) bool) result {
	t.Helper()
	cmd := exec.Command(bakeBin, args...)
	cmd.Dir = dir
	var out, errb syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for !ready(out.String()) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("never got ready to interrupt:\n%s\n%s", out.String(), errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(sig)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("bake did not exit after SIGINT:\n%s", errb.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	return result{out.String(), errb.String(), code}
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
