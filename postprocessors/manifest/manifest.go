// Package manifest is the manifest post-processor: it records the
// artifact in a JSON file, in Packer's format plus bake's lineage.
package manifest

import (
	"context"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"github.com/bakehq/bake/bake"
)

// DefaultOutput is where the manifest goes when output is not set.
const DefaultOutput = "bake-manifest.json"

// Config is `post-processor "manifest"`.
type Config struct {
	Output     string            `hcl:"output,optional"`
	StripPath  bool              `hcl:"strip_path,optional"`
	StripTime  bool              `hcl:"strip_time,optional"`
	CustomData map[string]string `hcl:"custom_data,optional"`
}

// New decodes a manifest block.
func New(dc bake.DecodeContext) (bake.PostProcessor, hcl.Diagnostics) {
	var c Config
	diags := gohcl.DecodeBody(dc.Body, dc.Eval, &c)
	if c.Output == "" {
		c.Output = DefaultOutput
	}
	return &c, diags
}

// PostProcess appends the artifact's entry to the manifest file.
func (c *Config) PostProcess(ctx context.Context, a *bake.Artifact, log bake.Log) (*bake.Artifact, error) {
	e := a.Entry(c.CustomData)
	if c.StripTime {
		e.BuildTime = 0
	}
	if err := bake.AppendManifest(filepath.Clean(c.Output), e); err != nil {
		return nil, err
	}
	log.Info("recorded in " + c.Output)
	return a, nil
}
