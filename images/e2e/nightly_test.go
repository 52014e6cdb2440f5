package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/bakehq/bake/internal/testenv"
)

// writeBake writes dir/NAME/NAME.bake.hcl: a tiny bake (no apt) of one
// docker source in repository prefix/NAME that writes msg to a file.
func writeBake(t *testing.T, dir, prefix, name, base, msg string) {
	t.Helper()
	src := fmt.Sprintf(`source "docker" %q {
  image      = %q
  repository = %q
}

build {
  sources = ["source.docker.%s"]
  provisioner "shell" {
    inline = ["echo %s > /etc/bake-test"]
  }
}
`, name, base, prefix+"/"+name, name, msg)
	if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name, name+".bake.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

// newerBase commits a small change to ref and tags the result as ref: a
// base image that moved on, as after a docker pull.
func newerBase(t *testing.T, c *client.Client, ref string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cr, err := c.ContainerCreate(ctx, &container.Config{Image: ref, Entrypoint: []string{"/bin/sh", "-c", "echo newer > /etc/bake-test-base"},
		Labels: map[string]string{testLabel: "images-e2e"}}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.ContainerRemove(context.Background(), cr.ID, container.RemoveOptions{Force: true})
	if err := c.ContainerStart(ctx, cr.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	waitC, errC := c.ContainerWait(ctx, cr.ID, container.WaitConditionNotRunning)
	select {
	case <-waitC:
	case err := <-errC:
		t.Fatal(err)
	}
	if _, err := c.ContainerCommit(ctx, cr.ID, container.CommitOptions{Reference: ref, Config: &container.Config{Cmd: []string{"bash"}}}); err != nil {
		t.Fatal(err)
	}
}

type nightlyRow struct{ result, reason string }

// nightly runs bake rebuild --nightly and returns its rows by source name.
func nightly(t *testing.T, dir, version string) map[string]nightlyRow {
	t.Helper()
	r := bake(t, "rebuild", dir, "--nightly", "-parallel", "2", "--version", version)
	if r.code != 0 {
		t.Fatalf("bake rebuild --nightly: %s", r)
	}
	rows := map[string]nightlyRow{}
	for _, f := range table(r.stdout) {
		if len(f) < 5 {
			t.Fatalf("row %q of:\n%s", f, r.stdout)
		}
		rows[f[1]] = nightlyRow{result: f[2], reason: f[len(f)-1]}
	}
	if len(rows) != 10 {
		t.Fatalf("want 10 rows:\n%s", r)
	}
	return rows
}

// TestNightly bakes 10 bake files, changes the inputs of 2 and the base
// of 1, and checks that a nightly rebakes exactly those 3 saying why,
// skips the other 7 saying why, and that the next nightly rebakes
// nothing.
func TestNightly(t *testing.T) {
	c := engine(t)
	prefix := uniq("bake-e2e-nightly")
	removeRepos(t, c, prefix)
	ctx := context.Background()

	// One source bakes on its own base, a copy of the Debian base.
	myBase := prefix + "/base:test"
	if err := c.ImageTag(ctx, baseImage, myBase); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	names := make([]string, 10)
	for i := range names {
		names[i] = fmt.Sprintf("%ss%d", strings.ReplaceAll(prefix, "-", ""), i)
		base := baseImage
		if i == 9 {
			base = myBase
		}
		writeBake(t, dir, prefix, names[i], base, "one")
	}
	job := func(i int) string { return "docker." + names[i] }

	first := nightly(t, dir, "v1")
	for i := range names {
		if got := first[job(i)]; got.result != "rebuilt" || got.reason != "never baked" {
			t.Errorf("first nightly, %s = %+v, want rebuilt, never baked", job(i), got)
		}
	}

	writeBake(t, dir, prefix, names[3], baseImage, "two")
	writeBake(t, dir, prefix, names[6], baseImage, "two")
	newerBase(t, c, myBase)

	second := nightly(t, dir, "v2")
	for i := range names {
		got := second[job(i)]
		switch i {
		case 3, 6:
			if got.result != "rebuilt" || !strings.HasPrefix(got.reason, "inputs changed since v1") {
				t.Errorf("%s (inputs changed) = %+v, want rebuilt, inputs changed since v1", job(i), got)
			}
		case 9:
			if got.result != "rebuilt" || !strings.HasPrefix(got.reason, "newer base: "+myBase) {
				t.Errorf("%s (newer base) = %+v, want rebuilt, newer base", job(i), got)
			}
		default:
			want := fmt.Sprintf("unchanged: %s/%s:v1 has fingerprint", prefix, names[i])
			if got.result != "skipped" || !strings.HasPrefix(got.reason, want) {
				t.Errorf("%s = %+v, want skipped, %s", job(i), got, want)
			}
		}
	}
	// The rebaked images exist and have the new inputs.
	for _, i := range []int{3, 6, 9} {
		if _, err := c.ImageInspect(ctx, fmt.Sprintf("%s/%s:v2", prefix, names[i])); err != nil {
			t.Errorf("rebaked image of %s: %v", job(i), err)
		}
	}
	if _, err := c.ImageInspect(ctx, fmt.Sprintf("%s/%s:v2", prefix, names[0])); err == nil {
		t.Errorf("%s was skipped but has a v2 image", job(0))
	}

	third := nightly(t, dir, "v3")
	for i := range names {
		if got := third[job(i)]; got.result != "skipped" {
			t.Errorf("nightly right after: %s = %+v, want skipped", job(i), got)
		}
	}
	noLeftovers(t, c, prefix)
	// The copy of the base that was committed: remove its layers too.
	t.Cleanup(func() {
		c.ImageRemove(context.Background(), myBase, image.RemoveOptions{Force: true, PruneChildren: true})
	})
}

// TestSkipUnchangedBuild: bake build --skip-unchanged boots nothing when
// an image with the fingerprint exists, and bakes when an input changed.
func TestSkipUnchangedBuild(t *testing.T) {
	c := engine(t)
	prefix := uniq("bake-e2e-skip")
	removeRepos(t, c, prefix)
	dir := t.TempDir()
	writeBake(t, dir, prefix, "app", baseImage, "one")
	path := filepath.Join(dir, "app")
	if r := bake(t, "build", "--skip-unchanged", "--manifest", "", "--version", "v1", path); r.code != 0 || !strings.Contains(r.stdout, prefix+"/app:v1") {
		t.Fatalf("first build: %s", r)
	}
	r := bake(t, "build", "--skip-unchanged", "--manifest", "", "--version", "v2", "--json", path)
	if r.code != 0 || !strings.Contains(r.stdout, `"type":"build.skipped"`) || strings.Contains(r.stdout, `"step":"boot"`) {
		t.Fatalf("second build should skip without booting: %s", r)
	}
	if _, err := c.ImageInspect(context.Background(), prefix+"/app:v2"); err == nil {
		t.Error("a skipped build made an image")
	}
	writeBake(t, dir, prefix, "app", baseImage, "two")
	if r := bake(t, "build", "--skip-unchanged", "--manifest", "", "--version", "v3", path); r.code != 0 || !strings.Contains(r.stdout, prefix+"/app:v3") {
		t.Fatalf("build after a change: %s", r)
	}
}

// TestNightlyFailures: a bake that fails and a bake file that does not
// load are reported as failed, with why, and do not stop the others; the
// exit code says something failed.
func TestNightlyFailures(t *testing.T) {
	c := engine(t)
	prefix := uniq("bake-e2e-fail")
	removeRepos(t, c, prefix)
	dir := t.TempDir()
	writeBake(t, dir, prefix, "good", baseImage, "one")
	writeBake(t, dir, prefix, "bad", baseImage, "one; exit 3")
	if err := os.MkdirAll(filepath.Join(dir, "broken"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "broken", "x.bake.hcl"), []byte("source \"docker\" {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := bake(t, "rebuild", dir, "--nightly", "-parallel", "2", "--version", "v1")
	if r.code != 1 {
		t.Fatalf("want exit 1: %s", r)
	}
	got := map[string]string{}
	for _, f := range table(r.stdout) {
		got[f[0]] = f[2] + " " + f[len(f)-1]
	}
	for bake, want := range map[string]string{"good": "rebuilt never baked", "bad": "failed build docker.bad", "broken": "failed "} {
		if !strings.HasPrefix(got[bake], want) {
			t.Errorf("%s: %q, want %q...\n%s", bake, got[bake], want, r.stdout)
		}
	}
	if _, err := c.ImageInspect(context.Background(), prefix+"/good:v1"); err != nil {
		t.Errorf("the good bake was not baked: %v", err)
	}
	noLeftovers(t, c, "docker.bad")
}

// TestNightlyPatch is the nightly of docs/ci/nightly-patch.yml on one
// bake: --patch applies the security-patches recipe (apt, from Debian's
// mirror), and --check-updates asks apt in the newest image whether
// updates are pending; right after a patched bake none are, so the
// second nightly skips it.
func TestNightlyPatch(t *testing.T) {
	if testing.Short() {
		t.Skip("applies updates from Debian's mirror: skipped with -short")
	}
	c := engine(t)
	prefix := uniq("bake-e2e-patch")
	removeRepos(t, c, prefix)
	dir := t.TempDir()
	writeBake(t, dir, prefix, "app", baseImage, "one")
	r := bake(t, "rebuild", dir, "--nightly", "--patch", "--check-updates", "-parallel", "1", "--version", "p1")
	if r.code != 0 && strings.Contains(r.stdout+r.stderr, "resolv") {
		testenv.SkipOrFail(t, "Debian's mirror is not reachable from containers:\n%s", r)
	}
	if rows := table(r.stdout); r.code != 0 || len(rows) != 1 || rows[0][2] != "rebuilt" {
		t.Fatalf("first patched nightly: %s", r)
	}
	if !strings.Contains(r.stderr, "recipe security-patches: ") {
		t.Errorf("the security-patches recipe did not report what it changed:\n%s", r.stderr)
	}
	if _, err := c.ImageInspect(context.Background(), prefix+"/app:p1"); err != nil {
		t.Fatal(err)
	}
	r = bake(t, "rebuild", dir, "--nightly", "--patch", "--check-updates", "-parallel", "1", "--version", "p2")
	rows := table(r.stdout)
	if r.code != 0 || len(rows) != 1 || rows[0][2] != "skipped" || !strings.HasSuffix(rows[0][len(rows[0])-1], "no updates pending") {
		t.Fatalf("nightly right after a patched bake should skip it, no updates pending: %s", r)
	}
	r = bake(t, "outdated", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "0 (0 security)") || !strings.Contains(r.stdout, "up to date") {
		t.Errorf("outdated after a patched bake: %s", r)
	}
	noLeftovers(t, c, prefix)
}
