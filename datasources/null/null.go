// Package null is Packer's null data source: data "null" "x" { input = v }
// gives data.null.x.output = v. It reads nothing, so bake validate runs it
// too.
package null

import (
	"context"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/datasources"
)

// Type is the data block's type label.
const Type = "null"

// Spec is the block's arguments. Packer's input is a string; bake takes
// any value and gives it back with its own type (a string stays a string).
func Spec() map[string]hcldec.Spec {
	return map[string]hcldec.Spec{
		"input": &hcldec.AttrSpec{Name: "input", Type: cty.DynamicPseudoType},
	}
}

// Null is one null data block.
type Null struct {
	input cty.Value
}

var (
	_ bake.DataSource = (*Null)(nil)
	_ bake.LocalData  = (*Null)(nil)
)

// New decodes a null data block.
func New(dc bake.DecodeContext) (bake.DataSource, hcl.Diagnostics) {
	b, diags := datasources.Decode(Type, dc, Spec())
	if diags.HasErrors() {
		return nil, diags
	}
	in := b.Value("input")
	if in.IsNull() {
		return nil, append(diags, b.Diag("input", "input is required",
			`Set input to the value data.null.`+dc.Name+`.output should have, for example input = "chocolate".`))
	}
	return &Null{input: in}, diags
}

// OutputType is {output = the input's type}.
func (n *Null) OutputType() cty.Type {
	return cty.Object(map[string]cty.Type{"output": n.input.Type()})
}

// Execute gives the input back (unknown while it is unknown).
func (n *Null) Execute(context.Context) (cty.Value, error) {
	return cty.ObjectVal(map[string]cty.Value{"output": n.input}), nil
}

// LocalOnly: the null data source reads nothing.
func (n *Null) LocalOnly() bool { return true }
