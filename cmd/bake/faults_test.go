package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	dockerevents "github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"

	"github.com/bakehq/bake/bake"
)

// faultBake is a tiny docker bake whose one step prints step-started and
// runs step, whose verify prints verify-started and waits, and whose
// post-processor prints pp-started and waits: each phase lasts long
// enough to be hit. Each bake is new to the step cache, so that it really
// runs.
func faultBake(step string) string {
	step = fmt.Sprintf("%s # %s", step, uniq("fault"))
	return fmt.Sprintf(`
source "docker" "f" {
  image      = %q
  repository = "bake-e2e/faults"
  changes    = ["CMD [\"sleep\", \"infinity\"]"]
}
build {
  sources = ["source.docker.f"]
  provisioner "shell" {
    inline = ["echo step-started", %q]
  }
  verify {
    inline = ["echo verify-started", "sleep 2"]
  }
  post-processor "shell-local" {
    inline = ["echo pp-started", "sleep 2"]
  }
}
`, baseImage, step)
}

// faultPhases say, from the --json events so far, when a phase has begun.
var faultPhases = []struct {
	name  string
	ready func(out string) bool
}{
	{"boot", func(out string) bool { return strings.Contains(out, `"type":"`+bake.EventBuildStart+`"`) }},
	{"provision", func(out string) bool { return strings.Contains(out, `"message":"step-started"`) }},
	// The step is done: the commit is under way.
	{"capture", func(out string) bool {
		return strings.Contains(out, `"type":"`+bake.EventStepDone+`","source":"docker.f","step":"provisioner`)
	}},
	{"verify", func(out string) bool { return strings.Contains(out, `"message":"verify-started"`) }},
	{"post-process", func(out string) bool { return strings.Contains(out, `"message":"pp-started"`) }},
}

// startBake starts bake build --json in dir and waits (bounded) until
// ready holds for its stdout. The caller kills or signals it.
func startBake(t *testing.T, dir string, ready func(string) bool, args ...string) (*exec.Cmd, *syncBuffer, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(bakeBin, append([]string{"build", "--json", "--manifest", ""}, append(args, ".")...)...)
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
			t.Fatalf("bake never reached the phase:\n%s\n%s", out.String(), errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cmd, &out, &errb
}

// killAt SIGKILLs a bake once ready holds and returns its run id.
func killAt(t *testing.T, dir string, ready func(string) bool) string {
	t.Helper()
	cmd, out, _ := startBake(t, dir, ready)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	// The engine finishes a create the killed bake had sent after the
	// process is gone; a gc that runs later (as in life) finds it.
	time.Sleep(1500 * time.Millisecond)
	runs := runUUIDs(events(t, lastFullLines(out.String())))
	if len(runs) != 1 {
		t.Fatalf("runs %v", runs)
	}
	return runs[0]
}

// waitLive waits, at most within, for a bake that a gc ran beside and
// fails the test unless it finished well.
func waitLive(t *testing.T, live *exec.Cmd, errb *syncBuffer, within time.Duration) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- live.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the live bake failed after gc: %v\n%s", err, errb.String())
		}
	case <-time.After(within):
		live.Process.Kill()
		t.Fatal("the live bake did not finish")
	}
}

// lastFullLines drops a line the kill cut in half.
func lastFullLines(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[:i+1]
	}
	return ""
}

// TestFaults kills bake build with SIGKILL at each phase and checks that
// bake gc, and separately the next bake build, leave nothing of the run;
// that gc leaves a live bake alone; and that SIGTERM and SIGHUP stop a
// bake as SIGINT does. It logs the counts docs/BENCHMARKS.md quotes.
func TestFaults(t *testing.T) {
	needDocker(t)
	injected, leaked := 0, 0
	count := func(t *testing.T, run string) {
		t.Helper()
		injected++
		if c, i := leftovers(t, run); c+i != 0 {
			leaked += c + i
			t.Errorf("run %s left %d containers and %d dangling images", run, c, i)
		}
	}
	for _, p := range faultPhases {
		t.Run("SIGKILL at "+p.name+" then bake gc", func(t *testing.T) {
			since := time.Now()
			run := killAt(t, writeBake(t, faultBake("sleep 2")), p.ready)
			before, _ := leftovers(t, run)
			// A bake build of another test package on this host sweeps
			// dead runs too: a container already gone must have been
			// removed, not never made.
			if p.name == "provision" && before == 0 && !destroyedSince(t, run, since) {
				t.Fatalf("a bake killed mid-step left no container and none of its run was removed: the test killed too early")
			}
			if p.name == "provision" && before > 1 {
				t.Fatalf("a bake killed mid-step left %d containers, want 1 for gc to remove", before)
			}
			if p.name == "verify" && before == 0 {
				t.Fatalf("a bake killed mid-verify left no container: the test kills too late")
			}
			r := runBake(t, t.TempDir(), "gc")
			if r.code != 0 {
				t.Fatal(r)
			}
			count(t, run)
		})
	}
	t.Run("SIGKILL at provision then the next bake build", func(t *testing.T) {
		dir := writeBake(t, faultBake("sleep 60"))
		run := killAt(t, dir, faultPhases[1].ready)
		if c, _ := leftovers(t, run); c != 1 {
			t.Fatalf("the killed run left %d containers, want 1 for the build to clean", c)
		}
		v := uniq("faults-next")
		removeImage(t, "bake-e2e/faults:"+v)
		r := runBake(t, writeBake(t, faultBake("true")), "build", "--json", "--manifest", "", "--version", v, ".")
		if r.code != 0 || !strings.Contains(r.stdout, "gc: removed 1 container") {
			t.Fatalf("want a build that says it removed the container: %s", r)
		}
		count(t, run)
	})
	t.Run("bake gc leaves a live bake alone", func(t *testing.T) {
		live, out, errb := startBake(t, writeBake(t, faultBake("sleep 6")), faultPhases[1].ready)
		dead := killAt(t, writeBake(t, faultBake("sleep 60")), faultPhases[1].ready)
		r := runBake(t, t.TempDir(), "gc", "--dry-run")
		if !strings.Contains(r.stdout, dead[:8]) || strings.Contains(r.stdout, runUUIDs(events(t, lastFullLines(out.String())))[0][:8]) {
			t.Errorf("dry run should list the dead run %s only: %s", dead[:8], r)
		}
		if r := runBake(t, t.TempDir(), "gc"); r.code != 0 {
			t.Fatal(r)
		}
		count(t, dead)
		waitLive(t, live, errb, 2*time.Minute)
	})
	t.Run("bake gc leaves a container made from an artifact alone", func(t *testing.T) {
		// The artifact is a commit of the build container: it must not
		// hand the (now dead) run's owner on to what users run from it.
		v := uniq("faults-artifact")
		ref := "bake-e2e/faults:" + v
		removeImage(t, ref)
		if r := runBake(t, writeBake(t, faultBake("true")), "build", "--json", "--manifest", "", "--version", v, "."); r.code != 0 {
			t.Fatal(r)
		}
		im, err := docker.ImageInspect(context.Background(), ref)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range bake.OwnerKeys {
			if im.Config.Labels[k] != "" {
				t.Errorf("the artifact carries the build's owner label %s=%s", k, im.Config.Labels[k])
			}
		}
		name := uniq("bake-e2e-user")
		if out, err := exec.Command("docker", "run", "-d", "--name", name, ref, "sleep", "60").CombinedOutput(); err != nil {
			t.Fatalf("docker run: %v\n%s", err, out)
		}
		t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
		if r := runBake(t, t.TempDir(), "gc"); r.code != 0 {
			t.Fatal(r)
		}
		if out, err := exec.Command("docker", "inspect", "-f", "{{.State.Running}}", name).CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "true" {
			t.Errorf("gc removed or stopped the user's container made from the artifact: %v %s", err, out)
		}
	})
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT} {
		for _, p := range faultPhases {
			t.Run(sig.String()+" at "+p.name, func(t *testing.T) {
				v := uniq("faults-sig")
				t.Cleanup(func() { removeImage(t, "bake-e2e/faults:"+v) })
				r := interruptWhen(t, sig, []string{"build", "--json", "--manifest", "", "--version", v, "."}, writeBake(t, faultBake("sleep 2")), p.ready)
				// A signal during capture may come after the last
				// cancellation point: the bake then finishes (exit 0).
				if r.code != 1 && !(r.code == 0 && p.name == "capture") {
					t.Errorf("after %s: exit %d, want 1 as for SIGINT: %s", sig, r.code, r)
				}
				runs := runUUIDs(events(t, r.stdout))
				if len(runs) != 1 {
					t.Fatalf("runs %v", runs)
				}
				count(t, runs[0])
			})
		}
	}
	msg := fmt.Sprintf("bake faults (docker): faults injected: %d, resources leaked: %d", injected, leaked)
	t.Log(msg)
	if f := os.Getenv("BAKE_FAULTS_SUMMARY"); f != "" {
		os.WriteFile(f, []byte(msg+"\n"), 0o644)
	}
}

// destroyedSince reports whether a container of run was removed since t0
// (by a gc sweep of some other bake).
func destroyedSince(t *testing.T, run string, t0 time.Time) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msgs, errs := docker.Events(ctx, dockerevents.ListOptions{
		Since: t0.Add(-time.Second).Format(time.RFC3339Nano), Until: time.Now().Add(time.Second).Format(time.RFC3339Nano),
		Filters: filters.NewArgs(filters.Arg("type", "container"), filters.Arg("event", "destroy"), filters.Arg("label", bake.LabelRun+"="+run)),
	})
	for {
		select {
		case <-msgs:
			return true
		case err := <-errs:
			if err != nil && err != io.EOF {
				t.Logf("docker events: %v", err)
			}
			return false
		}
	}
}
