package packer_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bakehq/bake/bake"
)

// buildPlugin builds testdata/packer-plugin, a multi-component plugin
// served by packer-plugin-sdk's plugin.Set, into a new PACKER_PLUGIN_PATH.
func buildPlugin(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "packer-plugin-bakeecho"), "./testdata/packer-plugin")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the test plugin: %v\n%s", err, out)
	}
	t.Setenv("PACKER_PLUGIN_PATH", dir)
}

// TestSDKPluginBakes runs the plugin over docker exec and over SSH.
func TestSDKPluginBakes(t *testing.T) {
	needPackerAndDocker(t)
	buildPlugin(t)
	for _, communicator := range []string{"docker", "ssh"} {
		t.Run(communicator, func(t *testing.T) { sdkPluginBakes(t, communicator) })
	}
}

func sdkPluginBakes(t *testing.T, communicator string) {
	repo, version := "bake-test/packer-sdk-"+communicator, uniq("v")
	removeImage(t, repo+":"+version)
	dir := writeBake(t, bakeFileWith(repo, communicator, `  provisioner "bakeecho" {
    message       = "hi"
    upload_dir    = "payload"
    download_file = "out.txt"
  }`))
	if err := os.MkdirAll(filepath.Join(dir, "payload", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "payload", "sub", "a.txt"), []byte("payload\n"), 0o644)

	r := bakeDir(t, context.Background(), dir, nil, "build", "--json", "--version", version, ".")
	if r.code != 0 {
		t.Fatalf("bake: %s", r)
	}
	evs := events(t, r.stdout)
	assertNothingLeft(t, runUUID(evs))
	var said, output bool
	for _, e := range evs {
		said = said || e.Type == bake.EventInfo && e.Message == "bakeecho says hi"
		// SDK plugins show a command's stdout with Say.
		output = output || e.Message == "hi from app"
	}
	if !said || !output {
		t.Errorf("progress (%v) or output (%v) missing from the events: %s", said, output, r)
	}
	out, err := exec.Command("docker", "run", "--rm", repo+":"+version, "cat", "/bakeecho", "/opt/payload/sub/a.txt").CombinedOutput()
	if err != nil || string(out) != "hi from app\npayload\n" {
		t.Errorf("the plugin's command and upload did not land in the image: %v %q", err, out)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "out.txt")); err != nil || string(b) != "hi from app\n" {
		t.Errorf("download relative to the bake file: %v %q", err, b)
	}
}

func TestSDKPluginErrors(t *testing.T) {
	needPackerAndDocker(t)
	buildPlugin(t)
	dir := writeBake(t, bakeFile("bake-test/packer-sdk-fail", `  provisioner "bakeecho-fail" {
    code = 7
  }`))
	bakeFails(t, dir, "provisioner bakeecho-fail #1", "exited with code 7", "failing on purpose", "bakeecho-fail: the command exited 7")

	block := `  provisioner "bakeecho" {
    message = "forbidden"
  }`
	dir = writeBake(t, bakeFile("bake-test/packer-sdk-bad", block))
	r := bakeDir(t, context.Background(), dir, nil, "validate", ".")
	if r.code != 2 || !strings.Contains(r.stderr, at(block, "provisioner")) || !strings.Contains(r.stderr, `must not be "forbidden"`) {
		t.Errorf("Prepare's rejection must be bad input at the block: %s", r)
	}
}
