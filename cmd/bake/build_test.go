package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"

	"github.com/bakehq/bake/bake"
)

func uniq(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1e9)
}

// TestHello bakes testdata/hello on the real engine: its container serves
// the page with the baked version, and labels and manifest are right.
func TestHello(t *testing.T) {
	t.Parallel()
	needDocker(t)
	version := uniq("e2e")
	repo := "bake-e2e/hello"
	ref := repo + ":" + version
	removeImage(t, ref)
	manifest := filepath.Join(t.TempDir(), "m.json")
	r := runBake(t, repoRoot, "build", "--json", "--version", version, "-var", "repository="+repo, "--manifest", manifest, "testdata/hello")
	if r.code != 0 {
		t.Fatalf("bake build testdata/hello: %s", r)
	}
	evs := events(t, r.stdout)
	runs := runUUIDs(evs)
	if len(runs) != 1 {
		t.Fatalf("runs = %v", runs)
	}
	assertNothingLeft(t, runs[0])

	page := get(t, serve(t, ref)+"/")
	if !strings.Contains(page, `<span id="version">`+version+`</span>`) {
		t.Errorf("page does not show version %s:\n%s", version, page)
	}
	if got := get(t, serve(t, ref)+"/healthz"); strings.TrimSpace(got) != "ok" {
		t.Errorf("/healthz (from the site/ directory upload) = %q", got)
	}

	img, err := docker.ImageInspect(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	base, err := docker.ImageInspect(context.Background(), baseImage)
	if err != nil {
		t.Fatal(err)
	}
	rev, err := exec.Command("git", "-C", repoRoot, "rev-parse", "HEAD").Output()
	if err != nil {
		rev = nil // not a git checkout with commits: no revision label
	}
	l := img.Config.Labels
	want := map[string]string{
		bake.LabelVersion:                version,
		bake.LabelBaseName:               baseImage,
		bake.LabelBaseDigest:             base.ID,
		bake.LabelParent:                 base.ID,
		bake.LabelName:                   "hello.docker.hello",
		bake.LabelRun:                    runs[0],
		"org.opencontainers.image.title": "hello",
	}
	if len(rev) > 0 {
		want[bake.LabelRevision] = strings.TrimSpace(string(rev))
	}
	for k, v := range want {
		if l[k] != v {
			t.Errorf("label %s = %q, want %q", k, l[k], v)
		}
	}
	if _, err := time.Parse(time.RFC3339, l[bake.LabelCreated]); err != nil {
		t.Errorf("label %s = %q: %v", bake.LabelCreated, l[bake.LabelCreated], err)
	}
	if !strings.HasPrefix(l[bake.LabelFingerprint], "sha256:") || l[bake.LabelSource] == "" {
		t.Errorf("fingerprint %q, source %q", l[bake.LabelFingerprint], l[bake.LabelSource])
	}
	if len(img.Config.Entrypoint) != 0 || strings.Join(img.Config.Cmd, " ") != "nginx -g daemon off;" {
		t.Errorf("entrypoint %q cmd %q: the build container's entrypoint leaked or CMD was lost", img.Config.Entrypoint, img.Config.Cmd)
	}
	if _, ok := img.Config.ExposedPorts["80/tcp"]; !ok {
		t.Errorf("EXPOSE 80 not applied: %v", img.Config.ExposedPorts)
	}

	var m bake.Manifest
	b, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Builds) != 1 {
		t.Fatalf("manifest builds = %d", len(m.Builds))
	}
	e := m.Builds[0]
	if e.Name != "hello.docker.hello" || e.BuilderType != "docker" || e.ArtifactID != img.ID || e.RunUUID != runs[0] ||
		e.PackerRunUUID != runs[0] || m.LastRunUUID != runs[0] || e.Version != version || e.Parent != base.ID ||
		e.Fingerprint != l[bake.LabelFingerprint] || e.BuildTime == 0 {
		t.Errorf("manifest entry = %+v", e)
	}
}

// TestPush bakes with push = true into Debian's docker-registry run on a
// loopback port, removes the local image, pulls it back and inspects it.
func TestPush(t *testing.T) {
	t.Parallel()
	needDocker(t)
	reg := startRegistry(t)
	version := uniq("push")
	repo := reg + "/bake-e2e/pushed"
	ref := repo + ":" + version
	removeImage(t, ref, repo+":latest")
	dir := writeBake(t, fmt.Sprintf(`
source "docker" "pushed" {
  image      = %q
  repository = %q
  tags       = ["latest"]
  push       = true
}
build {
  sources = ["source.docker.pushed"]
  provisioner "shell" {
    inline = ["echo pushed > /pushed.txt"]
  }
}
`, baseImage, repo))
	r := runBake(t, dir, "build", "--version", version, ".")
	if r.code != 0 {
		t.Fatalf("push bake: %s", r)
	}
	local, err := docker.ImageInspect(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, n := range []string{ref, repo + ":latest"} {
		if _, err := docker.ImageRemove(ctx, n, image.RemoveOptions{Force: true}); err != nil {
			t.Fatal(err)
		}
	}
	rc, err := docker.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		t.Fatalf("pull back %s: %v", ref, err)
	}
	pullOut := new(strings.Builder)
	io.Copy(pullOut, rc)
	rc.Close()
	pulled, err := docker.ImageInspect(ctx, ref)
	if err != nil {
		t.Fatalf("inspect pulled %s: %v\n%s", ref, err, pullOut)
	}
	if pulled.ID != local.ID || pulled.Config.Labels[bake.LabelVersion] != version || len(pulled.RepoDigests) == 0 {
		t.Errorf("pulled image %s: id %s (pushed %s), version label %q, digests %v", ref, pulled.ID, local.ID, pulled.Config.Labels[bake.LabelVersion], pulled.RepoDigests)
	}
}

// TestPackerTemplate bakes a plain Packer HCL2 template unchanged, and
// checks that Packer itself accepts it.
func TestPackerTemplate(t *testing.T) {
	t.Parallel()
	needDocker(t)
	src := filepath.Join(repoRoot, "testdata", "packer")
	dir := t.TempDir()
	if out, err := exec.Command("cp", "-a", src+"/.", dir).CombinedOutput(); err != nil {
		t.Fatalf("copy: %v %s", err, out)
	}
	if packer, err := exec.LookPath("packer"); err == nil {
		cmd := exec.Command(packer, "validate", "docker.pkr.hcl")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("packer validate rejects the template, so it is not a plain Packer template: %v\n%s", err, out)
		}
	} else {
		t.Log("packer not installed: only baking the template")
	}
	version := uniq("pkr")
	removeImage(t, "bake/app:"+version, "bake-e2e/packer-app:latest", "bake-e2e/packer-app:stable")
	r := runBake(t, dir, "build", "--version", version, ".")
	if r.code != 0 {
		t.Fatalf("bake the Packer template: %s", r)
	}
	img, err := docker.ImageInspect(context.Background(), "bake-e2e/packer-app:stable")
	if err != nil {
		t.Fatalf("docker-tag post-processor did not tag: %v", err)
	}
	c := img.Config
	if strings.Join(c.Entrypoint, " ") != "/bin/cat" || strings.Join(c.Cmd, " ") != "/opt/app/motd" || c.User != "nobody" ||
		c.WorkingDir != "/opt/app" || !contains(c.Env, "APP_HOME=/opt/app") {
		t.Errorf("changes not applied: entrypoint %q cmd %q user %q workdir %q env %q", c.Entrypoint, c.Cmd, c.User, c.WorkingDir, c.Env)
	}
	out := runContainer(t, "bake-e2e/packer-app:stable")
	if strings.TrimSpace(out) != "hello from packer" {
		t.Errorf("container printed %q", out)
	}
	files := runShell(t, "bake-e2e/packer-app:stable", "stat -c '%a %n' /opt/app/run.sh; cat /opt/app/conf/app.conf")
	if !strings.Contains(files, "755 /opt/app/run.sh") || !strings.Contains(files, "key=value") {
		t.Errorf("file provisioner tree/modes: %q", files)
	}
	for name, want := range map[string]string{"motd": "hello from packer", "app.conf": "key=value"} {
		got, err := os.ReadFile(filepath.Join(dir, "downloads", name))
		if err != nil || !strings.Contains(string(got), want) {
			t.Errorf("file download of several sources: %s: %q %v", name, got, err)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "packer-manifest.json"))
	if err != nil || !strings.Contains(string(b), `"builder_type": "docker"`) || !strings.Contains(string(b), img.ID) {
		t.Errorf("manifest post-processor output: %v\n%s", err, b)
	}
}

// TestParallelSources bakes two sources that only succeed when they run
// at the same time.
func TestParallelSources(t *testing.T) {
	t.Parallel()
	needDocker(t)
	meet := t.TempDir()
	version := uniq("par")
	removeImage(t, "bake-e2e/parallel-left:"+version, "bake-e2e/parallel-right:"+version)
	r := runBake(t, repoRoot, "build", "--manifest", "", "--version", version, "-parallel", "2", "-var", "meet="+meet, "testdata/parallel")
	if r.code != 0 {
		t.Fatalf("parallel bake: %s", r)
	}
	for _, side := range []string{"left", "right"} {
		if !strings.Contains(r.stdout, "parallel.docker."+side+": bake-e2e/parallel-"+side+":"+version) {
			t.Errorf("no artifact for %s in stdout:\n%s", side, r.stdout)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
