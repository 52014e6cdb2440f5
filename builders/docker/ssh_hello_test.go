package docker_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/bakehq/bake/internal/cli"
	"github.com/bakehq/bake/internal/testenv"
)

// TestHelloOverSSHSameAsExec bakes testdata/hello twice, with
// communicator = "ssh" and with docker exec, and compares the two images:
// the same files with the same modes, owners and content, and the same
// config. Only what apt and dpkg stamp with the time may differ.
func TestHelloOverSSHSameAsExec(t *testing.T) {
	if testing.Short() {
		t.Skip("bakes testdata/hello twice (apt-get from Debian's mirror); skipped with -short")
	}
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		testenv.SkipOrFail(t, "docker engine not reachable: %v", err)
	}
	defer api.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	if _, err := api.Ping(ctx); err != nil {
		testenv.SkipOrFail(t, "docker engine not reachable: %v", err)
	}
	if _, err := api.ImageInspect(ctx, "localbase/debian:bookworm"); err != nil {
		testenv.SkipOrFail(t, "base image localbase/debian:bookworm is missing (make it with hack/base-image.sh): %v", err)
	}

	bakeHello := func(communicator string) string {
		dir := t.TempDir()
		copyTree(t, filepath.Join("..", "..", "testdata", "hello"), dir)
		file := filepath.Join(dir, "hello.bake.hcl")
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		const anchor = "  image      = var.base_image\n"
		if !bytes.Contains(src, []byte(anchor)) {
			t.Fatalf("testdata/hello changed: no %q line to add the communicator after", strings.TrimSpace(anchor))
		}
		src = bytes.Replace(src, []byte(anchor), []byte(anchor+fmt.Sprintf("  communicator = %q\n", communicator)), 1)
		if err := os.WriteFile(file, src, 0o644); err != nil {
			t.Fatal(err)
		}
		repo := "bake-test/hello-" + communicator
		ref := repo + ":ssh-test"
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := api.ImageRemove(ctx, ref, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil && !strings.Contains(err.Error(), "No such image") {
				t.Errorf("remove image %s: %v", ref, err)
			}
		})
		var out bytes.Buffer
		code := cli.Main(ctx, cli.Streams{In: strings.NewReader(""), Out: &out, Err: &out},
			[]string{"build", "--no-cache", "--manifest", "", "--version", "ssh-test", "--var", "repository=" + repo, dir})
		if code != 0 {
			t.Fatalf("bake build with communicator = %q exited %d:\n%s", communicator, code, out.String())
		}
		return ref
	}
	viaSSH := bakeHello("ssh")
	viaExec := bakeHello("docker")

	a, b := imageFiles(t, api, viaSSH), imageFiles(t, api, viaExec)
	var diffs []string
	for p, fa := range a {
		if fb, ok := b[p]; !ok {
			diffs = append(diffs, "only over ssh: "+p+" "+fa)
		} else if fa != fb && !timeStamped(p) {
			diffs = append(diffs, fmt.Sprintf("differs: %s: ssh %s, exec %s", p, fa, fb))
		}
	}
	for p, fb := range b {
		if _, ok := a[p]; !ok {
			diffs = append(diffs, "only over docker exec: "+p+" "+fb)
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("the images differ in %d places:\n%s", len(diffs), strings.Join(diffs, "\n"))
	}

	ia, err := api.ImageInspect(ctx, viaSSH)
	if err != nil {
		t.Fatal(err)
	}
	ib, err := api.ImageInspect(ctx, viaExec)
	if err != nil {
		t.Fatal(err)
	}
	ca, cb := ia.Config, ib.Config
	if fmt.Sprint(ca.ExposedPorts) != fmt.Sprint(cb.ExposedPorts) {
		t.Errorf("exposed ports differ: ssh %v, exec %v: a port published for SSH must be exposed, and docker commit "+
			"keeps it in the image; Boot should publish nothing and call connectSSH with addr \"\" (sshd -i over exec)",
			ca.ExposedPorts, cb.ExposedPorts)
	}
	if fmt.Sprint(ca.Cmd, ca.Entrypoint, ca.Env, ca.User, ca.WorkingDir) != fmt.Sprint(cb.Cmd, cb.Entrypoint, cb.Env, cb.User, cb.WorkingDir) {
		t.Errorf("image configs differ:\nssh:  %+v\nexec: %+v", ca, cb)
	}
}

// timeStamped are the files apt and dpkg write with the time of the run
// or in an order of their own: they differ between any two bakes.
func timeStamped(p string) bool {
	for _, prefix := range []string{"var/log/", "var/cache/", "var/lib/apt/", "var/lib/dpkg/", "etc/ld.so.cache"} {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// imageFiles lists the file system of ref: path to type, mode, owner,
// link target and content hash (not times).
func imageFiles(t *testing.T, api *client.Client, ref string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	created, err := api.ContainerCreate(ctx, &container.Config{Image: ref, Labels: map[string]string{"dev.bake.test": "builders/docker/ssh"}}, nil, nil, nil, "")
	if err != nil {
		t.Fatalf("create a container of %s: %v", ref, err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := api.ContainerRemove(ctx, created.ID, container.RemoveOptions{Force: true}); err != nil {
			t.Errorf("remove container: %v", err)
		}
	}()
	rc, err := api.ContainerExport(ctx, created.ID)
	if err != nil {
		t.Fatalf("export %s: %v", ref, err)
	}
	defer rc.Close()
	files := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read the export of %s: %v", ref, err)
		}
		name := strings.TrimPrefix(strings.TrimSuffix(h.Name, "/"), "./")
		switch name {
		case ".dockerenv", "etc/hostname", "etc/hosts", "etc/resolv.conf":
			continue // made by docker for each container
		}
		sum := ""
		if h.Typeflag == tar.TypeReg {
			hash := sha256.New()
			if _, err := io.Copy(hash, tr); err != nil {
				t.Fatal(err)
			}
			sum = hex.EncodeToString(hash.Sum(nil))[:16]
		}
		files[name] = fmt.Sprintf("type=%c mode=%o owner=%d:%d link=%s sha=%s", h.Typeflag, h.Mode, h.Uid, h.Gid, h.Linkname, sum)
	}
	return files
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, info.Mode().Perm())
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}
