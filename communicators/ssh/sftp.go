package ssh

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/bakehq/bake/bake"
	"github.com/pkg/sftp"
)

// sftpClient returns the connection's SFTP session, opening it on first use.
func (c *Comm) sftpClient() (*sftp.Client, error) {
	cn, err := c.current()
	if err != nil {
		return nil, err
	}
	cn.sftpOnce.Do(func() {
		cn.sftp, cn.sftpErr = sftp.NewClient(cn.client,
			sftp.UseConcurrentWrites(true),
			sftp.UseConcurrentReads(true),
			sftp.MaxConcurrentRequestsPerFile(c.s.uploadConcurrency),
		)
		if cn.sftpErr != nil {
			cn.sftpErr = c.lost("start the sftp subsystem (is \"Subsystem sftp\" enabled in sshd_config?)", cn.sftpErr)
		}
	})
	return cn.sftp, cn.sftpErr
}

// fileMode is what of a local mode SFTP can set: permissions, setuid,
// setgid, sticky.
func fileMode(m fs.FileMode) fs.FileMode {
	return m & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}

// Upload streams r to dst over SFTP with concurrent write requests. The
// bytes go to a temporary file next to dst (private while written), which
// gets fi's mode, the owner of the file it replaces (when the login may
// set it) and fi's time, and is then renamed over dst in one step. A
// failed upload removes the temporary file when the connection still
// allows it and never leaves a partial file under dst.
func (c *Comm) Upload(ctx context.Context, dst string, r io.Reader, fi bake.FileInfo) error {
	dst = homeRelative(dst)
	cl, err := c.sftpClient()
	if err != nil {
		return fmt.Errorf("upload %s: %w", dst, err)
	}
	if err := c.upload(ctx, cl, dst, r, fi); err != nil {
		return fmt.Errorf("upload %s: %w", dst, err)
	}
	return nil
}

func (c *Comm) upload(ctx context.Context, cl *sftp.Client, dst string, r io.Reader, fi bake.FileInfo) (err error) {
	dir, base := path.Split(dst)
	if base == "" {
		return bake.BadInputf("destination %q names a directory, not a file", dst)
	}
	tmp := path.Join(dir, "."+base+".bake-"+randomHex(6)+".tmp")
	f, err := cl.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return c.sftpErr("create temporary file "+tmp, err)
	}
	committed := false
	defer func() {
		if committed {
			return
		}
		_ = f.Close() // the upload failed already; that error is the one to show
		if rmErr := cl.Remove(tmp); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) {
			err = fmt.Errorf("%w (and removing the temporary file %s failed: %v)", err, tmp, rmErr)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return c.sftpErr("chmod "+tmp, err)
	}
	src := io.Reader(&ctxReader{ctx: ctx, r: r})
	if fi.Size >= 0 {
		src = io.LimitReader(src, fi.Size)
	}
	n, err := f.ReadFromWithConcurrency(src, c.s.uploadConcurrency)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return c.sftpErr(fmt.Sprintf("write %s (after %d bytes)", tmp, n), err)
	}
	if fi.Size >= 0 && n != fi.Size {
		return fmt.Errorf("the source gave %d of %d bytes", n, fi.Size)
	}
	if err := f.Close(); err != nil {
		return c.sftpErr("close "+tmp, err)
	}
	if old, err := cl.Stat(dst); err == nil {
		if st, ok := old.Sys().(*sftp.FileStat); ok {
			// Keeping the owner works as root or when it is already the
			// login; otherwise the new file belongs to the login.
			_ = cl.Chown(tmp, int(st.UID), int(st.GID))
		}
	}
	if err := cl.Chmod(tmp, fileMode(fi.Mode)); err != nil {
		return c.sftpErr("chmod "+tmp, err)
	}
	if !fi.ModTime.IsZero() {
		if err := cl.Chtimes(tmp, fi.ModTime, fi.ModTime); err != nil {
			return c.sftpErr("set the time of "+tmp, err)
		}
	}
	if err := c.rename(cl, tmp, dst); err != nil {
		return err
	}
	committed = true
	return nil
}

// rename moves tmp over dst atomically with OpenSSH's posix-rename, or
// by remove and rename on servers without it.
func (c *Comm) rename(cl *sftp.Client, tmp, dst string) error {
	if _, ok := cl.HasExtension("posix-rename@openssh.com"); ok {
		if err := cl.PosixRename(tmp, dst); err != nil {
			return c.sftpErr("rename "+tmp+" to "+dst, err)
		}
		return nil
	}
	if err := cl.Remove(dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return c.sftpErr("replace "+dst, err)
	}
	if err := cl.Rename(tmp, dst); err != nil {
		return c.sftpErr("rename "+tmp+" to "+dst, err)
	}
	return nil
}

// sftpErr names the action and marks a dropped connection.
func (c *Comm) sftpErr(action string, err error) error {
	var se *sftp.StatusError
	if errors.As(err, &se) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("%s: %w", action, err)
	}
	return c.lost(action, err)
}

// Download streams the remote file src to w with concurrent reads.
func (c *Comm) Download(ctx context.Context, src string, w io.Writer) error {
	src = homeRelative(src)
	cl, err := c.sftpClient()
	if err != nil {
		return fmt.Errorf("download %s: %w", src, err)
	}
	f, err := cl.Open(src)
	if err != nil {
		return fmt.Errorf("download %s: %w", src, c.sftpErr("open", err))
	}
	_, err = f.WriteTo(&ctxWriter{ctx: ctx, w: w})
	closeErr := f.Close()
	switch {
	case err != nil && ctx.Err() != nil:
		return fmt.Errorf("download %s: %w", src, ctx.Err())
	case err != nil:
		return fmt.Errorf("download %s: %w", src, c.sftpErr("read", err))
	case closeErr != nil:
		return fmt.Errorf("download %s: %w", src, c.sftpErr("close", closeErr))
	}
	return nil
}

// UploadDir puts the tree under the local directory src into dst,
// creating it: directories and files with their modes, symbolic links as
// links. Files go up DefaultDirConcurrency at a time, each the way Upload
// sends it. Directory modes are set last, so read-only ones do not stop
// their own files.
func (c *Comm) UploadDir(ctx context.Context, dst, src string) error {
	dst = homeRelative(dst)
	cl, err := c.sftpClient()
	if err != nil {
		return fmt.Errorf("upload directory %s to %s: %w", src, dst, err)
	}
	if err := c.uploadDir(ctx, cl, dst, src); err != nil {
		return fmt.Errorf("upload directory %s to %s: %w", src, dst, err)
	}
	return nil
}

type dirMode struct {
	path string
	mode fs.FileMode
}

func (c *Comm) uploadDir(ctx context.Context, cl *sftp.Client, dst, src string) error {
	if err := cl.MkdirAll(dst); err != nil {
		return c.sftpErr("create "+dst, err)
	}
	var dirs []dirMode
	type job struct {
		local, remote string
		info          fs.FileInfo
	}
	var files []job
	err := bake.WalkTree(src, func(p, rel string, info fs.FileInfo) error {
		remote := path.Join(dst, rel)
		switch {
		case info.IsDir():
			if rel != "." {
				if err := cl.Mkdir(remote); err != nil {
					if st, serr := cl.Stat(remote); serr != nil || !st.IsDir() {
						return c.sftpErr("create directory "+remote, err)
					}
				}
			}
			dirs = append(dirs, dirMode{remote, info.Mode()})
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := cl.Remove(remote); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return c.sftpErr("replace "+remote, err)
			}
			if err := cl.Symlink(target, remote); err != nil {
				return c.sftpErr("create symbolic link "+remote, err)
			}
		case info.Mode().IsRegular():
			files = append(files, job{p, remote, info})
		default:
			return fmt.Errorf("%s is a %s, not a file, directory or link: remove it from the tree", p, info.Mode().Type())
		}
		return nil
	})
	if err != nil {
		return err
	}

	var (
		mu   sync.Mutex
		errs []error
	)
	// The first failure stops the uploads not yet started.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bake.ForEach(ctx, len(files), c.s.dirConcurrency, func(i int) {
		j := files[i]
		if err := c.uploadLocal(ctx, cl, j.remote, j.local, j.info); err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
			cancel()
		}
	}, nil)
	if len(errs) > 0 {
		return errs[0]
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Deepest first, so that a read-only parent is closed last.
	sort.SliceStable(dirs, func(i, j int) bool {
		return strings.Count(dirs[i].path, "/") > strings.Count(dirs[j].path, "/")
	})
	for _, d := range dirs {
		if err := cl.Chmod(d.path, fileMode(d.mode)); err != nil {
			return c.sftpErr("chmod "+d.path, err)
		}
	}
	return nil
}

func (c *Comm) uploadLocal(ctx context.Context, cl *sftp.Client, remote, local string, info fs.FileInfo) error {
	f, err := os.Open(local)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := c.upload(ctx, cl, remote, f, bake.FileInfo{Mode: info.Mode(), Size: info.Size(), ModTime: info.ModTime()}); err != nil {
		return fmt.Errorf("upload %s: %w", remote, err)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b)
}

// ctxReader stops a transfer when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r *ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (w *ctxWriter) Write(p []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	return w.w.Write(p)
}

// homeRelative turns ~ and ~/path, which Packer templates use for the
// login user's home (its scp runs them through a shell), into paths
// relative to the SFTP session's start, the home directory.
func homeRelative(p string) string {
	switch {
	case p == "~" || p == "~/":
		return "."
	case strings.HasPrefix(p, "~/"):
		return strings.TrimPrefix(p, "~/")
	}
	return p
}
