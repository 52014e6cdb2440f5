// Package file is the file provisioner: upload a file, a directory tree
// or literal content, or download a file, with Packer's fields.
package file

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"github.com/bakehq/bake/bake"
)

// Config is a `provisioner "file"` block.
type Config struct {
	Source      string   `hcl:"source,optional"`
	Sources     []string `hcl:"sources,optional"`
	Content     *string  `hcl:"content,optional"`
	Destination string   `hcl:"destination"`
	Direction   string   `hcl:"direction,optional"`
	Generated   bool     `hcl:"generated,optional"`
	Mode        string   `hcl:"mode,optional"` // bake: octal mode for content

	dir  string
	mode os.FileMode
}

// Provisioner moves files.
type Provisioner struct{ cfg *Config }

// New decodes a file provisioner block.
func New(dc bake.DecodeContext) (bake.Provisioner, hcl.Diagnostics) {
	var c Config
	diags := gohcl.DecodeBody(dc.Body, dc.Eval, &c)
	if diags.HasErrors() {
		return nil, diags
	}
	c.dir = dc.Dir
	bad := func(msg string) {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid file provisioner", Detail: msg, Subject: dc.Range.Ptr()})
	}
	n := 0
	for _, set := range []bool{c.Source != "", len(c.Sources) > 0, c.Content != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		bad("set exactly one of source, sources or content")
	}
	switch c.Direction {
	case "", "upload":
		c.Direction = "upload"
	case "download":
		if len(c.Sources) > 1 && !strings.HasSuffix(c.Destination, "/") {
			bad("direction = \"download\" with several sources needs a destination folder ending in /, as in Packer")
		}
	default:
		bad(fmt.Sprintf("direction %q: write upload or download", c.Direction))
	}
	c.mode = 0o644
	if c.Mode != "" {
		var m uint32
		if _, err := fmt.Sscanf(c.Mode, "%o", &m); err != nil {
			bad(fmt.Sprintf("mode %q: write an octal mode like \"0644\"", c.Mode))
		}
		c.mode = os.FileMode(m)
	}
	if c.Direction == "upload" && !c.Generated {
		for _, s := range c.local() {
			if _, err := os.Stat(strings.TrimSuffix(s, "/")); err != nil {
				bad(fmt.Sprintf("source %s: %v", s, err))
			}
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return &Provisioner{cfg: &c}, diags
}

// local lists the local sources, relative to the bake file's directory.
func (c *Config) local() []string {
	var out []string
	if c.Source != "" {
		out = append(out, c.Source)
	}
	out = append(out, c.Sources...)
	for i, s := range out {
		if !filepath.IsAbs(s) {
			trail := strings.HasSuffix(s, "/")
			out[i] = filepath.Join(c.dir, s)
			if trail {
				out[i] += "/"
			}
		}
	}
	return out
}

// Fingerprint adds the content of what is uploaded.
func (p *Provisioner) Fingerprint(h bake.FingerprintWriter) error {
	if p.cfg.Direction != "upload" {
		return nil
	}
	for _, s := range p.cfg.local() {
		if err := h.AddFile("source", strings.TrimSuffix(s, "/")); err != nil {
			return err
		}
	}
	return nil
}

// Provision moves the files.
func (p *Provisioner) Provision(ctx context.Context, t *bake.Target) error {
	c := p.cfg
	if c.Direction == "download" {
		return p.download(ctx, t)
	}
	if c.Content != nil {
		dst := c.Destination
		if err := mkdirFor(ctx, t, dst); err != nil {
			return err
		}
		t.Log.Info(fmt.Sprintf("writing %d bytes to %s", len(*c.Content), dst))
		return t.Comm.Upload(ctx, dst, strings.NewReader(*c.Content), bake.FileInfo{Mode: c.mode, Size: int64(len(*c.Content)), ModTime: time.Now()})
	}
	srcs := c.local()
	for _, src := range srcs {
		if err := p.upload(ctx, t, src, len(srcs) > 1); err != nil {
			return err
		}
	}
	return nil
}

// upload follows Packer: a directory with a trailing slash puts its
// contents into destination, without one the directory itself; a file
// goes to destination, or into it when destination ends in "/" (or when
// there are several sources).
func (p *Provisioner) upload(ctx context.Context, t *bake.Target, src string, many bool) error {
	dst := p.cfg.Destination
	st, err := os.Stat(strings.TrimSuffix(src, "/"))
	if err != nil {
		return bake.BadInputf("file provisioner: source %s: %w", src, err)
	}
	if st.IsDir() {
		if !strings.HasSuffix(src, "/") {
			dst = path.Join(dst, filepath.Base(src))
		}
		t.Log.Info(fmt.Sprintf("uploading directory %s to %s", src, dst))
		return bake.UploadDir(ctx, t.Comm, dst, strings.TrimSuffix(src, "/"))
	}
	if strings.HasSuffix(dst, "/") || many {
		dst = path.Join(dst, filepath.Base(src))
	}
	if err := mkdirFor(ctx, t, dst); err != nil {
		return err
	}
	f, err := os.Open(src)
	if err != nil {
		return bake.BadInputf("file provisioner: %w", err)
	}
	defer f.Close()
	t.Log.Info(fmt.Sprintf("uploading %s (%d bytes) to %s", src, st.Size(), dst))
	return t.Comm.Upload(ctx, dst, f, bake.FileInfo{Mode: st.Mode(), Size: st.Size(), ModTime: st.ModTime()})
}

func mkdirFor(ctx context.Context, t *bake.Target, dst string) error {
	dir := path.Dir(dst)
	if dir == "/" || dir == "." || dir == "/tmp" {
		return nil
	}
	return bake.RunChecked(ctx, t.Comm, "mkdir -p "+bake.ShellQuote(dir), nil)
}

func (p *Provisioner) download(ctx context.Context, t *bake.Target) error {
	c := p.cfg
	remote := c.Sources
	if c.Source != "" {
		remote = []string{c.Source}
	}
	for _, src := range remote {
		if err := p.downloadOne(ctx, t, src); err != nil {
			return err
		}
	}
	return nil
}

// downloadOne fetches the remote file src into the destination (a folder
// when it ends in /), through a temporary file so a failed download
// leaves nothing half-written.
func (p *Provisioner) downloadOne(ctx context.Context, t *bake.Target, src string) error {
	c := p.cfg
	dst := c.Destination
	if !filepath.IsAbs(dst) {
		dst = filepath.Join(c.dir, dst)
	}
	if strings.HasSuffix(c.Destination, "/") {
		dst = filepath.Join(dst, path.Base(src))
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".bake-download-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := t.Comm.Download(ctx, src, tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("download %s: %w", src, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	t.Log.Info(fmt.Sprintf("downloaded %s to %s", src, dst))
	return os.Rename(tmp.Name(), dst)
}
