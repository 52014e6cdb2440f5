package packer

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/bakehq/bake/bake"
)

// comm is a bake.Communicator seen as a Packer communicator, for the
// plugin to call back into. Every call uses the provision's ctx, so that
// cancelling the step stops the commands the plugin started.
type comm struct {
	ctx  context.Context
	c    bake.Communicator
	mu   sync.Mutex
	last *bake.RunError // the last command that exited non-zero
}

var _ packersdk.Communicator = (*comm)(nil)

// Start runs cmd in the background, as Packer's communicators do: the
// plugin waits for SetExited. A command that could not be run at all
// exits with Packer's CmdDisconnect status after writing why to its
// stderr.
func (c *comm) Start(_ context.Context, cmd *packersdk.RemoteCmd) error {
	tail := bake.NewTail(bake.TailBytes)
	stdout, stderr := writers(cmd.Stdout, tail), writers(cmd.Stderr, tail)
	go func() {
		code, err := c.c.Run(c.ctx, &bake.RemoteCmd{Command: cmd.Command, Stdin: cmd.Stdin, Stdout: stdout, Stderr: stderr})
		if err != nil {
			fmt.Fprintf(stderr, "bake: run %q: %v\n", cmd.Command, err)
			code = packersdk.CmdDisconnect
		}
		if code != 0 {
			c.mu.Lock()
			c.last = &bake.RunError{Command: cmd.Command, ExitCode: code, Output: tail.String()}
			c.mu.Unlock()
		}
		cmd.SetExited(code)
	}()
	return nil
}

func writers(w io.Writer, tail io.Writer) io.Writer {
	if w == nil {
		return tail
	}
	return io.MultiWriter(w, tail)
}

// lastFailure is the last command that exited non-zero, if any.
func (c *comm) lastFailure() *bake.RunError {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// Upload writes r to dst. Without fi the size is unknown, so r is first
// spooled to a local temp file.
func (c *comm) Upload(dst string, r io.Reader, fi *os.FileInfo) error {
	info := bake.FileInfo{Mode: 0o644}
	if fi != nil && *fi != nil {
		info = bake.FileInfo{Mode: (*fi).Mode(), Size: (*fi).Size(), ModTime: (*fi).ModTime()}
		return c.c.Upload(c.ctx, dst, r, info)
	}
	f, err := os.CreateTemp("", "bake-packer-upload-")
	if err != nil {
		return fmt.Errorf("upload %s: spool: %w", dst, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	n, err := io.Copy(f, r)
	if err != nil {
		return fmt.Errorf("upload %s: spool: %w", dst, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("upload %s: %w", dst, err)
	}
	info.Size = n
	return c.c.Upload(c.ctx, dst, f, info)
}

// UploadDir follows Packer's rule: src with a trailing slash puts its
// contents into dst; without, src itself becomes dst/BASE(src).
func (c *comm) UploadDir(dst, src string, exclude []string) error {
	if len(exclude) > 0 {
		return fmt.Errorf("upload %s to %s: excluding files (%s) is not supported by bake's communicators", src, dst, strings.Join(exclude, ", "))
	}
	if !strings.HasSuffix(src, "/") && !strings.HasSuffix(src, string(filepath.Separator)) {
		dst = path.Join(dst, filepath.Base(src))
	}
	return bake.UploadDir(c.ctx, c.c, dst, src)
}

func (c *comm) Download(src string, w io.Writer) error {
	return c.c.Download(c.ctx, src, w)
}

// DownloadDir copies the remote tree src into the local directory dst,
// streamed as a tar by the machine's tar.
func (c *comm) DownloadDir(src, dst string, exclude []string) error {
	if len(exclude) > 0 {
		return fmt.Errorf("download %s to %s: excluding files (%s) is not supported by bake's communicators", src, dst, strings.Join(exclude, ", "))
	}
	pr, pw := io.Pipe()
	tail := bake.NewTail(bake.TailBytes)
	done := make(chan error, 1)
	go func() { done <- untar(pr, dst) }()
	command := "tar -C " + bake.ShellQuote(src) + " -cf - ."
	code, err := c.c.Run(c.ctx, &bake.RemoteCmd{Command: command, Stdout: pw, Stderr: tail})
	pw.CloseWithError(errors.Join(err, exitErr(code)))
	uerr := <-done
	switch {
	case err != nil:
		return fmt.Errorf("download %s: run %q: %w", src, command, err)
	case code != 0:
		return &bake.RunError{Command: command, ExitCode: code, Output: tail.String(), Hint: "the machine needs tar for a directory download"}
	case uerr != nil:
		return fmt.Errorf("download %s to %s: %w", src, dst, uerr)
	}
	return nil
}

func exitErr(code int) error {
	if code != 0 {
		return fmt.Errorf("tar exited with code %d", code)
	}
	return nil
}

// untar extracts r into dir, refusing entries that would land outside.
func untar(r io.Reader, dir string) error {
	defer io.Copy(io.Discard, r)
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		rel := filepath.FromSlash(path.Clean("/" + h.Name))[1:]
		target := filepath.Join(dir, rel)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, os.FileMode(h.Mode).Perm()|0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode).Perm())
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
	}
}
