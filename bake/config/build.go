package config

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/dynblock"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
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
		{Type: "hcp_packer_registry"},
	},
}

var provisionerCommon = []hcl.AttributeSchema{
	{Name: "only"}, {Name: "except"}, {Name: "pause_before"}, {Name: "timeout"}, {Name: "max_retries"}, {Name: "cache"}, {Name: "checkpoint"},
}

var postProcessorCommon = []hcl.AttributeSchema{
	{Name: "only"}, {Name: "except"}, {Name: "keep_input_artifact"},
}

func (c *Config) decodeBuild(b *hcl.Block, n int, ctx *hcl.EvalContext) (*Build, hcl.Diagnostics) {
	content, diags := dynblock.Expand(b.Body, ctx).Content(buildSchema)
	bd := &Build{Range: b.DefRange}
	if a, ok := content.Attributes["name"]; ok {
		diags = append(diags, decodeString(a.Expr, ctx, &bd.Name)...)
	}
	if a, ok := content.Attributes["description"]; ok {
		diags = append(diags, decodeString(a.Expr, ctx, &bd.Description)...)
	}
	if a, ok := content.Attributes["sources"]; ok {
		var refs []string
		d := gohcl.DecodeExpression(a.Expr, ctx, &refs)
		diags = append(diags, d...)
		for _, r := range refs {
			ref, ok := sourceRef(r)
			if !ok {
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
			use, d := c.decodeSourceUse(blk, ctx)
			diags = append(diags, d...)
			if use != nil {
				bd.Sources = append(bd.Sources, *use)
			}
		case "provisioner":
			nProv++
			p, d := decodePluginBlock(blk, "provisioner", nProv, provisionerCommon, ctx)
			diags = append(diags, d...)
			if p != nil {
				bd.Provisioners = append(bd.Provisioners, p)
			}
		case "post-processor":
			nPP++
			p, d := decodePluginBlock(blk, "post-processor", nPP, postProcessorCommon, ctx)
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
		case "hcp_packer_registry":
			if bd.Registry != nil {
				diags = append(diags, errorf(blk.DefRange.Ptr(), "Duplicate hcp_packer_registry block",
					"a build has at most one hcp_packer_registry block; the first is at %s", bd.Registry.Range))
				continue
			}
			r, d := decodeRegistry(blk, ctx)
			diags = append(diags, d...)
			bd.Registry = r
		case "post-processors":
			inner, d := blk.Body.Content(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "post-processor", LabelNames: []string{"type"}}}})
			diags = append(diags, d...)
			var chain []*PluginBlock
			for _, ib := range inner.Blocks {
				nPP++
				p, d := decodePluginBlock(ib, "post-processor", nPP, postProcessorCommon, ctx)
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
	if bd.Registry != nil && bd.Registry.BucketName == "" {
		bd.Registry.BucketName = bd.Name // Packer's default
	}
	return bd, diags
}

// sourceRef reads a build's reference to a source: source.TYPE.NAME, or
// TYPE.NAME, which Packer accepts too.
func sourceRef(s string) (string, bool) {
	ref := strings.TrimPrefix(s, "source.")
	if strings.Count(ref, ".") != 1 || strings.HasPrefix(ref, ".") || strings.HasSuffix(ref, ".") {
		return "", false
	}
	return ref, true
}

// decodeString decodes a string argument that may use var, local and
// data; a value unknown at validate (from an unread data source) is
// Packer's placeholder rather than an error.
func decodeString(e hcl.Expression, ctx *hcl.EvalContext, out *string) hcl.Diagnostics {
	v, diags := e.Value(ctx)
	if diags.HasErrors() {
		return diags
	}
	v, _ = v.UnmarkDeep()
	if !v.IsWhollyKnown() {
		*out = unknownString
		return nil
	}
	return gohcl.DecodeExpression(hcl.StaticExpr(v, e.Range()), nil, out)
}

// decodeSourceUse reads a build's source block: source "TYPE.NAME" { }
// names a source and may set its name and any argument the source block
// leaves unset (Packer refuses to set one twice).
func (c *Config) decodeSourceUse(b *hcl.Block, ctx *hcl.EvalContext) (*SourceUse, hcl.Diagnostics) {
	ref, ok := sourceRef(b.Labels[0])
	if !ok {
		return nil, hcl.Diagnostics{errorf(b.LabelRanges[0].Ptr(), "Invalid source reference", "%q: write source \"source.TYPE.NAME\" { ... }", b.Labels[0])}
	}
	use := &SourceUse{Ref: ref, Name: strings.SplitN(ref, ".", 2)[1], Range: b.DefRange}
	content, rest, diags := b.Body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "name"}}})
	if a, ok := content.Attributes["name"]; ok {
		diags = append(diags, decodeString(a.Expr, ctx, &use.Name)...)
	}
	var set []string // the arguments the block sets, besides name
	var rngs []hcl.Range
	if sb, ok := b.Body.(*hclsyntax.Body); ok {
		for _, a := range sortedSyntaxAttrs(sb.Attributes) {
			if a.Name != "name" {
				set, rngs = append(set, a.Name), append(rngs, a.NameRange)
			}
		}
		if len(set) == 0 && len(sb.Blocks) == 0 {
			return use, diags
		}
	} else {
		// A dynamic "source" block's expansion.
		attrs, _ := rest.JustAttributes()
		for _, a := range sortedAttrs(attrs) {
			set, rngs = append(set, a.Name), append(rngs, a.NameRange)
		}
	}
	use.Body = rest
	src, ok := c.Sources[ref]
	if !ok {
		return use, diags // reported by Jobs, once per use
	}
	top, ok := src.Body.(*hclsyntax.Body)
	if !ok {
		return use, diags
	}
	for i, name := range set {
		if prev, dup := top.Attributes[name]; dup {
			diags = append(diags, errorf(rngs[i].Ptr(), "Duplicate argument",
				"%q is already defined in source %q at %s: set it either in the source block or in the build's source block",
				name, src.Ref(), prev.NameRange))
		}
	}
	return use, diags
}

func sortedSyntaxAttrs(attrs hclsyntax.Attributes) []*hclsyntax.Attribute {
	out := make([]*hclsyntax.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SrcRange.Start.Byte < out[j].SrcRange.Start.Byte })
	return out
}

var registrySchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "bucket_name"}, {Name: "description"}, {Name: "bucket_labels"}, {Name: "build_labels"}, {Name: "labels"}, {Name: "channel"},
}}

// decodeRegistry reads an hcp_packer_registry block (labels is the
// older name of bucket_labels; channel, of early releases, is accepted
// and has no effect).
func decodeRegistry(b *hcl.Block, ctx *hcl.EvalContext) (*Registry, hcl.Diagnostics) {
	content, diags := b.Body.Content(registrySchema)
	r := &Registry{Range: b.DefRange}
	for _, name := range slices.Sorted(maps.Keys(content.Attributes)) {
		a := content.Attributes[name]
		switch name {
		case "bucket_name":
			diags = append(diags, decodeString(a.Expr, ctx, &r.BucketName)...)
		case "description":
			diags = append(diags, decodeString(a.Expr, ctx, &r.Description)...)
		case "bucket_labels", "labels":
			diags = append(diags, decodeLabels(a.Expr, ctx, &r.BucketLabels)...)
		case "build_labels":
			diags = append(diags, decodeLabels(a.Expr, ctx, &r.BuildLabels)...)
		}
	}
	return r, diags
}

func decodeLabels(e hcl.Expression, ctx *hcl.EvalContext, out *map[string]string) hcl.Diagnostics {
	v, diags := e.Value(ctx)
	if diags.HasErrors() {
		return diags
	}
	v, _ = v.UnmarkDeep()
	if v.IsNull() {
		return nil
	}
	if !v.IsWhollyKnown() || !v.CanIterateElements() {
		if v.IsWhollyKnown() {
			return hcl.Diagnostics{errorf(e.Range().Ptr(), "Invalid labels", "want a map of strings, e.g. { \"os\" = \"ubuntu\" }")}
		}
		return nil
	}
	m := map[string]string{}
	for it := v.ElementIterator(); it.Next(); {
		k, ev := it.Element()
		if k.Type() != cty.String {
			return hcl.Diagnostics{errorf(e.Range().Ptr(), "Invalid labels", "want a map of strings, e.g. { \"os\" = \"ubuntu\" }")}
		}
		s, err := convert.Convert(ev, cty.String)
		if err != nil || s.IsNull() || !s.IsKnown() {
			return hcl.Diagnostics{errorf(e.Range().Ptr(), "Invalid labels", "label %q: want a string", k.AsString())}
		}
		m[k.AsString()] = s.AsString()
	}
	*out = m
	return nil
}

func decodePluginBlock(b *hcl.Block, kind string, index int, common []hcl.AttributeSchema, ctx *hcl.EvalContext) (*PluginBlock, hcl.Diagnostics) {
	content, rest, diags := b.Body.PartialContent(&hcl.BodySchema{Attributes: common})
	p := &PluginBlock{Kind: kind, Type: b.Labels[0], Index: index, Body: rest, Range: b.DefRange, TypeRange: b.LabelRanges[0]}
	return p, append(diags, p.Common.decode(content.Attributes, ctx)...)
}

// decode fills c from the common attributes of a block (those its
// schema admitted).
func (c *Common) decode(attrs hcl.Attributes, ctx *hcl.EvalContext) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		a := attrs[name]
		if v, d := a.Expr.Value(ctx); !d.HasErrors() && v.IsNull() {
			continue // null is unset
		}
		switch name {
		case "only":
			diags = append(diags, gohcl.DecodeExpression(a.Expr, ctx, &c.Only)...)
		case "except":
			diags = append(diags, gohcl.DecodeExpression(a.Expr, ctx, &c.Except)...)
		case "max_retries":
			diags = append(diags, gohcl.DecodeExpression(a.Expr, ctx, &c.MaxRetries)...)
		case "keep_input_artifact":
			var k bool
			diags = append(diags, gohcl.DecodeExpression(a.Expr, ctx, &k)...)
			c.KeepInputArtifact = &k
		case "checkpoint":
			diags = append(diags, gohcl.DecodeExpression(a.Expr, ctx, &c.Checkpoint)...)
		case "cache":
			var k bool
			diags = append(diags, gohcl.DecodeExpression(a.Expr, ctx, &k)...)
			c.Cache = &k
		case "pause_before", "timeout":
			var s string
			d := gohcl.DecodeExpression(a.Expr, ctx, &s)
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
