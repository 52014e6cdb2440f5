package config

import (
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"github.com/bakehq/bake/bake"
)

// VerifyBlock is a build's `verify` block, bake's extension to Packer's
// format: checks run against the artifact booted as it will run, before
// it is published. Its body is decoded per job (Spec), where bake.version
// is known.
type VerifyBlock struct {
	Body   hcl.Body
	Range  hcl.Range
	Common Common // only and except
}

var verifyCommon = []hcl.AttributeSchema{{Name: "only"}, {Name: "except"}}

var verifySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "inline"}, {Name: "timeout"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "http"}},
}

var httpCheckSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "port", Required: true}, {Name: "path"}, {Name: "status"}, {Name: "contains"}},
}

func decodeVerifyBlock(b *hcl.Block) (*VerifyBlock, hcl.Diagnostics) {
	content, rest, diags := b.Body.PartialContent(&hcl.BodySchema{Attributes: verifyCommon})
	v := &VerifyBlock{Body: rest, Range: b.DefRange}
	return v, append(diags, v.Common.decode(content.Attributes, nil)...)
}

// Spec decodes the block with ctx (variables, locals, bake.version) and
// checks its values; errors name file:line.
func (v *VerifyBlock) Spec(ctx *hcl.EvalContext) (*bake.VerifySpec, hcl.Diagnostics) {
	content, diags := v.Body.Content(verifySchema)
	spec := &bake.VerifySpec{}
	if a, ok := content.Attributes["inline"]; ok {
		d := gohcl.DecodeExpression(a.Expr, ctx, &spec.Inline)
		diags = append(diags, d...)
		for i, c := range spec.Inline {
			if strings.TrimSpace(c) == "" {
				diags = append(diags, errorf(a.Expr.Range().Ptr(), "Empty verify command",
					"inline[%d] is empty: give a shell command that exits 0 when the artifact is right, or remove it", i))
			}
		}
	}
	if a, ok := content.Attributes["timeout"]; ok {
		var s string
		d := gohcl.DecodeExpression(a.Expr, ctx, &s)
		diags = append(diags, d...)
		if !d.HasErrors() {
			dur, err := time.ParseDuration(s)
			switch {
			case err != nil:
				diags = append(diags, errorf(a.Expr.Range().Ptr(), "Invalid duration", "timeout = %q: write a duration like 30s or 2m", s))
			case dur <= 0:
				diags = append(diags, errorf(a.Expr.Range().Ptr(), "Invalid duration", "timeout = %q: the verification needs a positive time, like 2m", s))
			default:
				spec.Timeout = dur
			}
		}
	}
	for _, blk := range content.Blocks {
		h, d := decodeHTTPCheck(blk, ctx)
		diags = append(diags, d...)
		if h != nil {
			spec.HTTP = append(spec.HTTP, *h)
		}
	}
	if len(spec.Inline) == 0 && len(spec.HTTP) == 0 && !diags.HasErrors() {
		diags = append(diags, errorf(v.Range.Ptr(), "Empty verify block",
			"give inline = [\"COMMAND\", ...] or an http { port = 80 } block, or remove the verify block"))
	}
	return spec, diags
}

func decodeHTTPCheck(b *hcl.Block, ctx *hcl.EvalContext) (*bake.HTTPCheck, hcl.Diagnostics) {
	content, diags := b.Body.Content(httpCheckSchema)
	if diags.HasErrors() {
		return nil, diags
	}
	h := &bake.HTTPCheck{}
	for name, a := range content.Attributes {
		rng := a.Expr.Range().Ptr()
		switch name {
		case "port":
			d := gohcl.DecodeExpression(a.Expr, ctx, &h.Port)
			diags = append(diags, d...)
			if !d.HasErrors() && (h.Port < 1 || h.Port > 65535) {
				diags = append(diags, errorf(rng, "Invalid port", "port = %d: give the artifact's TCP port, 1 to 65535", h.Port))
			}
		case "path":
			d := gohcl.DecodeExpression(a.Expr, ctx, &h.Path)
			diags = append(diags, d...)
			if !d.HasErrors() && !strings.HasPrefix(h.Path, "/") {
				diags = append(diags, errorf(rng, "Invalid path", "path = %q: write the URL path from its first slash, e.g. \"/healthz\"", h.Path))
			}
		case "status":
			d := gohcl.DecodeExpression(a.Expr, ctx, &h.Status)
			diags = append(diags, d...)
			if !d.HasErrors() && (h.Status < 100 || h.Status > 599) {
				diags = append(diags, errorf(rng, "Invalid status", "status = %d: give an HTTP status, 100 to 599", h.Status))
			}
		case "contains":
			diags = append(diags, gohcl.DecodeExpression(a.Expr, ctx, &h.Contains)...)
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return h, diags
}
