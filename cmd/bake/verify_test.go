package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/errdefs"

	"github.com/bakehq/bake/bake"
)

// TestVerify bakes testdata/web with push = true into a real registry:
// its verify block boots the new image with its own command (the recipe's
// supervisor starting nginx), fetches the page and runs nginx -t before
// the image is tagged and pushed. Then the same bake with a check that
// fails, once an http check and once an inline command: exit 1, a message
// naming the check, what it wanted and what came back, no tag, nothing
// pushed, no container or image of the run left. The failing bakes share
// the passing one's source, so their recipe step is a step-cache hit.
func TestVerify(t *testing.T) {
	t.Parallel()
	needDocker(t)
	reg := startRegistry(t)
	repo := reg + "/bake-e2e/web-verify"
	webFile, err := os.ReadFile(filepath.Join(repoRoot, "testdata/web/web.bake.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	bakeWeb := func(t *testing.T, dir, version string) (result, string) {
		t.Helper()
		removeImage(t, repo+":"+version)
		r := runBake(t, dir, "build", "--json", "--manifest", "", "--version", version, "-var", "repository="+repo, "-var", "push=true", ".")
		runs := runUUIDs(events(t, r.stdout))
		if len(runs) != 1 {
			t.Fatalf("runs %v: %s", runs, r)
		}
		assertNothingLeft(t, runs[0])
		return r, runs[0]
	}
	pushed := func(t *testing.T, version string) bool {
		t.Helper()
		req, _ := http.NewRequest(http.MethodHead, fmt.Sprintf("http://%s/v2/bake-e2e/web-verify/manifests/%s", reg, version), nil)
		req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}

	version := uniq("verified")
	r, _ := bakeWeb(t, filepath.Join(repoRoot, "testdata/web"), version)
	if r.code != 0 {
		t.Fatalf("bake testdata/web: %s", r)
	}
	var results []string
	var verifyStep []string
	for _, e := range events(t, r.stdout) {
		if e.Step != "verify" {
			continue
		}
		if e.Type == bake.EventStepStart || e.Type == bake.EventStepDone {
			verifyStep = append(verifyStep, e.Type)
		}
		if res := e.Fields["verify_result"]; res != "" {
			results = append(results, res+" "+e.Fields["verify_check"])
		}
	}
	wantResults := []string{`pass http :80/ contains "<span id=\"version\">` + version + `</span>"`, `pass inline "nginx -t"`, `pass inline "test -s /var/www/html/index.html"`}
	if strings.Join(results, "|") != strings.Join(wantResults, "|") {
		t.Errorf("--json verify results\n got %q\nwant %q", results, wantResults)
	}
	if strings.Join(verifyStep, " ") != "step.start step.done" {
		t.Errorf("verify step events %v, want a start and a done", verifyStep)
	}
	if !pushed(t, version) {
		t.Errorf("the verified image %s:%s was not pushed", repo, version)
	}

	fails := []struct {
		name, old, new string
		wants          []string
	}{
		{"wrong page", `contains = "<span id=\"version\">${bake.version}</span>"`, `contains = "version 0.0.0"`,
			[]string{`verify http :80/ contains "version 0.0.0"`, `want status 200 and a body containing "version 0.0.0"`, `got status 200 and body "<!doctype html>`}},
		{"command exits 1", `"test -s /var/www/html/index.html"`, `"grep -q 'version 0.0.0' /var/www/html/index.html"`,
			[]string{`verify inline "grep -q 'version 0.0.0' /var/www/html/index.html"`, "want exit code 0, got exit code 1"}},
	}
	for _, f := range fails {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			if !strings.Contains(string(webFile), f.old) {
				t.Fatalf("testdata/web/web.bake.hcl no longer has %s", f.old)
			}
			dir := writeBakeNamed(t, "web.bake.hcl", strings.Replace(string(webFile), f.old, f.new, 1))
			version := uniq("unverified")
			r, _ := bakeWeb(t, dir, version)
			if r.code != 1 {
				t.Fatalf("exit code %d, want 1: %s", r.code, r)
			}
			for _, w := range append(f.wants, "is removed: nothing was tagged or pushed") {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr does not say %s:\n%s", w, r.stderr)
				}
			}
			if _, err := docker.ImageInspect(context.Background(), repo+":"+version); !errdefs.IsNotFound(err) {
				t.Errorf("%s:%s exists after a failed verify (err %v)", repo, version, err)
			}
			if pushed(t, version) {
				t.Errorf("%s:%s was pushed after a failed verify", repo, version)
			}
		})
	}
}

// TestVerifyInterrupted stops bake build (SIGINT) while a verify command
// runs in the verify container: the container and the unverified image go,
// and no tag is made.
func TestVerifyInterrupted(t *testing.T) {
	t.Parallel()
	needDocker(t)
	webFile, err := os.ReadFile(filepath.Join(repoRoot, "testdata/web/web.bake.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	dir := writeBakeNamed(t, "web.bake.hcl", strings.Replace(string(webFile), `"nginx -t"`, `"echo verify-sleeping && sleep 60"`, 1))
	repo := uniq("bake-e2e/web-verify-int")
	version := uniq("interrupted")
	removeImage(t, repo+":"+version)
	r := interruptWhen(t, os.Interrupt, []string{"build", "--json", "--manifest", "", "--version", version, "-var", "repository=" + repo, "."}, dir,
		func(out string) bool { return strings.Contains(out, "verify-sleeping") })
	if r.code == 0 {
		t.Fatalf("an interrupted bake exited 0: %s", r)
	}
	runs := runUUIDs(events(t, r.stdout))
	if len(runs) != 1 {
		t.Fatalf("runs %v: %s", runs, r)
	}
	assertNothingLeft(t, runs[0])
	if _, err := docker.ImageInspect(context.Background(), repo+":"+version); !errdefs.IsNotFound(err) {
		t.Errorf("%s:%s exists after an interrupted verify (err %v)", repo, version, err)
	}
}

// TestVerifyCommandExits: an image whose command ends at once (the base's
// bash, without a terminal) cannot serve; the failure says so with the
// exit code, in seconds rather than at the timeout.
func TestVerifyCommandExits(t *testing.T) {
	t.Parallel()
	needDocker(t)
	repo := uniq("bake-e2e/verify-exits")
	dir := writeBake(t, fmt.Sprintf(`
source "docker" "exits" {
  image      = %q
  repository = %q
}
build {
  sources = ["source.docker.exits"]
  provisioner "shell" {
    inline = ["echo hi > /hi.txt"]
  }
  verify {
    timeout = "1m"
    http {
      port = 8080
    }
  }
}
`, baseImage, repo))
	removeImage(t, repo+":v1")
	start := time.Now()
	r := runBake(t, dir, "build", "--json", "--manifest", "", "--version", "v1", ".")
	if r.code != 1 {
		t.Fatalf("exit code %d, want 1: %s", r.code, r)
	}
	if took := time.Since(start); took > 45*time.Second {
		t.Errorf("the failure took %s: the exited container was not noticed", took)
	}
	for _, w := range []string{"verify http :8080/: want status 200", "exited with code", "must keep running for verify", "nothing was tagged or pushed"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr does not say %q:\n%s", w, r.stderr)
		}
	}
	assertNothingLeft(t, runUUIDs(events(t, r.stdout))[0])
	if _, err := docker.ImageInspect(context.Background(), repo+":v1"); !errdefs.IsNotFound(err) {
		t.Errorf("%s:v1 exists after a failed verify (err %v)", repo, err)
	}
}

// writeBakeNamed writes body as name into a new temp dir and returns the dir.
func writeBakeNamed(t *testing.T, name, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
