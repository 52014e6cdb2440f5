package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommands covers validate, inspect, fmt and version as a user runs
// them.
func TestCommands(t *testing.T) {
	t.Parallel()
	t.Run("version", func(t *testing.T) {
		r := runBake(t, repoRoot, "version")
		if r.code != 0 || !strings.HasPrefix(r.stdout, "bake ") {
			t.Error(r)
		}
	})
	t.Run("validate", func(t *testing.T) {
		r := runBake(t, repoRoot, "validate", "testdata/hello")
		if r.code != 0 || strings.TrimSpace(r.stdout) != "The configuration is valid." {
			t.Error(r)
		}
		r = runBake(t, repoRoot, "validate", "-var", "greeting=", "testdata/hello")
		if r.code != 2 || !strings.Contains(r.stderr, "The greeting must not be empty.") || !strings.Contains(r.stderr, "hello.bake.hcl:") {
			t.Error(r)
		}
	})
	t.Run("inspect", func(t *testing.T) {
		r := runBake(t, repoRoot, "inspect", "testdata/packer")
		for _, w := range []string{`var.image: cty.StringVal("localbase/debian:bookworm") (from default)`, "source.docker.app", "provisioner shell #1", "post-processor docker-tag #1"} {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("inspect lacks %q: %s", w, r)
			}
		}
		if r := runBake(t, repoRoot, "inspect", "testdata/web"); !strings.Contains(r.stdout, "provisioner recipe #1") || !strings.Contains(r.stdout, "verify (testdata/web/web.bake.hcl:") {
			t.Errorf("inspect of testdata/web lacks its recipe or verify block: %s", r)
		}
	})
	t.Run("fmt", func(t *testing.T) {
		files, _ := filepath.Glob(filepath.Join(repoRoot, "testdata", "*", "*.hcl"))
		r := runBake(t, repoRoot, append([]string{"fmt", "-check"}, files...)...)
		if r.code != 0 {
			t.Errorf("testdata is not formatted: %s", r)
		}
		dir := t.TempDir()
		p := filepath.Join(dir, "x.bake.hcl")
		os.WriteFile(p, []byte("source \"docker\" \"a\" {\nimage=\"x\"\n    repository =  \"y\"\n}\n"), 0o644)
		r = runBake(t, dir, "fmt", "-check", "x.bake.hcl")
		if r.code != 3 || strings.TrimSpace(r.stdout) != "x.bake.hcl" {
			t.Errorf("fmt -check on an unformatted file: %s", r)
		}
		if r = runBake(t, dir, "fmt", "x.bake.hcl"); r.code != 0 {
			t.Error(r)
		}
		b, _ := os.ReadFile(p)
		if !strings.Contains(string(b), "  image      = \"x\"\n  repository = \"y\"\n") {
			t.Errorf("fmt wrote:\n%s", b)
		}
		os.WriteFile(p, []byte("source {\n"), 0o644)
		if r = runBake(t, dir, "fmt", "x.bake.hcl"); r.code != 2 || !strings.Contains(r.stderr, "x.bake.hcl:") {
			t.Errorf("fmt of a broken file: %s", r)
		}
	})
}

// TestReadmeDemo runs the README's first command, make demo: it builds
// bake, bakes testdata/web (a recipe), serves it on loopback and fetches the page.
func TestReadmeDemo(t *testing.T) {
	t.Parallel()
	needDocker(t)
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"make demo", "make test"} {
		if !strings.Contains(string(readme), cmd) {
			t.Errorf("README.md does not give %q", cmd)
		}
	}
	cmd := exec.Command("make", "demo")
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "demo ok: bake/web:demo-") {
		t.Fatalf("make demo: %v\n%s", err, out)
	}
	version := strings.Fields(string(out[strings.LastIndex(string(out), "bake/web:demo-"):]))[0]
	removeImage(t, version)
}
