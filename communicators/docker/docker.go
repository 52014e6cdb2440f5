// Package docker is a bake.Communicator that reaches a running container
// through the Docker Engine API: commands by exec, files as tar streams.
package docker

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"sync"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/bakehq/bake/bake"
)

// API is the part of the Docker Engine client the communicator uses;
// *client.Client implements it.
type API interface {
	ContainerExecCreate(ctx context.Context, containerID string, options container.ExecOptions) (container.ExecCreateResponse, error)
	ContainerExecAttach(ctx context.Context, execID string, config container.ExecAttachOptions) (types.HijackedResponse, error)
	ContainerExecInspect(ctx context.Context, execID string) (container.ExecInspect, error)
	CopyToContainer(ctx context.Context, containerID, dstPath string, content io.Reader, options container.CopyToContainerOptions) error
	CopyFromContainer(ctx context.Context, containerID, srcPath string) (io.ReadCloser, container.PathStat, error)
}

// Comm runs commands in one container.
type Comm struct {
	api       API
	container string
	user      string
	// fixOwner gives uploaded files to user (Packer's fix_upload_owner).
	fixOwner bool

	mu   sync.Mutex
	sess *session // nil until first used, or after it broke
	root *Comm    // the same container as root, for moving uploads
}

// Option configures a Comm.
type Option func(*Comm)

// FixUploadOwner gives uploaded files to the exec user (Packer's
// fix_upload_owner); without it they belong to root.
func FixUploadOwner() Option { return func(c *Comm) { c.fixOwner = true } }

// New returns a communicator for the running container id. user, when
// not empty, is the user commands run as (docker exec --user).
func New(api API, id, user string, opts ...Option) *Comm {
	c := &Comm{api: api, container: id, user: user}
	for _, o := range opts {
		o(c)
	}
	return c
}

// asRoot is the same container reached as root, for moving uploads into
// place whatever user commands run as.
func (c *Comm) asRoot() *Comm {
	if c.user == "" {
		return c
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.root == nil {
		c.root = &Comm{api: c.api, container: c.container, user: "0"}
	}
	return c.root
}

// Close ends the session shell (the container itself is the builder's).
func (c *Comm) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess != nil {
		c.sess.close()
		c.sess = nil
	}
	if c.root != nil {
		c.root.Close()
	}
	return nil
}

// session returns the session shell, starting one when there is none.
func (c *Comm) session(ctx context.Context) *session {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess != nil && c.sess.broken {
		c.sess.close()
		c.sess = nil
	}
	if c.sess == nil {
		s, err := newSession(ctx, c.api, c.container, c.user)
		if err != nil {
			return nil // exec will say what is wrong
		}
		c.sess = s
	}
	return c.sess
}

var _ bake.Communicator = (*Comm)(nil)
var _ bake.DirUploader = (*Comm)(nil)

// Run runs cmd through /bin/sh -c in the container.
func (c *Comm) Run(ctx context.Context, cmd *bake.RemoteCmd) (int, error) {
	if cmd.Stdin == nil && !cmd.PTY {
		if s := c.session(ctx); s != nil {
			if code, ok, err := s.run(ctx, cmd); ok {
				if err != nil {
					return -1, fmt.Errorf("run in container %s: %w", bake.ShortID(c.container), err)
				}
				return code, nil
			}
		}
	}
	opts := container.ExecOptions{
		User:         c.user,
		Cmd:          []string{"/bin/sh", "-c", cmd.Command},
		Env:          envList(cmd.Env),
		AttachStdout: true,
		AttachStderr: true,
		AttachStdin:  cmd.Stdin != nil,
		Tty:          cmd.PTY,
	}
	created, err := c.api.ContainerExecCreate(ctx, c.container, opts)
	if err != nil {
		return -1, fmt.Errorf("create exec in container %s: %w", bake.ShortID(c.container), err)
	}
	att, err := c.api.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{Tty: cmd.PTY})
	if err != nil {
		return -1, fmt.Errorf("attach to exec in container %s: %w", bake.ShortID(c.container), err)
	}
	defer att.Close()
	// The hijacked connection does not watch ctx: close it on cancel so
	// that a Ctrl-C does not wait for the command.
	stop := context.AfterFunc(ctx, func() { att.Close() })
	defer stop()

	if cmd.Stdin != nil {
		go func() {
			io.Copy(att.Conn, cmd.Stdin)
			att.CloseWrite()
		}()
	}
	stdout, stderr := orDiscard(cmd.Stdout), orDiscard(cmd.Stderr)
	if cmd.PTY {
		_, err = io.Copy(stdout, att.Reader)
	} else {
		_, err = stdcopy.StdCopy(stdout, stderr, att.Reader)
	}
	if ctx.Err() != nil {
		return -1, ctx.Err()
	}
	if err != nil {
		return -1, fmt.Errorf("read output of exec in container %s: %w", bake.ShortID(c.container), err)
	}
	insp, err := c.api.ContainerExecInspect(ctx, created.ID)
	if err != nil {
		return -1, fmt.Errorf("read exit code of exec in container %s: %w", bake.ShortID(c.container), err)
	}
	return insp.ExitCode, nil
}

// Upload streams r into dst as a one-file tar, under a temporary name
// that is renamed to dst once complete, so that a failed upload leaves
// nothing under dst.
func (c *Comm) Upload(ctx context.Context, dst string, r io.Reader, fi bake.FileInfo) error {
	dir, name := path.Split(dst)
	if dir == "" {
		dir = "."
	}
	tmp := ".bake-upload-" + name
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		hdr := &tar.Header{
			Name:    tmp,
			Mode:    int64(fi.Mode.Perm()),
			Size:    fi.Size,
			ModTime: fi.ModTime,
			Format:  tar.FormatPAX,
		}
		err := tw.WriteHeader(hdr)
		if err == nil {
			var n int64
			n, err = io.Copy(tw, r)
			if err == nil && n != fi.Size {
				err = fmt.Errorf("read %d bytes, expected %d", n, fi.Size)
			}
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	err := c.api.CopyToContainer(ctx, c.container, dir, pr, container.CopyToContainerOptions{})
	pr.Close()
	tmpPath := path.Join(dir, tmp)
	if err != nil {
		// The daemon may have written part of the temporary file.
		rmCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if rmErr := bake.RunChecked(rmCtx, c.asRoot(), "rm -f "+bake.ShellQuote(tmpPath), nil); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("remove partial upload %s: %w", tmpPath, rmErr))
		}
		return fmt.Errorf("upload %s to container %s: %w", dst, bake.ShortID(c.container), err)
	}
	mv := fmt.Sprintf("mv -f %s %s", bake.ShellQuote(tmpPath), bake.ShellQuote(dst))
	if c.fixOwner && c.user != "" {
		mv = fmt.Sprintf("chown %s %s && %s", bake.ShellQuote(c.user), bake.ShellQuote(tmpPath), mv)
	}
	if err := bake.RunChecked(ctx, c.asRoot(), mv, nil); err != nil {
		return fmt.Errorf("upload %s to container %s: %w", dst, bake.ShortID(c.container), err)
	}
	return nil
}

// UploadDir streams the tree under src into dst as one tar.
func (c *Comm) UploadDir(ctx context.Context, dst, src string) error {
	if err := bake.RunChecked(ctx, c.asRoot(), "mkdir -p "+bake.ShellQuote(dst), nil); err != nil {
		return fmt.Errorf("upload %s to container %s: %w", src, bake.ShortID(c.container), err)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeTree(pw, src)) }()
	err := c.api.CopyToContainer(ctx, c.container, dst, pr, container.CopyToContainerOptions{})
	pr.Close()
	if err != nil {
		return fmt.Errorf("upload %s to %s in container %s: %w", src, dst, bake.ShortID(c.container), err)
	}
	if c.fixOwner && c.user != "" {
		chown := fmt.Sprintf("chown -R %s %s", bake.ShellQuote(c.user), bake.ShellQuote(dst))
		if err := bake.RunChecked(ctx, c.asRoot(), chown, nil); err != nil {
			return fmt.Errorf("give %s to %s in container %s: %w", dst, c.user, bake.ShortID(c.container), err)
		}
	}
	return nil
}

// writeTree writes the tree under src as tar, names relative to src.
func writeTree(w io.Writer, src string) error {
	tw := tar.NewWriter(w)
	err := bake.WalkTree(src, func(p, rel string, info fs.FileInfo) error {
		if rel == "." {
			return nil
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			var err error
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = rel
		if info.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// Download copies the file src out of the container into w.
func (c *Comm) Download(ctx context.Context, src string, w io.Writer) error {
	rc, stat, err := c.api.CopyFromContainer(ctx, c.container, src)
	if err != nil {
		return fmt.Errorf("download %s from container %s: %w", src, bake.ShortID(c.container), err)
	}
	defer rc.Close()
	if stat.Mode.IsDir() {
		return fmt.Errorf("download %s from container %s: it is a directory", src, bake.ShortID(c.container))
	}
	tr := tar.NewReader(rc)
	if _, err := tr.Next(); err != nil {
		return fmt.Errorf("download %s from container %s: %w", src, bake.ShortID(c.container), err)
	}
	if _, err := io.Copy(w, tr); err != nil {
		return fmt.Errorf("download %s from container %s: %w", src, bake.ShortID(c.container), err)
	}
	return nil
}

func envList(env map[string]string) []string {
	if len(env) == 0 {
		return nil
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// cleanupTimeout bounds the removal of a partial upload.
const cleanupTimeout = 30 * time.Second
