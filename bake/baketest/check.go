// Package baketest has checks that every bake.Communicator must pass; the
// docker-exec and SSH communicators run them against real machines.
package baketest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bakehq/bake/bake"
)

// CheckCommunicator runs the contract of bake.Communicator against c. dir
// is a fresh remote directory the checks may write in (it must exist).
func CheckCommunicator(t *testing.T, c bake.Communicator, dir string) {
	ctx := context.Background()
	run := func(t *testing.T, cmd *bake.RemoteCmd) (int, string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		code, err := c.Run(ctx, cmd)
		if err != nil {
			t.Fatalf("run %q: %v", cmd.Command, err)
		}
		return code, out.String(), errb.String()
	}
	t.Run("exit code and streams", func(t *testing.T) {
		code, out, errs := run(t, &bake.RemoteCmd{Command: "echo out; echo err >&2; exit 3"})
		if code != 3 || out != "out\n" || errs != "err\n" {
			t.Errorf("code %d stdout %q stderr %q", code, out, errs)
		}
	})
	t.Run("environment", func(t *testing.T) {
		_, out, _ := run(t, &bake.RemoteCmd{Command: `printf '%s|%s' "$A" "$B"`, Env: map[string]string{"A": "x y", "B": "it's"}})
		if out != "x y|it's" {
			t.Errorf("env reached the command as %q", out)
		}
	})
	t.Run("stdin", func(t *testing.T) {
		_, out, _ := run(t, &bake.RemoteCmd{Command: "cat", Stdin: strings.NewReader("from stdin")})
		if out != "from stdin" {
			t.Errorf("stdin = %q", out)
		}
	})
	t.Run("upload and download a file", func(t *testing.T) {
		content := bytes.Repeat([]byte("bake\n"), 100000)
		dst := dir + "/up.txt"
		if err := c.Upload(ctx, dst, bytes.NewReader(content), bake.FileInfo{Mode: 0o640, Size: int64(len(content)), ModTime: time.Now()}); err != nil {
			t.Fatal(err)
		}
		_, out, _ := run(t, &bake.RemoteCmd{Command: "stat -c %a " + dst + "; sha256sum " + dst})
		sum := sha256.Sum256(content)
		if !strings.HasPrefix(out, "640\n") || !strings.Contains(out, fmt.Sprintf("%x", sum)) {
			t.Errorf("uploaded file: %q", out)
		}
		var back bytes.Buffer
		if err := c.Download(ctx, dst, &back); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(back.Bytes(), content) {
			t.Errorf("downloaded %d bytes, uploaded %d", back.Len(), len(content))
		}
	})
	t.Run("a cut upload leaves nothing under the name", func(t *testing.T) {
		dst := dir + "/cut.bin"
		r := io.MultiReader(strings.NewReader("only part"), errReader{})
		err := c.Upload(ctx, dst, r, bake.FileInfo{Mode: 0o644, Size: 1 << 20, ModTime: time.Now()})
		if err == nil {
			t.Fatal("a failed read did not fail the upload")
		}
		code, out, _ := run(t, &bake.RemoteCmd{Command: "ls -A " + dir + " | grep cut; test ! -e " + dst})
		if code != 0 {
			t.Errorf("a partial file was left under %s: %q", dst, out)
		}
	})
	t.Run("upload a tree", func(t *testing.T) {
		local := t.TempDir()
		must(t, os.MkdirAll(filepath.Join(local, "a", "b"), 0o750))
		must(t, os.WriteFile(filepath.Join(local, "top.txt"), []byte("top"), 0o600))
		must(t, os.WriteFile(filepath.Join(local, "a", "b", "deep.sh"), []byte("#!/bin/sh\n"), 0o755))
		dst := dir + "/tree"
		if err := bake.UploadDir(ctx, c, dst, local); err != nil {
			t.Fatal(err)
		}
		_, out, _ := run(t, &bake.RemoteCmd{Command: "cd " + dst + " && find . -printf '%p %m\\n' | sort && cat top.txt"})
		for _, w := range []string{"./a 750", "./a/b/deep.sh 755", "./top.txt 600", "top"} {
			if !strings.Contains(out, w) {
				t.Errorf("tree lacks %q:\n%s", w, out)
			}
		}
	})
	t.Run("cancel stops a command", func(t *testing.T) {
		cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.Run(cctx, &bake.RemoteCmd{Command: "sleep 30"})
		if err == nil || !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "deadline") {
			t.Errorf("err = %v", err)
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("cancel took %s", took)
		}
	})
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk went away") }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
