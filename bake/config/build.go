package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
)

// Common are the fields every provisioner and post-processor block has,
// as in Packer.
type Common struct {
	Only              []string
	Except            []string
	PauseBefore       time.Duration
	Timeout           time.Duration
	MaxRetries        int
	KeepInputArtifact *bool
	// Cache is bake's step-cache setting (nil: auto).
	Cache *bool
	// Checkpoint saves the machine after the step, for --resume.
	Checkpoint bool
}

var buildSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "name"}, {Name: "description"}, {Name: "sources"}},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "source", LabelNames: []string{"ref"}},
		{Type: "provisioner", LabelNames: []string{"type"}},
		{Type: "post-processor", LabelNames: []string{"type"}},
		{Type: "post-processors"},
		{Type: "verify"},
	},
}

var provisionerCommon = []hcl.AttributeSchema{
	{Name: "only"}, {Name: "except"}, {Name: "pause_before"}, {Name: "timeout"}, {Name: "max_retries"}, {Name: "cache"}, {Name: "checkpoint"},
}

var postProcessorCommon = []hcl.AttributeSchema{
	{Name: "only"}, {Name: "except"}, {Name: "keep_input_artifact"},
}

func decodeBuild(b *hcl.Block, n int) (*Build, hcl.Diagnostics) {
	content, diags := b.Body.Content(buildSchema)
	bd := &Build{Range: b.DefRange}
	if a, ok := content.Attributes["name"]; ok {
		diags = append(diags, gohcl.DecodeExpression(a.Expr, nil, &bd.Name)...)
	}
	if a, ok := content.Attributes["description"]; ok {
		diags = append(diags, gohcl.DecodeExpression(a.Expr, nil, &bd.Description)...)
	}
	if a, ok := content.Attributes["sources"]; ok {
		var refs []string
		d := gohcl.DecodeExpression(a.Expr, nil, &refs)
		diags = append(diags, d...)
		for _, r := range refs {
			ref, ok := strings.CutPrefix(r, "source.")
			if !ok || strings.Count(ref, ".") != 1 {
				diags = append(diags, errorf(a.Expr.Range().Ptr(), "Invalid source reference", "%q: write \"source.TYPE.NAME\", e.g. \"source.docker.app\"", r))
				continue
			}
			bd.Sources = append(bd.Sources, SourceUse{Ref: ref, Name: strings.SplitN(ref, ".", 2)[1], Range: a.Expr.Range()})
		}
	}
	nProv, nPP := 0, 0
	for _, blk := range content.Blocks {
		switch blk.Type {
		case "source":
			use, d := decodeSourceUse(blk)
			diags = append(diags, d...)
			if use != nil {
				bd.Sources = append(bd.Sources, *use)
			}
		case "provisioner":
			nProv++
			p, d := decodePluginBlock(blk, "provisioner", nProv, provisionerCommon)
			diags = append(diags, d...)
			if p != nil {
				bd.Provisioners = append(bd.Provisioners, p)
			}
		case "post-processor":
			nPP++
			p, d := decodePluginBlock(blk, "post-processor", nPP, postProcessorCommon)
			diags = append(diags, d...)
			if p != nil {
				bd.PostProcessors = append(bd.PostProcessors, []*PluginBlock{p})
			}
		case "verify":
			if bd.Verify != nil {
				diags = append(diags, errorf(blk.DefRange.Ptr(), "Duplicate verify block",
					"a build has at most one verify block; the first is at %s: merge them", bd.Verify.Range))
				continue
			}
			v, d := decodeVerifyBlock(blk)
			diags = append(diags, d...)
			bd.Verify = v
		case "post-processors":
			inner, d := blk.Body.Content(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "post-processor", LabelNames: []string{"type"}}}})
			diags = append(diags, d...)
			var chain []*PluginBlock
			for _, ib := range inner.Blocks {
				nPP++
				p, d := decodePluginBlock(ib, "post-processor", nPP, postProcessorCommon)
				diags = append(diags, d...)
				if p != nil {
					chain = append(chain, p)
				}
			}
			if len(chain) > 0 {
				bd.PostProcessors = append(bd.PostProcessors, chain)
			}
		}
	}
	if len(bd.Sources) == 0 {
		diags = append(diags, errorf(b.DefRange.Ptr(), "Build has no sources", "add sources = [\"source.TYPE.NAME\"] to the build"))
	}
	if bd.Name == "" && n > 0 {
		bd.Name = fmt.Sprintf("build%d", n+1)
	}
	return bd, diags
}

func decodeSourceUse(b *hcl.Block) (*SourceUse, hcl.Diagnostics) {
	ref, ok := strings.CutPrefix(b.Labels[0], "source.")
	if !ok || strings.Count(ref, ".") != 1 {
		return nil, hcl.Diagnostics{errorf(b.LabelRanges[0].Ptr(), "Invalid source reference", "%q: write source \"source.TYPE.NAME\" { ... }", b.Labels[0])}
	}
	use := &SourceUse{Ref: ref, Name: strings.SplitN(ref, ".", 2)[1], Range: b.DefRange}
	attrs, diags := b.Body.JustAttributes()
	for name, a := range attrs {
		if name != "name" {
			diags = append(diags, errorf(a.Range.Ptr(), "Unsupported source override",
				"bake does not yet override %q of a source inside a build: set it in the source block, or use a variable", name))
			continue
		}
		diags = append(diags, gohcl.DecodeExpression(a.Expr, nil, &use.Name)...)
	}
	return use, diags
}

func decodePluginBlock(b *hcl.Block, kind string, index int, common []hcl.AttributeSchema) (*PluginBlock, hcl.Diagnostics) {
	content, rest, diags := b.Body.PartialContent(&hcl.BodySchema{Attributes: common})
	p := &PluginBlock{Kind: kind, Type: b.Labels[0], Index: index, Body: rest, Range: b.DefRange, TypeRange: b.LabelRanges[0]}
	return p, append(diags, p.Common.decode(content.Attributes)...)
}

// decode fills c from the common attributes of a block (those its
// schema admitted).
func (c *Common) decode(attrs hcl.Attributes) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for name, a := range attrs {
		switch name {
		case "only":
			diags = append(diags, gohcl.DecodeExpression(a.Expr, nil, &c.Only)...)
		case "except":
			diags = append(diags, gohcl.DecodeExpression(a.Expr, nil, &c.Except)...)
		case "max_retries":
			diags = append(diags, gohcl.DecodeExpression(a.Expr, nil, &c.MaxRetries)...)
		case "keep_input_artifact":
			var k bool
			diags = append(diags, gohcl.DecodeExpression(a.Expr, nil, &k)...)
			c.KeepInputArtifact = &k
		case "checkpoint":
			diags = append(diags, gohcl.DecodeExpression(a.Expr, nil, &c.Checkpoint)...)
		case "cache":
			var k bool
			diags = append(diags, gohcl.DecodeExpression(a.Expr, nil, &k)...)
			c.Cache = &k
		case "pause_before", "timeout":
			var s string
			d := gohcl.DecodeExpression(a.Expr, nil, &s)
			diags = append(diags, d...)
			if d.HasErrors() {
				continue
			}
			dur, err := time.ParseDuration(s)
			if err != nil {
				diags = append(diags, errorf(a.Expr.Range().Ptr(), "Invalid duration", "%s = %q: write a duration like 30s or 5m", name, s))
				continue
			}
			if name == "timeout" {
				c.Timeout = dur
			} else {
				c.PauseBefore = dur
			}
		}
	}
	return diags
}

// Applies reports whether a block with only/except runs for a source
// named ref (TYPE.NAME; "source." prefixes and the build name are
// accepted too).
func (c Common) Applies(buildName, ref string) bool {
	match := func(list []string) bool {
		for _, s := range list {
			s = strings.TrimPrefix(s, "source.")
			if s == ref || (buildName != "" && s == buildName+"."+ref) {
				return true
			}
		}
		return false
	}
	if len(c.Only) > 0 && !match(c.Only) {
		return false
	}
	return !match(c.Except)
}
