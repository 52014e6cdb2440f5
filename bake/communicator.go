package bake

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"time"
)

// RemoteCmd is a command to run on the machine being baked.
type RemoteCmd struct {
	// Command is a shell command line, run by /bin/sh -c on the machine.
	Command string
	// Env is extra environment for the command.
	Env map[string]string
	// Stdin, Stdout and Stderr are streamed; nil means none / discard.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// PTY asks for a terminal; only when a step asks for it.
	PTY bool
}

// FileInfo describes a file being uploaded.
type FileInfo struct {
	Mode    fs.FileMode
	Size    int64
	ModTime time.Time
}

// Communicator runs commands and moves files on the machine being baked.
// It is all a builder has to give the provisioners; docker exec and SSH
// implement it.
type Communicator interface {
	// Run runs cmd and returns its exit status. err is non-nil only when the
	// command could not be run or its status could not be read; a command
	// that ran and failed returns its non-zero exit code and a nil error.
	Run(ctx context.Context, cmd *RemoteCmd) (exitCode int, err error)
	// Upload writes the Size bytes of r to the file dst, with fi's mode.
	// dst's directory must exist. A failed upload leaves no partial file
	// under dst.
	Upload(ctx context.Context, dst string, r io.Reader, fi FileInfo) error
	// Download copies the file src to w.
	Download(ctx context.Context, src string, w io.Writer) error
}

// DirUploader is implemented by communicators that upload a whole tree in
// one go (docker's tar stream, sftp's concurrent writes). UploadDir puts
// the contents of the local directory src into the remote directory dst,
// creating it, keeping modes.
type DirUploader interface {
	UploadDir(ctx context.Context, dst, src string) error
}

// Reconnector is implemented by communicators whose connection can drop
// when the machine reboots (SSH). Reconnect waits for the machine to come
// back.
type Reconnector interface {
	Reconnect(ctx context.Context) error
}

// UploadDir uploads the local directory src to dst on c: with c's own
// UploadDir when it has one, else file by file.
func UploadDir(ctx context.Context, c Communicator, dst, src string) error {
	if du, ok := c.(DirUploader); ok {
		return du.UploadDir(ctx, dst, src)
	}
	return WalkTree(src, func(p, rel string, info fs.FileInfo) error {
		target := path.Join(dst, rel)
		if info.IsDir() {
			return RunChecked(ctx, c, fmt.Sprintf("mkdir -p %s && chmod %o %s", ShellQuote(target), info.Mode().Perm(), ShellQuote(target)), nil)
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return c.Upload(ctx, target, f, FileInfo{Mode: info.Mode(), Size: info.Size(), ModTime: info.ModTime()})
	})
}

// RunChecked runs command on c and turns a non-zero exit into a *RunError
// that carries the tail of its output. out, when not nil, also receives
// the output as it streams.
func RunChecked(ctx context.Context, c Communicator, command string, out io.Writer) error {
	tail := NewTail(TailBytes)
	var w io.Writer = tail
	if out != nil {
		w = io.MultiWriter(tail, out)
	}
	code, err := c.Run(ctx, &RemoteCmd{Command: command, Stdout: w, Stderr: w})
	if err != nil {
		return fmt.Errorf("run %q: %w", command, err)
	}
	if code != 0 {
		return &RunError{Command: command, ExitCode: code, Output: tail.String()}
	}
	return nil
}
