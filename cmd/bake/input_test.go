package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestBadInput: each mistake exits 2 (1 for a failing step) and says
// where: file:line:col, or the step, its command, exit code and output.
func TestBadInput(t *testing.T) {
	t.Parallel()
	needDocker(t)
	tests := []struct {
		name  string
		file  string
		args  []string
		code  int
		wants []string
	}{
		{name: "syntax error", code: 2,
			file:  "source \"docker\" \"a\" {\n  image = \"x\"\n  changes = [\n}\n",
			wants: []string{"test.bake.hcl:4:1:", "^"}},
		{name: "unknown field", code: 2,
			file:  "source \"docker\" \"a\" {\n  image = \"x\"\n  imgae = \"y\"\n}\nbuild {\n  sources = [\"source.docker.a\"]\n}\n",
			wants: []string{"test.bake.hcl:3:3: Unsupported argument", `"imgae"`, `3 |   imgae = "y"`}},
		{name: "missing variable", code: 2,
			file:  "variable \"image\" {\n  type = string\n}\nsource \"docker\" \"a\" {\n  image = var.image\n}\nbuild {\n  sources = [\"source.docker.a\"]\n}\n",
			wants: []string{"test.bake.hcl:1:1:", `variable "image" has no value`, "-var image=", "BAKE_VAR_image"}},
		{name: "missing base image", code: 2,
			file:  "source \"docker\" \"a\" {\n  image = \"localbase/nothing-here:1\"\n}\nbuild {\n  sources = [\"source.docker.a\"]\n}\n",
			wants: []string{"localbase/nothing-here:1", "not on this machine", "make base-image"}},
		{name: "failing shell step", code: 1,
			file:  fmt.Sprintf("source \"docker\" \"a\" {\n  image = %q\n}\nbuild {\n  sources = [\"source.docker.a\"]\n  provisioner \"shell\" {\n    inline = [\"true\"]\n  }\n  provisioner \"shell\" {\n    inline = [\"echo preparing\", \"echo about to fail >&2\", \"exit 7\"]\n  }\n}\n", baseImage),
			wants: []string{"build docker.a: provisioner shell #2: command exited with code 7", "echo preparing; echo about to fail >&2; exit 7", "--- last output ---", "about to fail"}},
		{name: "unknown flag", code: 2, args: []string{"--frobnicate"}, wants: []string{"unknown flag: --frobnicate"}},
		{name: "bad -var", code: 2, file: "source \"docker\" \"a\" {\n  image = \"x\"\n}\nbuild {\n  sources = [\"source.docker.a\"]\n}\n",
			args: []string{"-var", "nope=1"}, wants: []string{`no variable "nope" is declared`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := writeBake(t, tt.file)
			args := append([]string{"build", "--manifest", ""}, tt.args...)
			args = append(args, "test.bake.hcl")
			r := runBake(t, dir, args...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d: %s", r.code, tt.code, r)
			}
			for _, w := range tt.wants {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, r.stderr)
				}
			}
		})
	}
}

// TestNothingLeftBehind counts, by the run's label, the containers and
// dangling images left after success, a failing step, SIGINT in the
// middle of a step and --timeout.
func TestNothingLeftBehind(t *testing.T) {
	t.Parallel()
	needDocker(t)
	bakeFile := func(step string) string {
		return fmt.Sprintf(`
source "docker" "a" {
  image      = %q
  repository = "bake-e2e/leftovers"
}
build {
  sources = ["source.docker.a"]
  provisioner "shell" {
    inline = ["echo step-started", %q]
  }
}
`, baseImage, step)
	}
	t.Run("success", func(t *testing.T) {
		t.Parallel()
		v := uniq("ok")
		removeImage(t, "bake-e2e/leftovers:"+v)
		r := runBake(t, writeBake(t, bakeFile("true")), "build", "--json", "--version", v, "--manifest", "", ".")
		if r.code != 0 {
			t.Fatal(r)
		}
		assertNothingLeft(t, runUUIDs(events(t, r.stdout))[0])
	})
	t.Run("failing step", func(t *testing.T) {
		t.Parallel()
		r := runBake(t, writeBake(t, bakeFile("exit 3")), "build", "--json", "--manifest", "", ".")
		if r.code != 1 {
			t.Fatal(r)
		}
		assertNothingLeft(t, runUUIDs(events(t, r.stdout))[0])
	})
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		r := runBake(t, writeBake(t, bakeFile("sleep 120")), "build", "--json", "--timeout", "3s", "--manifest", "", ".")
		if r.code != 1 || !strings.Contains(r.stdout, "timed out after --timeout 3s") {
			t.Fatal(r)
		}
		assertNothingLeft(t, runUUIDs(events(t, r.stdout))[0])
	})
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGHUP} {
		t.Run(sig.String()+" mid-step", func(t *testing.T) {
			t.Parallel()
			dir := writeBake(t, bakeFile("sleep 120"))
			r := interruptWhen(t, sig, []string{"build", "--json", "--manifest", "", "."}, dir, func(out string) bool {
				return strings.Contains(out, `"message":"step-started"`)
			})
			if r.code == 0 || !strings.Contains(r.stderr+r.stdout, "stopped") {
				t.Errorf("after %s: %s", sig, r)
			}
			runs := runUUIDs(events(t, r.stdout))
			if len(runs) != 1 {
				t.Fatalf("runs %v", runs)
			}
			assertNothingLeft(t, runs[0])
		})
	}
}

// TestSensitiveNeverShown: a sensitive variable's value appears in no
// output — plain, --json, errors, inspect — nor in labels or manifest.
func TestSensitiveNeverShown(t *testing.T) {
	t.Parallel()
	needDocker(t)
	const secret = "hunter2-Sup3rSecret"
	dir := writeBake(t, fmt.Sprintf(`
variable "api_token" {
  type      = string
  sensitive = true
}
source "docker" "s" {
  image      = %q
  repository = "bake-e2e/sensitive"
}
build {
  sources = ["source.docker.s"]
  provisioner "shell" {
    environment_vars = ["TOKEN=${var.api_token}"]
    inline           = ["echo token is $TOKEN", "echo 'inline ${var.api_token}'"]
  }
  provisioner "shell" {
    inline = ["echo failing with $0 ${var.api_token} >&2", "exit 4"]
  }
}
`, baseImage))
	os.Setenv("BAKE_VAR_api_token", "")
	manifest := filepath.Join(dir, "m.json")
	var all strings.Builder
	for _, args := range [][]string{
		{"build", "--json", "--manifest", manifest, "-var", "api_token=" + secret, "."},
		{"build", "--manifest", manifest, "-var", "api_token=" + secret, "."},
		{"inspect", "-var", "api_token=" + secret, "."},
		{"validate", "-var", "api_token=" + secret, "."},
	} {
		r := runBake(t, dir, args...)
		all.WriteString(r.stdout + r.stderr)
		if args[0] == "build" && (r.code != 1 || !strings.Contains(r.stdout+r.stderr, "token is <sensitive>")) {
			t.Errorf("bake %v: %s", args, r)
		}
	}
	if strings.Contains(all.String(), secret) {
		t.Errorf("the sensitive value was shown:\n%s", all.String())
	}
	if !strings.Contains(all.String(), "var.api_token: <sensitive>") {
		t.Errorf("inspect does not show the variable as <sensitive>:\n%s", all.String())
	}
	// A successful bake: the secret is in no label or manifest entry.
	dir2 := writeBake(t, fmt.Sprintf(`
variable "api_token" {
  type      = string
  sensitive = true
}
source "docker" "s" {
  image      = %q
  repository = "bake-e2e/sensitive"
  changes    = ["LABEL token_hash=${sha256(var.api_token)}"]
}
build {
  sources = ["source.docker.s"]
  provisioner "shell" {
    inline = ["test -n '${var.api_token}'"]
  }
}
`, baseImage))
	v := uniq("sens")
	removeImage(t, "bake-e2e/sensitive:"+v)
	r := runBake(t, dir2, "build", "--json", "--version", v, "--manifest", manifest, "-var", "api_token="+secret, ".")
	if r.code != 0 {
		t.Fatal(r)
	}
	out, err := exec.Command("docker", "image", "inspect", "bake-e2e/sensitive:"+v).CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	m, _ := os.ReadFile(manifest)
	if strings.Contains(string(out)+string(m)+r.stdout+r.stderr, secret) {
		t.Errorf("the sensitive value is in the image config, the manifest or the output")
	}
}
