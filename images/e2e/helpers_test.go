// Package e2e runs bake's image-lifecycle commands (rebuild --nightly,
// build --skip-unchanged, images, promote, prune, outdated) in-process
// against the real Docker engine and a real registry.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/bakehq/bake/internal/cli"
	"github.com/bakehq/bake/internal/testenv"
)

const baseImage = "localbase/debian:bookworm"

// testLabel marks every container a test starts itself.
const testLabel = "dev.bake.test"

func engine(t *testing.T) *client.Client {
	t.Helper()
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		testenv.SkipOrFail(t, "docker engine not reachable: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Ping(ctx); err != nil {
		testenv.SkipOrFail(t, "docker engine not reachable: %v", err)
	}
	if _, err := c.ImageInspect(ctx, baseImage); err != nil {
		testenv.SkipOrFail(t, "base image %s missing (make base-image): %v", baseImage, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func uniq(prefix string) string {
	return fmt.Sprintf("%s%d", prefix, time.Now().UnixNano()%1e9)
}

type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// bake runs the bake CLI in-process.
func bake(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	code := cli.Main(ctx, cli.Streams{In: strings.NewReader(""), Out: &out, Err: &errb}, args)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// removeRepos removes every image tagged in a repository under prefix
// (prefix/...), at the end of the test.
func removeRepos(t *testing.T, c *client.Client, prefix string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		list, err := c.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("reference", prefix+"/*"), filters.Arg("reference", prefix+"/*/*"))})
		if err != nil {
			t.Errorf("clean up images %s/*: %v", prefix, err)
			return
		}
		for _, img := range list {
			for _, tag := range img.RepoTags {
				if _, err := c.ImageRemove(ctx, tag, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil {
					t.Errorf("clean up image %s: %v", tag, err)
				}
			}
		}
	})
}

// startContainer runs ref detached (sleeping) and removes it at the end.
func startContainer(t *testing.T, c *client.Client, ref string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cr, err := c.ContainerCreate(ctx, &container.Config{Image: ref, Entrypoint: []string{"sleep", "600"},
		Labels: map[string]string{testLabel: "images-e2e"}}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := c.ContainerRemove(ctx, cr.ID, container.RemoveOptions{Force: true}); err != nil {
			t.Errorf("remove container %s: %v", cr.ID[:12], err)
		}
	})
	if err := c.ContainerStart(ctx, cr.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	return cr.ID
}

// startRegistry runs Debian's docker-registry on a loopback port.
func startRegistry(t *testing.T) string { return testenv.StartRegistry(t) }

// row is a line of a table bake printed, split on runs of spaces.
type row []string

// table reads a tabwriter table (header first) up to its first line
// that does not have as many columns as the header.
func table(out string) []row {
	var rows []row
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) == 0 {
		return nil
	}
	for _, l := range lines[1:] {
		f := splitCols(l)
		if len(f) < 3 {
			break
		}
		rows = append(rows, f)
	}
	return rows
}

// splitCols splits on two or more spaces (tabwriter's padding), so a
// reason with single spaces stays one column.
func splitCols(l string) row {
	var out row
	for _, f := range strings.Split(l, "  ") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// noLeftovers fails when a container of jobs under prefix is left.
func noLeftovers(t *testing.T, c *client.Client, namePrefix string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := c.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "dev.bake.name"))})
	if err != nil {
		t.Fatal(err)
	}
	for _, ct := range list {
		if strings.Contains(ct.Labels["dev.bake.name"], namePrefix) {
			t.Errorf("container %s (%s) left behind", ct.Names, ct.Labels["dev.bake.name"])
		}
	}
}

// writeAppBake writes a bake of one pushed docker source, app, into
// repo, whose step writes var.msg to a file: -var msg=... makes versions
// with different inputs. It returns the bake's directory.
func writeAppBake(t *testing.T, repo string) string {
	t.Helper()
	dir := t.TempDir()
	src := fmt.Sprintf(`variable "msg" { default = "one" }
source "docker" "app" {
  image      = %q
  repository = %q
  push       = true
}
build {
  sources = ["source.docker.app"]
  provisioner "shell" { inline = ["echo ${var.msg} > /etc/bake-test"] }
}
`, baseImage, repo)
	if err := os.WriteFile(filepath.Join(dir, "app.bake.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
