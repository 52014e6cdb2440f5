package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRebuildRunsDataSources: bake rebuild reads a bake as bake build
// does, data sources included (it loaded without them and refused every
// template with a data block), and a second --nightly run skips it.
func TestRebuildRunsDataSources(t *testing.T) {
	needDocker(t)
	// The image is bake/NAME, NAME the source's.
	name := uniq("rebuild-data")
	repo := "bake/" + name
	root := t.TempDir()
	dir := filepath.Join(root, name)
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "app.pkr.hcl"), []byte(`
data "null" "base" {
  input = "`+baseImage+`"
}
source "docker" "`+name+`" {
  image  = data.null.base.output
  commit = true
}
build {
  sources = ["source.docker.`+name+`"]
  provisioner "shell" {
    inline = ["echo baked-from-data > /from-data"]
  }
}
`), 0o644)
	removeImage(t, repo+":v1", repo+":v2")
	r := runBake(t, root, "rebuild", "--nightly", "--no-cache", "--version", "v1", ".")
	if r.code != 0 || !strings.Contains(r.stdout, "1 rebuilt") {
		t.Fatalf("bake rebuild of a template with a data source: %s", r)
	}
	if out := runShell(t, repo+":v1", "cat /from-data"); out != "baked-from-data\n" {
		t.Errorf("/from-data = %q", out)
	}
	r = runBake(t, root, "rebuild", "--nightly", "--no-cache", "--version", "v2", ".")
	if r.code != 0 || !strings.Contains(r.stdout, "unchanged") {
		t.Errorf("second nightly rebuild should skip the unchanged source: %s", r)
	}
}
