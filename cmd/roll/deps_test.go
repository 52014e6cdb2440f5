package main

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestRollBinaryDeps keeps roll small: it shares internal/console with
// bake, never bake's commands, builders, plugin host or local cloud.
func TestRollBinaryDeps(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out, err := exec.Command(goTool, "list", "-deps", "github.com/bakehq/bake/cmd/roll").Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list -deps ./cmd/roll: %v\n%s", err, stderr)
	}
	const mod = "github.com/bakehq/bake/"
	banned := []string{"builders", "provisioners", "sim", "postprocessors", "datasources", "communicators"}
	for _, pkg := range strings.Fields(string(out)) {
		rel, ours := strings.CutPrefix(pkg, mod)
		for _, b := range banned {
			if ours && (rel == b || strings.HasPrefix(rel, b+"/")) {
				t.Errorf("roll links %s: roll must not depend on bake's %s", pkg, b)
			}
		}
		if ours && rel == "internal/cli" {
			t.Errorf("roll links %s: share code through internal/console, not bake's commands", pkg)
		}
		if strings.HasPrefix(pkg, "github.com/hashicorp/packer-plugin-") {
			t.Errorf("roll links %s: the Packer plugin host and plugins are bake's alone", pkg)
		}
	}
}
