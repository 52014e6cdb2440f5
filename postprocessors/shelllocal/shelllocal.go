// Package shelllocal is Packer's shell-local post-processor: the
// provisioner's commands (provisioners/shelllocal), run after the
// artifact is made; the artifact passes on unchanged.
package shelllocal

import (
	"context"

	"github.com/hashicorp/hcl/v2"

	"github.com/bakehq/bake/bake"
	sl "github.com/bakehq/bake/provisioners/shelllocal"
)

// PostProcessor is `post-processor "shell-local"`.
type PostProcessor struct{ cfg *sl.Config }

// New decodes a shell-local post-processor block.
func New(dc bake.DecodeContext) (bake.PostProcessor, hcl.Diagnostics) {
	c, diags := sl.Decode(dc, "post-processor")
	if diags.HasErrors() {
		return nil, diags
	}
	return &PostProcessor{cfg: c}, diags
}

// PostProcess runs the commands and passes a on.
func (p *PostProcessor) PostProcess(ctx context.Context, a *bake.Artifact, log bake.Log) (*bake.Artifact, error) {
	if err := p.cfg.Run(ctx, log); err != nil {
		return nil, err
	}
	return a, nil
}
