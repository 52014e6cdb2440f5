package bake

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// AttrRange is where the block sets the argument or nested block name,
// for a diagnostic about it; the block's range when it does not.
func (dc DecodeContext) AttrRange(name string) *hcl.Range {
	if sb, ok := dc.Body.(*hclsyntax.Body); ok {
		if a, ok := sb.Attributes[name]; ok {
			return a.Expr.Range().Ptr()
		}
		for _, b := range sb.Blocks {
			if b.Type == name {
				return b.TypeRange.Ptr()
			}
		}
		return dc.BlockRange()
	}
	if c, _, _ := dc.Body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: name}}}); c != nil {
		if a, ok := c.Attributes[name]; ok {
			return a.Expr.Range().Ptr()
		}
	}
	if c, _, _ := dc.Body.PartialContent(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: name}}}); c != nil && len(c.Blocks) > 0 {
		return c.Blocks[0].DefRange.Ptr()
	}
	return dc.BlockRange()
}

// BlockRange is the block's body, for a diagnostic about the block as a
// whole; its definition when the body cannot say.
func (dc DecodeContext) BlockRange() *hcl.Range {
	if sb, ok := dc.Body.(interface{ MissingItemRange() hcl.Range }); ok {
		r := sb.MissingItemRange()
		return &r
	}
	return dc.Range.Ptr()
}
