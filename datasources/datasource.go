// Package datasources holds what Packer's data sources share in bake:
// decoding a data block with its plugin's HCL2 spec, reading the decoded
// arguments, and naming the block (data.TYPE.NAME at file:line) in every
// diagnostic and error. The data sources themselves are in the packages
// below: amazon (amazon-ami, amazon-parameterstore,
// amazon-secretsmanager), http, gitcommit and null.
package datasources

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"

	"github.com/bakehq/bake/bake"
)

// Block is one decoded data block: its arguments as an object of the
// spec's type, and where it is.
type Block struct {
	Type  string // amazon-ami
	Name  string // the block's second label
	Range hcl.Range
	Body  hcl.Body
	// Args are the decoded arguments; unset ones are null. In bake
	// validate some may be unknown (they use another data source).
	Args cty.Value
}

// Decode decodes dc's body with spec, the plugin's HCL2 spec (Packer's
// FlatConfig.HCL2Spec() where the plugin has one).
func Decode(typ string, dc bake.DecodeContext, spec map[string]hcldec.Spec) (*Block, hcl.Diagnostics) {
	b := &Block{Type: typ, Name: dc.Name, Range: dc.Range, Body: dc.Body}
	v, diags := hcldec.Decode(dc.Body, hcldec.ObjectSpec(spec), dc.Eval)
	for _, d := range diags {
		if d.Subject == nil {
			d.Subject = dc.Range.Ptr()
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	b.Args = v
	return b, diags
}

// Where names the block for errors: data.TYPE.NAME at file:line.
func (b *Block) Where() string {
	return fmt.Sprintf("data.%s.%s at %s:%d", b.Type, b.Name, b.Range.Filename, b.Range.Start.Line)
}

// Errorf is an error about the block the user must fix (bake exits 2).
func (b *Block) Errorf(format string, args ...any) error {
	return bake.BadInputf("%s: %s", b.Where(), fmt.Sprintf(format, args...))
}

// Failf is an error about the block that is not the input's fault (a
// service that could not be reached).
func (b *Block) Failf(format string, args ...any) error {
	return fmt.Errorf("%s: %w", b.Where(), fmt.Errorf(format, args...))
}

// Diag is an error diagnostic about argument name (the block when name is
// "" or not set).
func (b *Block) Diag(name, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("data.%s.%s: %s", b.Type, b.Name, summary),
		Detail:   detail,
		Subject:  b.AttrRange(name).Ptr(),
	}
}

// Info is a warning diagnostic: an argument bake accepts but that has no
// effect, said once rather than ignored silently.
func (b *Block) Info(name, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagWarning,
		Summary:  fmt.Sprintf("data.%s.%s: %s has no effect in bake", b.Type, b.Name, name),
		Detail:   detail,
		Subject:  b.AttrRange(name).Ptr(),
	}
}

// AttrRange is where argument or block name is written, or the block's
// definition when it is not.
func (b *Block) AttrRange(name string) hcl.Range {
	if name == "" {
		return b.Range
	}
	content, _, _ := b.Body.PartialContent(&hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: name}},
	})
	if content != nil {
		if a, ok := content.Attributes[name]; ok {
			return a.Range
		}
	}
	content, _, _ = b.Body.PartialContent(&hcl.BodySchema{
		Blocks: []hcl.BlockHeaderSchema{{Type: name}},
	})
	if content != nil && len(content.Blocks) > 0 {
		return content.Blocks[0].DefRange
	}
	return b.Range
}

// Known reports whether every argument is known: false only in bake
// validate, where an argument uses a data source that is not read.
func (b *Block) Known() bool { return b.Args.IsWhollyKnown() }

// Set reports whether argument name is set to a value other than null.
func (b *Block) Set(name string) bool {
	v := b.arg(name)
	return !v.IsNull()
}

// arg is argument name, or null when the spec lacks it.
func (b *Block) arg(name string) cty.Value {
	if b.Args.IsNull() || !b.Args.Type().IsObjectType() || !b.Args.Type().HasAttribute(name) {
		return cty.NullVal(cty.DynamicPseudoType)
	}
	return b.Args.GetAttr(name)
}

// Value is argument name as decoded (null when unset).
func (b *Block) Value(name string) cty.Value { return b.arg(name) }

// String is string argument name ("" when unset or unknown).
func (b *Block) String(name string) string {
	v := b.arg(name)
	if v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
		return ""
	}
	return v.AsString()
}

// Bool is bool argument name (false when unset or unknown).
func (b *Block) Bool(name string) bool {
	v := b.arg(name)
	if v.IsNull() || !v.IsKnown() || v.Type() != cty.Bool {
		return false
	}
	return v.True()
}

// Int is number argument name (0 when unset or unknown).
func (b *Block) Int(name string) int {
	var n int
	v := b.arg(name)
	if v.IsNull() || !v.IsWhollyKnown() || gocty.FromCtyValue(v, &n) != nil {
		return 0
	}
	return n
}

// Strings is list-of-strings argument name (nil when unset or unknown).
func (b *Block) Strings(name string) []string {
	var out []string
	v := b.arg(name)
	if v.IsNull() || !v.IsWhollyKnown() || gocty.FromCtyValue(v, &out) != nil {
		return nil
	}
	return out
}

// StringMap is map-of-strings argument name (nil when unset or unknown).
func (b *Block) StringMap(name string) map[string]string {
	var out map[string]string
	v := b.arg(name)
	if v.IsNull() || !v.IsWhollyKnown() || gocty.FromCtyValue(v, &out) != nil {
		return nil
	}
	return out
}

// SpecType is the object type that a spec decodes to: the output type of
// a data source whose plugin gives its output as a spec.
func SpecType(spec map[string]hcldec.Spec) cty.Type {
	return hcldec.ImpliedType(hcldec.ObjectSpec(spec))
}

// Strs is a list of strings as a cty value (an empty list, not null, for
// none).
func Strs(ss []string) cty.Value {
	if len(ss) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	vals := make([]cty.Value, len(ss))
	for i, s := range ss {
		vals[i] = cty.StringVal(s)
	}
	return cty.ListVal(vals)
}

// StrMap is a map of strings as a cty value (an empty map, not null, for
// none).
func StrMap(m map[string]string) cty.Value {
	if len(m) == 0 {
		return cty.MapValEmpty(cty.String)
	}
	vals := make(map[string]cty.Value, len(m))
	for k, s := range m {
		vals[k] = cty.StringVal(s)
	}
	return cty.MapVal(vals)
}
