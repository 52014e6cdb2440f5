package docker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/internal/cli"
)

// needEngine returns a client for the engine with the Debian base image;
// in CI (CI=true) a missing part fails the test instead of skipping it.
func needEngine(t *testing.T) *client.Client {
	t.Helper()
	miss := t.Skipf
	if os.Getenv("CI") == "true" {
		miss = t.Fatalf
	}
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		miss("docker engine not reachable: %v", err)
	}
	t.Cleanup(func() { api.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := api.Ping(ctx); err != nil {
		miss("docker engine not reachable: %v", err)
	}
	if _, err := api.ImageInspect(ctx, "localbase/debian:bookworm"); err != nil {
		miss("base image localbase/debian:bookworm is missing (bash hack/base-image.sh): %v", err)
	}
	return api
}

const packerTemplate = `
source "docker" "exp" {
  image       = "localbase/debian:bookworm"
  export_path = "out/exp.tar"
  docker_path = "docker"
}
source "docker" "rc" {
  image       = "localbase/debian:bookworm"
  commit      = true
  pull        = true
  run_command = ["-d", "-i", "-t", "--entrypoint=/bin/sh", "-e", "FOO=bar", "--", "{{.Image}}"]
  changes     = ["LABEL e2e=yes"]
}
build {
  sources = ["source.docker.exp", "source.docker.rc"]
  provisioner "shell" { inline = ["echo hi > /hello"] }
  provisioner "shell-local" { inline = ["echo local-$PACKER_BUILD_NAME-$PACKER_BUILDER_TYPE"] }
  post-processors {
    post-processor "docker-import" {
      repository = "bake-test/packer-imported"
      tag        = "t1"
      changes    = ["CMD [\"/bin/cat\", \"/hello\"]"]
      only       = ["docker.exp"]
    }
    post-processor "docker-save" { path = "out/saved-${source.name}.tar" }
  }
  post-processor "manifest" { custom_data = { a = "b" } }
  post-processor "shell-local" { inline = ["echo pp-$PACKER_BUILD_NAME"] }
}
`

// TestPackerDockerTemplate bakes a Packer docker template unchanged:
// run_command is honoured (its -e reaches the image) but its
// --entrypoint does not; export_path writes a tarball that docker-import
// imports with changes; docker-save saves; shell-local runs here with
// Packer's variables; the manifest has Packer's keys; nothing of the run
// is left running.
func TestPackerDockerTemplate(t *testing.T) {
	api := needEngine(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "t.pkr.hcl"), []byte(packerTemplate), 0o644); err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	version := "packer-test-" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	t.Cleanup(func() {
		for _, ref := range []string{"bake-test/packer-imported:t1", "bake/rc:" + version} {
			if _, err := api.ImageRemove(context.Background(), ref, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil && !strings.Contains(err.Error(), "No such image") {
				t.Errorf("remove %s: %v", ref, err)
			}
		}
	})
	var out bytes.Buffer
	code := cli.Main(ctx, cli.Streams{In: strings.NewReader(""), Out: &out, Err: &out},
		[]string{"build", "--no-cache", "--manifest", "", "--version", version, "."})
	log := out.String()
	if code != 0 {
		t.Fatalf("bake build exited %d:\n%s", code, log)
	}
	for _, want := range []string{"local-exp-docker", "local-rc-docker", "pp-exp", "pp-rc",
		"docker_path accepted as Packer's docker builder has them, without effect",
		"the local image was used", "run command: docker run"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
	img, err := api.ImageInspect(ctx, "bake/rc:"+version)
	if err != nil {
		t.Fatal(err)
	}
	if len(img.Config.Entrypoint) != 0 || strings.Join(img.Config.Cmd, " ") != "bash" {
		t.Errorf("image runs %q %q, want the base's (no entrypoint, bash): run_command's --entrypoint leaked", img.Config.Entrypoint, img.Config.Cmd)
	}
	if !strings.Contains(strings.Join(img.Config.Env, " "), "FOO=bar") || img.Config.Labels["e2e"] != "yes" {
		t.Errorf("env %q labels %v: want run_command's FOO=bar and changes' label", img.Config.Env, img.Config.Labels)
	}
	imp, err := api.ImageInspect(ctx, "bake-test/packer-imported:t1")
	if err != nil {
		t.Fatalf("docker-import made no image: %v", err)
	}
	if strings.Join(imp.Config.Cmd, " ") != "/bin/cat /hello" {
		t.Errorf("imported image's cmd %q, want docker-import's changes", imp.Config.Cmd)
	}
	for _, f := range []string{"out/exp.tar", "out/saved-exp.tar", "out/saved-rc.tar"} {
		if fi, err := os.Stat(f); err != nil || fi.Size() < 1<<20 {
			t.Errorf("%s: %v (size %v), want a tarball", f, err, fi)
		}
	}
	b, err := os.ReadFile("packer-manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Builds []struct {
			Name, BuilderType, ArtifactID, PackerRunUUID string
			Files                                        []struct{ Name string }
			CustomData                                   map[string]string
		}
		LastRunUUID string `json:"last_run_uuid"`
	}
	// encoding/json matches builder_type to BuilderType only by tag.
	b = bytes.NewBufferString(strings.NewReplacer(`"builder_type"`, `"BuilderType"`, `"artifact_id"`, `"ArtifactID"`, `"packer_run_uuid"`, `"PackerRunUUID"`, `"custom_data"`, `"CustomData"`).Replace(string(b))).Bytes()
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Builds) != 2 || m.LastRunUUID == "" {
		t.Fatalf("manifest %s: want 2 builds and last_run_uuid", b)
	}
	for _, e := range m.Builds {
		switch e.Name {
		case "rc":
			if e.ArtifactID != img.ID {
				t.Errorf("rc's artifact_id %q, want the image id %s", e.ArtifactID, img.ID)
			}
		case "exp":
			if e.ArtifactID != "Container" || len(e.Files) != 1 || !strings.HasSuffix(e.Files[0].Name, "out/exp.tar") {
				t.Errorf("exp's entry %+v, want Packer's Container with the tarball in files", e)
			}
		default:
			t.Errorf("manifest entry named %q, want the source names rc and exp", e.Name)
		}
		if e.BuilderType != "docker" || e.CustomData["a"] != "b" || e.PackerRunUUID != m.LastRunUUID {
			t.Errorf("entry %+v", e)
		}
	}
	left, err := api.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", bake.LabelRun+"="+m.LastRunUUID))})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("%d containers of the run are left", len(left))
	}
}
