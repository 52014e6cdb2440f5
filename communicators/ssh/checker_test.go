package ssh

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/bake/baketest"
)

type remoteCmd = bake.RemoteCmd

// checkComm is what every connected SSH communicator must do, whatever
// sshd it talks to. remoteDir is a fresh, empty remote directory; bigSize
// is the size of the big upload (1 GiB in the full run).
func checkComm(t *testing.T, c *Comm, remoteDir string, bigSize int64) {
	t.Run("communicator contract", func(t *testing.T) {
		dir := remoteDir + "/contract"
		mustRun(t, c, "mkdir "+dir)
		baketest.CheckCommunicator(t, c, dir)
	})
	t.Run("exit codes", func(t *testing.T) {
		for cmd, want := range map[string]int{"true": 0, "exit 3": 3, "false": 1, "kill -9 $$": 128 + 9} {
			if got, out := run(t, c, cmd); got != want {
				t.Errorf("%q exited %d, want %d (output %q)", cmd, got, want, out)
			}
		}
	})
	t.Run("stdout and stderr apart", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		code, err := c.Run(context.Background(), &remoteCmd{Command: "echo out; echo err >&2; printf x", Stdout: &stdout, Stderr: &stderr})
		if err != nil || code != 0 {
			t.Fatalf("run: %d %v", code, err)
		}
		if stdout.String() != "out\nx" || stderr.String() != "err\n" {
			t.Errorf("stdout %q stderr %q", stdout.String(), stderr.String())
		}
	})
	t.Run("output streams while the command runs", func(t *testing.T) {
		w := &firstWrite{}
		start := time.Now()
		code, err := c.Run(context.Background(), &remoteCmd{Command: "echo first; sleep 1; echo second", Stdout: w})
		end := time.Since(start)
		if err != nil || code != 0 {
			t.Fatalf("run: %d %v", code, err)
		}
		if first := w.at.Sub(start); first > end-700*time.Millisecond {
			t.Errorf("first line arrived after %s of %s: output is not streamed", first, end)
		}
	})
	t.Run("stdin", func(t *testing.T) {
		var out bytes.Buffer
		code, err := c.Run(context.Background(), &remoteCmd{Command: "tr a-z A-Z", Stdin: strings.NewReader("hello"), Stdout: &out})
		if err != nil || code != 0 || out.String() != "HELLO" {
			t.Errorf("got %d %v %q", code, err, out.String())
		}
	})
	t.Run("environment", func(t *testing.T) {
		var out bytes.Buffer
		env := map[string]string{"GREETING": "hello world", "QUOTED": `it's "$HOME" ; rm -rf /`, "EMPTY": ""}
		code, err := c.Run(context.Background(), &remoteCmd{Command: `printf '%s|%s|%s' "$GREETING" "$QUOTED" "${EMPTY-unset}"`, Env: env, Stdout: &out})
		if err != nil || code != 0 {
			t.Fatalf("run: %d %v", code, err)
		}
		if want := `hello world|it's "$HOME" ; rm -rf /|`; out.String() != want {
			t.Errorf("got %q, want %q", out.String(), want)
		}
	})
	t.Run("pty only when asked", func(t *testing.T) {
		if code, out := run(t, c, "tty"); code == 0 {
			t.Errorf("tty without PTY: exit 0, %q: a terminal was allocated unasked", out)
		}
		var out bytes.Buffer
		code, err := c.Run(context.Background(), &remoteCmd{Command: "tty", PTY: true, Stdout: &out})
		if err != nil || code != 0 || !strings.Contains(out.String(), "/dev/") {
			t.Errorf("tty with PTY: %d %v %q", code, err, out.String())
		}
	})
	t.Run("cancel kills the command", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.Run(ctx, &remoteCmd{Command: "sleep 30"})
		if err == nil || time.Since(start) > 10*time.Second {
			t.Errorf("got %v after %s, want a context error at once", err, time.Since(start))
		}
		mustRun(t, c, "true") // the connection survives
	})
	t.Run("upload a file, replacing one and keeping its owner", func(t *testing.T) {
		dst := remoteDir + "/file.sh"
		mustRun(t, c, "printf old > "+dst+" && chown 1234:2345 "+dst+" 2>/dev/null || true")
		owner := strings.TrimSpace(mustRun(t, c, "stat -c %u:%g "+dst))
		body := "#!/bin/sh\necho uploaded\n"
		mtime := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
		if err := c.Upload(context.Background(), dst, strings.NewReader(body), bake.FileInfo{Mode: 0o750, Size: int64(len(body)), ModTime: mtime}); err != nil {
			t.Fatal(err)
		}
		if got := mustRun(t, c, "stat -c '%a %u:%g %Y' "+dst+" && "+dst); got != "750 "+owner+" 1714979289\nuploaded\n" {
			t.Errorf("remote file: %q, want mode 750, owner %s, mtime and content", got, owner)
		}
		if left := mustRun(t, c, "ls -A "+remoteDir+" | grep bake- || true"); left != "" {
			t.Errorf("temporary files left: %q", left)
		}
		var down bytes.Buffer
		if err := c.Download(context.Background(), dst, &down); err != nil || down.String() != body {
			t.Errorf("download: %v %q", err, down.String())
		}
	})
	t.Run("upload refuses a short source", func(t *testing.T) {
		dst := remoteDir + "/short"
		err := c.Upload(context.Background(), dst, strings.NewReader("abc"), bake.FileInfo{Mode: 0o644, Size: 10})
		if err == nil || !strings.Contains(err.Error(), "3 of 10 bytes") {
			t.Errorf("got %v", err)
		}
		if code, _ := run(t, c, "test -e "+dst); code == 0 {
			t.Errorf("%s exists after a failed upload", dst)
		}
	})
	t.Run("upload a directory tree", func(t *testing.T) {
		src := t.TempDir()
		files := map[string]string{"a.txt": "a\n", "bin/run": "#!/bin/sh\n", "deep/er/still/z": strings.Repeat("z", 100_000), "empty": ""}
		for name, body := range files {
			p := filepath.Join(src, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			writeFile(t, p, []byte(body), 0o644)
		}
		for p, mode := range map[string]fs.FileMode{"bin/run": 0o755, "deep/er": 0o700, "bin": 0o750} {
			if err := os.Chmod(filepath.Join(src, p), mode); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink("a.txt", filepath.Join(src, "link")); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(filepath.Join(src, "many"), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range 50 { // enough files for the concurrent path
			writeFile(t, filepath.Join(src, "many", strings.Repeat("f", 1+i%5)+string(rune('a'+i%26))+strings.Repeat("x", i)), []byte(strings.Repeat("m", i*1000)), 0o640)
		}
		dst := remoteDir + "/tree"
		if err := c.UploadDir(context.Background(), dst, src); err != nil {
			t.Fatal(err)
		}
		got := mustRun(t, c, "cd "+dst+" && find . -printf '%p %M %l\\n' | sort && find . -type f | sort | xargs sha256sum")
		want := localListing(t, src)
		if got != want {
			t.Errorf("remote tree differs\n got:\n%s\nwant:\n%s", got, want)
		}
	})
	t.Run("upload and download a big file, checksum verified", func(t *testing.T) {
		if testing.Short() {
			bigSize = 64 << 20
		}
		dst := remoteDir + "/big"
		h := sha256.New()
		src := io.TeeReader(io.LimitReader(rand.NewChaCha8([32]byte{1, 2, 3}), bigSize), h)
		start := time.Now()
		if err := c.Upload(context.Background(), dst, src, bake.FileInfo{Mode: 0o600, Size: bigSize}); err != nil {
			t.Fatal(err)
		}
		up := time.Since(start)
		want := hex.EncodeToString(h.Sum(nil))
		got := mustRun(t, c, "sha256sum < "+dst+" | cut -d' ' -f1; stat -c %s "+dst)
		if got != want+"\n"+itoa(bigSize)+"\n" {
			t.Fatalf("remote big file: %q, want sha256 %s and size %d", got, want, bigSize)
		}
		dh := sha256.New()
		start = time.Now()
		if err := c.Download(context.Background(), dst, dh); err != nil {
			t.Fatal(err)
		}
		down := time.Since(start)
		if hex.EncodeToString(dh.Sum(nil)) != want {
			t.Errorf("downloaded big file differs")
		}
		mib := float64(bigSize) / (1 << 20)
		t.Logf("%d MiB: upload %s (%.0f MiB/s), download %s (%.0f MiB/s)", bigSize>>20, up.Round(time.Millisecond), mib/up.Seconds(), down.Round(time.Millisecond), mib/down.Seconds())
		mustRun(t, c, "rm -f "+dst)
	})
	t.Run("concurrent commands share the connection", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan string, 8)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var out bytes.Buffer
				code, err := c.Run(context.Background(), &remoteCmd{Command: "echo " + itoa(int64(i)), Stdout: &out})
				if err != nil || code != 0 || out.String() != itoa(int64(i))+"\n" {
					errs <- out.String()
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Errorf("concurrent run: %q", e)
		}
	})
}

// localListing is what the remote find | sort; sha256sum prints for the
// local tree src.
func localListing(t *testing.T, src string) string {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command("sh", "-c", "cd "+bake.ShellQuote(src)+" && find . -printf '%p %M %l\\n' | sort && find . -type f | sort | xargs sha256sum")
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

type firstWrite struct {
	mu sync.Mutex
	at time.Time
}

func (w *firstWrite) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.at.IsZero() {
		w.at = time.Now()
	}
	return len(p), nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
