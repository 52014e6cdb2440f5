package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/bakehq/bake/bake"
)

// tenSteps is a 10-step bake; step 5 uploads files/data.txt, step 10
// writes var.last. Every step opts into the cache.
func tenSteps(t *testing.T, repo, secret string) string {
	var steps strings.Builder
	for i := 1; i <= 10; i++ {
		switch i {
		case 5:
			steps.WriteString("  provisioner \"file\" {\n    cache       = true\n    source      = \"files/data.txt\"\n    destination = \"/opt/steps/data.txt\"\n  }\n")
		case 7:
			steps.WriteString("  provisioner \"shell\" {\n    cache  = true\n    inline = [\"test -n '${var.token}'\", \"echo 7 > /opt/steps/7\"]\n  }\n")
		case 10:
			steps.WriteString("  provisioner \"shell\" {\n    cache  = true\n    inline = [\"echo ${var.last} > /opt/steps/10\"]\n  }\n")
		default:
			fmt.Fprintf(&steps, "  provisioner \"shell\" {\n    cache  = true\n    inline = [\"mkdir -p /opt/steps\", \"echo %d > /opt/steps/%d\"]\n  }\n", i, i)
		}
	}
	dir := writeBake(t, fmt.Sprintf(`
variable "last" {
  type = string
}
variable "token" {
  type      = string
  sensitive = true
}
source "docker" "steps" {
  image      = %q
  repository = %q
  changes    = ["ENV STEPS=10", "CMD [\"cat\", \"/opt/steps/10\"]"]
}
build {
  name    = "cache"
  sources = ["source.docker.steps"]
%s}
`, baseImage, repo, steps.String()))
	os.MkdirAll(filepath.Join(dir, "files"), 0o755)
	os.WriteFile(filepath.Join(dir, "files", "data.txt"), []byte("first\n"), 0o644)
	return dir
}

// stepStates maps each step to "cached" or "ran" from --json events.
func stepStates(t *testing.T, stdout string) []string {
	var out []string
	for _, e := range events(t, stdout) {
		switch {
		case e.Type == bake.EventStepCached:
			out = append(out, "cached")
		case e.Type == bake.EventStepDone && strings.HasPrefix(e.Step, "provisioner"):
			out = append(out, "ran")
		}
	}
	return out
}

func states(cached, ran int) []string {
	var out []string
	for i := 0; i < cached; i++ {
		out = append(out, "cached")
	}
	for i := 0; i < ran; i++ {
		out = append(out, "ran")
	}
	return out
}

// TestStepCache: re-baking after a change reuses the longest cached prefix,
// and the result equals a clean bake's.
func TestStepCache(t *testing.T) {
	t.Parallel()
	needDocker(t)
	repo := uniq("bake-e2e/cache")
	secret := uniq("tok3n-secret")
	dir := tenSteps(t, repo, secret)
	removeImage(t, repo+":cold", repo+":warm", repo+":clean", repo+":file", repo+":secret")
	bakeIt := func(version, last string, extra ...string) result {
		t.Helper()
		args := append([]string{"build", "--json", "--manifest", "", "--version", version, "-var", "last=" + last, "-var", "token=" + secret}, extra...)
		r := runBake(t, dir, append(args, ".")...)
		if r.code != 0 {
			t.Fatalf("bake %s: %s", version, r)
		}
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("the sensitive value was shown")
		}
		return r
	}
	cold := bakeIt("cold", "a")
	if got := stepStates(t, cold.stdout); !reflect.DeepEqual(got, states(0, 10)) {
		t.Errorf("cold bake: %v", got)
	}
	warm := bakeIt("warm", "b")
	if got := stepStates(t, warm.stdout); !reflect.DeepEqual(got, states(9, 1)) {
		t.Errorf("re-bake with step 10 changed: steps %v, want 9 cached then 1 run", got)
	}
	clean := bakeIt("clean", "b", "--no-cache")
	if got := stepStates(t, clean.stdout); !reflect.DeepEqual(got, states(0, 10)) {
		t.Errorf("--no-cache: %v", got)
	}
	sameImage(t, repo+":warm", repo+":clean")

	// Same path, new content: steps 1-4 cached, 5 on run again.
	os.WriteFile(filepath.Join(dir, "files", "data.txt"), []byte("second\n"), 0o644)
	file := bakeIt("file", "b")
	if got := stepStates(t, file.stdout); !reflect.DeepEqual(got, states(4, 6)) {
		t.Errorf("after changing an uploaded file: %v, want 4 cached then 6 run", got)
	}
	if out := runShell(t, repo+":file", "cat /opt/steps/data.txt"); out != "second\n" {
		t.Errorf("data.txt = %q", out)
	}

	// The secret is in no cache entry's config, comment or tag.
	out, err := exec.Command("sh", "-c", "docker image ls --no-trunc bake-cache && docker image inspect $(docker image ls -q bake-cache)").CombinedOutput()
	if err != nil {
		t.Fatalf("inspect cache: %v\n%s", err, out)
	}
	if strings.Contains(string(out), secret) {
		t.Errorf("the sensitive value is stored in the step cache in clear")
	}
	ls := runBake(t, dir, "cache", "ls")
	if ls.code != 0 || !strings.Contains(ls.stdout, "bake cache: cache.docker.steps provisioner shell #9") {
		t.Errorf("bake cache ls: %s", ls)
	}
}

// sameImage compares two images' file trees and configs (labels except
// the build time and run).
func sameImage(t *testing.T, a, b string) {
	t.Helper()
	tree := `find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /etc/hostname -o -path /etc/hosts -o -path /etc/resolv.conf \) -prune -o -printf '%p %m %U %G %s %l\n' | sort | sha256sum; find / -xdev -type f \( -path /proc -o -path /sys -o -path /etc/hostname -o -path /etc/hosts -o -path /etc/resolv.conf \) -prune -o -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum`
	ta, tb := runShell(t, a, tree), runShell(t, b, tree)
	if ta != tb {
		t.Errorf("file trees differ: %s %s", ta, tb)
	}
	sameConfig(t, a, b)
}

// sameConfig compares two images' configs: labels (except the build
// time, run, version and how long the bake took), env, command, entrypoint, user, workdir, ports.
func sameConfig(t *testing.T, a, b string) {
	t.Helper()
	ia, err := docker.ImageInspect(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	ib, err := docker.ImageInspect(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	ca, cb := *ia.Config, *ib.Config
	for _, c := range []*map[string]string{&ca.Labels, &cb.Labels} {
		l := map[string]string{}
		for k, v := range *c {
			if k != bake.LabelCreated && k != bake.LabelRun && k != bake.LabelVersion && k != bake.LabelTook {
				l[k] = v
			}
		}
		*c = l
	}
	if !reflect.DeepEqual(ca.Labels, cb.Labels) || !reflect.DeepEqual(ca.Env, cb.Env) || !reflect.DeepEqual(ca.Cmd, cb.Cmd) ||
		!reflect.DeepEqual(ca.Entrypoint, cb.Entrypoint) || ca.User != cb.User || ca.WorkingDir != cb.WorkingDir ||
		!reflect.DeepEqual(ca.ExposedPorts, cb.ExposedPorts) {
		t.Errorf("configs differ:\n%+v\n%+v", ca, cb)
	}
}

// TestRecipeStepCache: a recipe step reports facts (the image's command,
// here the service supervisor) and is still a cache hit: the entry keeps
// the facts, so a re-bake of testdata/web with a new page version runs
// only the page step, and its image equals a --no-cache bake's, command
// and labels included.
func TestRecipeStepCache(t *testing.T) {
	t.Parallel()
	needDocker(t)
	repo := uniq("bake-e2e/recipe-cache")
	removeImage(t, repo+":r1", repo+":r2", repo+":r3")
	bakeIt := func(version string, extra ...string) result {
		t.Helper()
		args := append([]string{"build", "--json", "--manifest", "", "--version", version, "-var", "repository=" + repo}, extra...)
		r := runBake(t, repoRoot, append(args, "testdata/web")...)
		if r.code != 0 {
			t.Fatalf("bake %s: %s", version, r)
		}
		return r
	}
	bakeIt("r1")
	warm := bakeIt("r2")
	if got := stepStates(t, warm.stdout); !reflect.DeepEqual(got, states(1, 1)) {
		t.Errorf("re-bake with a new version: steps %v, want the recipe cached and the page run", got)
	}
	bakeIt("r3", "--no-cache")
	// Not the file trees: apt's logs and the page's version differ.
	sameConfig(t, repo+":r2", repo+":r3")
	im, err := docker.ImageInspect(context.Background(), repo+":r2")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(im.Config.Cmd, " "); got != "/usr/local/sbin/bake-services" {
		t.Errorf("cached bake's command %q, want the recipe's supervisor", got)
	}
	if page := runShell(t, repo+":r2", "cat /var/www/html/index.html"); !strings.Contains(page, "r2") {
		t.Errorf("page of r2: %q", page)
	}
}
