// Package checksum is Packer's checksum post-processor: a checksum file
// per type for the artifact's files (export_path's tarball); an artifact
// without files (an image, an AMI) gets none, which it says.
package checksum

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

	"github.com/bakehq/bake/bake"
	dockerbuilder "github.com/bakehq/bake/builders/docker"
)

// DefaultOutput is Packer's.
const DefaultOutput = "packer_{{.BuildName}}_{{.BuilderType}}_{{.ChecksumType}}.checksum"

var spec = hcldec.ObjectSpec{
	"checksum_types": &hcldec.AttrSpec{Name: "checksum_types", Type: cty.List(cty.String)},
	"output":         &hcldec.AttrSpec{Name: "output", Type: cty.String},
}

var hashes = map[string]func() hash.Hash{
	"md5": md5.New, "sha1": sha1.New, "sha224": sha256.New224, "sha256": sha256.New,
	"sha384": sha512.New384, "sha512": sha512.New,
}

// Config is `post-processor "checksum"`.
type Config struct {
	Types  []string
	Output string
	name   string
}

// New decodes a checksum block.
func New(dc bake.DecodeContext) (bake.PostProcessor, hcl.Diagnostics) {
	v, diags := hcldec.Decode(dc.Body, spec, dc.Eval)
	if diags.HasErrors() {
		return nil, diags
	}
	c := &Config{Output: DefaultOutput}
	if a := v.GetAttr("output"); !a.IsNull() && a.IsKnown() {
		c.Output = a.AsString()
	}
	if a := v.GetAttr("checksum_types"); !a.IsNull() && a.IsWhollyKnown() {
		for it := a.ElementIterator(); it.Next(); {
			_, e := it.Element()
			t := e.AsString()
			if hashes[t] == nil {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown checksum type",
					Detail: fmt.Sprintf("checksum type %q is not one of md5, sha1, sha224, sha256, sha384, sha512", t), Subject: dc.Range.Ptr()})
			}
			c.Types = append(c.Types, t)
		}
	}
	if len(c.Types) == 0 {
		c.Types = []string{"md5"}
	}
	if src, ok := dc.Eval.Variables["source"]; ok && src.Type().IsObjectType() && src.Type().HasAttribute("name") {
		c.name = src.GetAttr("name").AsString()
	}
	return c, diags
}

var tmpl = regexp.MustCompile(`\{\{\s*\.(BuildName|BuilderType|ChecksumType)\s*\}\}`)

// PostProcess appends "HASH\tFILE" lines for each file to each type's
// output file, and passes the artifact on.
func (c *Config) PostProcess(ctx context.Context, a *bake.Artifact, log bake.Log) (*bake.Artifact, error) {
	files := strings.Fields(a.Extra[dockerbuilder.ExtraFiles])
	if len(files) == 0 {
		log.Info(fmt.Sprintf("checksum: the %s artifact %s has no files, so there is nothing to checksum", a.BuilderType, a.String()))
		return a, nil
	}
	name := c.name
	if name == "" {
		name = a.Name[strings.LastIndex(a.Name, ".")+1:]
	}
	for _, t := range c.Types {
		out := tmpl.ReplaceAllStringFunc(c.Output, func(m string) string {
			switch strings.Trim(m, "{} .") {
			case "BuildName":
				return name
			case "BuilderType":
				return a.BuilderType
			}
			return t
		})
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return nil, fmt.Errorf("checksum: %w", err)
		}
		w, err := os.OpenFile(out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, fmt.Errorf("checksum: %w", err)
		}
		for _, f := range files {
			h := hashes[t]()
			r, err := os.Open(f)
			if err != nil {
				w.Close()
				return nil, fmt.Errorf("checksum: %w", err)
			}
			_, err = io.Copy(h, r)
			r.Close()
			if err != nil {
				w.Close()
				return nil, fmt.Errorf("checksum %s: %w", f, err)
			}
			fmt.Fprintf(w, "%x\t%s\n", h.Sum(nil), filepath.Base(f))
		}
		if err := w.Close(); err != nil {
			return nil, fmt.Errorf("checksum: %w", err)
		}
		log.Info("wrote " + out)
	}
	return a, nil
}
