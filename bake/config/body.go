package config

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/dynblock"
	"github.com/zclconf/go-cty/cty"

	"github.com/bakehq/bake/bake"
)

// unknownString is what a string unknown at validate (it comes from a
// data source not read) reaches a plugin as: Packer's placeholder, which
// passes Packer's checks of names.
const unknownString = "74D93920-ED26-11E3-AC10-0800200C9A66"

// decodeContext is what a plugin decodes a block with: its dynamic
// blocks expanded, null arguments left out (null means unset, as in
// Packer), sensitive marks removed (bake redacts secrets by value), and
// at validate unknown values replaced by placeholders of their type.
func (c *Config) decodeContext(body hcl.Body, ctx *hcl.EvalContext, rng hcl.Range, name string) bake.DecodeContext {
	return bake.DecodeContext{
		Body: pluginBody{Body: dynblock.Expand(body, ctx), ctx: ctx, fill: c.placeholders},
		Eval: ctx, Dir: c.cwd, Root: c.Dir, Name: name, Range: rng,
	}
}

type pluginBody struct {
	hcl.Body
	ctx  *hcl.EvalContext
	fill bool
}

func (b pluginBody) Content(s *hcl.BodySchema) (*hcl.BodyContent, hcl.Diagnostics) {
	c, diags := b.Body.Content(s)
	return b.content(c), diags
}

func (b pluginBody) PartialContent(s *hcl.BodySchema) (*hcl.BodyContent, hcl.Body, hcl.Diagnostics) {
	c, rest, diags := b.Body.PartialContent(s)
	return b.content(c), pluginBody{Body: rest, ctx: b.ctx, fill: b.fill}, diags
}

func (b pluginBody) JustAttributes() (hcl.Attributes, hcl.Diagnostics) {
	attrs, diags := b.Body.JustAttributes()
	return b.attrs(attrs), diags
}

func (b pluginBody) content(c *hcl.BodyContent) *hcl.BodyContent {
	if c == nil {
		return nil
	}
	out := *c
	out.Attributes = b.attrs(c.Attributes)
	out.Blocks = make(hcl.Blocks, len(c.Blocks))
	for i, blk := range c.Blocks {
		nb := *blk
		nb.Body = pluginBody{Body: blk.Body, ctx: b.ctx, fill: b.fill}
		out.Blocks[i] = &nb
	}
	return &out
}

func (b pluginBody) attrs(attrs hcl.Attributes) hcl.Attributes {
	if attrs == nil {
		return nil
	}
	out := hcl.Attributes{}
	for n, a := range attrs {
		if v, diags := a.Expr.Value(b.ctx); !diags.HasErrors() && v.IsNull() {
			continue
		}
		na := *a
		na.Expr = pluginExpr{Expression: a.Expr, fill: b.fill}
		out[n] = &na
	}
	return out
}

// pluginExpr is an argument's expression as a plugin sees it.
type pluginExpr struct {
	hcl.Expression
	fill bool
}

func (e pluginExpr) Value(ctx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	v, diags := e.Expression.Value(ctx)
	v, _ = v.UnmarkDeep()
	if e.fill && !v.IsWhollyKnown() {
		v = placeholders(v)
	}
	return v, diags
}

// UnwrapExpression lets hcl.ExprList and the like see the expression.
func (e pluginExpr) UnwrapExpression() hcl.Expression { return e.Expression }

// placeholders replaces the unknown values in v by known ones of their
// type: Packer's placeholder string, 0, false, empty collections.
func placeholders(v cty.Value) cty.Value {
	out, err := cty.Transform(v, func(_ cty.Path, v cty.Value) (cty.Value, error) {
		if v.IsKnown() {
			return v, nil
		}
		return placeholder(v.Type()), nil
	})
	if err != nil {
		return v
	}
	return out
}

func placeholder(t cty.Type) cty.Value {
	switch {
	case t == cty.String || t == cty.DynamicPseudoType:
		return cty.StringVal(unknownString)
	case t == cty.Number:
		return cty.Zero
	case t == cty.Bool:
		return cty.False
	case t.IsListType():
		return cty.ListValEmpty(t.ElementType())
	case t.IsSetType():
		return cty.SetValEmpty(t.ElementType())
	case t.IsMapType():
		return cty.MapValEmpty(t.ElementType())
	case t.IsObjectType():
		attrs := map[string]cty.Value{}
		for n, at := range t.AttributeTypes() {
			attrs[n] = placeholder(at)
		}
		return cty.ObjectVal(attrs)
	case t.IsTupleType():
		var elems []cty.Value
		for _, et := range t.TupleElementTypes() {
			elems = append(elems, placeholder(et))
		}
		if len(elems) == 0 {
			return cty.EmptyTupleVal
		}
		return cty.TupleVal(elems)
	}
	return cty.NullVal(t)
}
