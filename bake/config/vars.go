package config

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Variable is a `variable "NAME"` block and its resolved value.
type Variable struct {
	Name        string
	Description string
	Type        cty.Type
	Default     cty.Value // cty.NilVal when there is none
	Sensitive   bool
	Validations []Validation
	Range       hcl.Range

	// Value is the resolved value; From says where it came from.
	Value cty.Value
	From  string
}

// Validation is a variable's validation block.
type Validation struct {
	Condition    hcl.Expression
	ErrorMessage string
	Range        hcl.Range
}

// Local is a local value.
type Local struct {
	Name      string
	Expr      hcl.Expression
	Sensitive bool
	Value     cty.Value
	Range     hcl.Range
}

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type"}, {Name: "default"}, {Name: "description"}, {Name: "sensitive"}, {Name: "nullable"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "validation"}},
}

func decodeVariable(b *hcl.Block) (*Variable, hcl.Diagnostics) {
	v := &Variable{Name: b.Labels[0], Type: cty.DynamicPseudoType, Range: b.DefRange}
	if !hclsyntax.ValidIdentifier(v.Name) {
		return nil, hcl.Diagnostics{errorf(b.LabelRanges[0].Ptr(), "Invalid variable name", "%q: a name starts with a letter and has letters, digits, _ and -", v.Name)}
	}
	content, diags := b.Body.Content(variableSchema)
	if a, ok := content.Attributes["type"]; ok {
		t, d := typeexpr.TypeConstraint(a.Expr)
		diags = append(diags, d...)
		if !d.HasErrors() {
			v.Type = t
		}
	}
	if a, ok := content.Attributes["description"]; ok {
		diags = append(diags, gohcl.DecodeExpression(a.Expr, nil, &v.Description)...)
	}
	if a, ok := content.Attributes["sensitive"]; ok {
		diags = append(diags, gohcl.DecodeExpression(a.Expr, nil, &v.Sensitive)...)
	}
	if a, ok := content.Attributes["default"]; ok {
		val, d := a.Expr.Value(&hcl.EvalContext{Functions: functions("", true)})
		diags = append(diags, d...)
		if !d.HasErrors() {
			cv, err := convert.Convert(val, v.Type)
			if err != nil {
				diags = append(diags, errorf(a.Expr.Range().Ptr(), "Invalid default value", "variable %q: %s", v.Name, err))
			} else {
				v.Default = cv
			}
		}
	}
	for _, vb := range content.Blocks {
		var val struct {
			Condition    hcl.Expression `hcl:"condition"`
			ErrorMessage string         `hcl:"error_message"`
		}
		d := gohcl.DecodeBody(vb.Body, nil, &val)
		diags = append(diags, d...)
		if !d.HasErrors() {
			v.Validations = append(v.Validations, Validation{Condition: val.Condition, ErrorMessage: val.ErrorMessage, Range: vb.DefRange})
		}
	}
	return v, diags
}

// decodeVariablesBlock reads Packer's `variables { name = default }`.
func decodeVariablesBlock(b *hcl.Block) ([]*Variable, hcl.Diagnostics) {
	attrs, diags := b.Body.JustAttributes()
	var out []*Variable
	for _, a := range sortedAttrs(attrs) {
		val, d := a.Expr.Value(&hcl.EvalContext{Functions: functions("", true)})
		diags = append(diags, d...)
		out = append(out, &Variable{Name: a.Name, Type: cty.DynamicPseudoType, Default: val, Range: a.Range})
	}
	return out, diags
}

func sortedAttrs(attrs hcl.Attributes) []*hcl.Attribute {
	out := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		ri, rj := out[i].Range, out[j].Range
		if ri.Filename != rj.Filename {
			return ri.Filename < rj.Filename
		}
		return ri.Start.Byte < rj.Start.Byte
	})
	return out
}

// resolveVariables gives every variable its value, in increasing
// precedence: default, BAKE_VAR_x (or PKR_VAR_x) from the environment,
// *.auto.bakevars.hcl files, -var-file files, -var flags.
func (c *Config) resolveVariables(o Options) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, v := range c.Variables {
		if v.Default != cty.NilVal {
			v.Value, v.From = v.Default, "default"
		}
	}
	for _, prefix := range []string{"PKR_VAR_", "BAKE_VAR_"} {
		for _, kv := range o.Env {
			name, val, ok := strings.Cut(kv, "=")
			if !ok || !strings.HasPrefix(name, prefix) {
				continue
			}
			name = strings.TrimPrefix(name, prefix)
			if v := c.variable(name); v != nil {
				diags = append(diags, c.setFromString(v, val, prefix+name, nil)...)
			}
		}
	}
	varFiles := c.autoVarFiles()
	varFiles = append(varFiles, o.VarFiles...)
	for _, vf := range varFiles {
		diags = append(diags, c.readVarFile(vf)...)
	}
	for _, kv := range o.Vars {
		name, val, ok := strings.Cut(kv, "=")
		if !ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid -var option",
				Detail: fmt.Sprintf("%q: write -var name=value", kv)})
			continue
		}
		v := c.variable(name)
		if v == nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Undeclared variable",
				Detail: fmt.Sprintf("-var %s: no variable %q is declared in the bake files; declare it with variable %q {}", name, name, name)})
			continue
		}
		diags = append(diags, c.setFromString(v, val, "-var "+name, nil)...)
	}
	if diags.HasErrors() {
		return diags
	}
	for _, v := range c.Variables {
		if v.Value == cty.NilVal {
			diags = append(diags, errorf(v.Range.Ptr(), "Unset variable",
				"variable %q has no value: set it with -var %s=..., -var-file FILE, or the environment variable BAKE_VAR_%s", v.Name, v.Name, v.Name))
			continue
		}
		diags = append(diags, c.validate(v)...)
	}
	return diags
}

func (c *Config) autoVarFiles() []string {
	entries, err := os.ReadDir(c.Dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && hasSuffix(e.Name(), varFileSuffixes) {
			out = append(out, c.Dir+string(os.PathSeparator)+e.Name())
		}
	}
	sort.Strings(out)
	return out
}

func (c *Config) readVarFile(path string) hcl.Diagnostics {
	f, diags := c.parser.ParseHCLFile(path)
	c.Files = c.parser.Files()
	if diags.HasErrors() {
		if f == nil && len(diags) == 1 && diags[0].Subject == nil {
			diags[0].Detail = fmt.Sprintf("-var-file %s: %s", path, diags[0].Detail)
		}
		return diags
	}
	attrs, diags := f.Body.JustAttributes()
	for _, a := range sortedAttrs(attrs) {
		v := c.variable(a.Name)
		if v == nil {
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s:%d: %q is not a declared variable; ignored", a.Range.Filename, a.Range.Start.Line, a.Name))
			continue
		}
		val, d := a.Expr.Value(nil)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		diags = append(diags, c.set(v, val, path, a.Expr.Range().Ptr())...)
	}
	return diags
}

// setFromString sets a value given as text: a string variable takes it
// as it is; any other type parses it as an HCL expression.
func (c *Config) setFromString(v *Variable, s, from string, rng *hcl.Range) hcl.Diagnostics {
	if v.Type == cty.String || v.Type == cty.DynamicPseudoType {
		return c.set(v, cty.StringVal(s), from, rng)
	}
	expr, diags := hclsyntax.ParseExpression([]byte(s), from, hcl.InitialPos)
	if diags.HasErrors() {
		return hcl.Diagnostics{errorf(rng, "Invalid value for variable", "%s: %q is not a valid %s value", from, s, v.Type.FriendlyName())}
	}
	val, diags := expr.Value(nil)
	if diags.HasErrors() {
		return hcl.Diagnostics{errorf(rng, "Invalid value for variable", "%s: %q is not a valid %s value", from, s, v.Type.FriendlyName())}
	}
	return c.set(v, val, from, rng)
}

func (c *Config) set(v *Variable, val cty.Value, from string, rng *hcl.Range) hcl.Diagnostics {
	cv, err := convert.Convert(val, v.Type)
	if err != nil {
		if rng == nil {
			rng = v.Range.Ptr()
		}
		return hcl.Diagnostics{errorf(rng, "Invalid value for variable", "%s: variable %q wants %s: %s", from, v.Name, v.Type.FriendlyName(), err)}
	}
	v.Value, v.From = cv, from
	return nil
}

func (c *Config) validate(v *Variable) hcl.Diagnostics {
	var diags hcl.Diagnostics
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{v.Name: v.Value})},
		Functions: functions(c.cwd, false),
	}
	for _, val := range v.Validations {
		ok, d := val.Condition.Value(ctx)
		if d.HasErrors() {
			diags = append(diags, d...)
			continue
		}
		if ok.Type() != cty.Bool || ok.IsNull() || !ok.IsKnown() {
			diags = append(diags, errorf(val.Condition.Range().Ptr(), "Invalid validation condition", "the condition must be true or false"))
			continue
		}
		if ok.False() {
			shown := "<sensitive>"
			if !v.Sensitive {
				shown = showValue(v.Value)
			}
			diags = append(diags, errorf(val.Condition.Range().Ptr(), "Invalid value for variable",
				"variable %q = %s (from %s): %s", v.Name, shown, v.From, val.ErrorMessage))
		}
	}
	return diags
}

func (c *Config) decodeLocals(b *hcl.Block) hcl.Diagnostics {
	if b.Type == "local" {
		var l struct {
			Expr      hcl.Expression `hcl:"expression"`
			Sensitive bool           `hcl:"sensitive,optional"`
		}
		diags := gohcl.DecodeBody(b.Body, nil, &l)
		if !diags.HasErrors() {
			c.Locals[b.Labels[0]] = &Local{Name: b.Labels[0], Expr: l.Expr, Sensitive: l.Sensitive, Range: b.DefRange}
		}
		return diags
	}
	attrs, diags := b.Body.JustAttributes()
	for name, a := range attrs {
		if prev, ok := c.Locals[name]; ok {
			diags = append(diags, errorf(a.Range.Ptr(), "Duplicate local", "local %q is already defined at %s", name, prev.Range))
			continue
		}
		c.Locals[name] = &Local{Name: name, Expr: a.Expr, Range: a.Range}
	}
	return diags
}

// PackerVersion is packer.version: the Packer release whose templates
// bake reads.
const PackerVersion = "1.11.2"

// EvalContext is the context expressions in sources, provisioners and
// post-processors are evaluated in: var, local, data, path, packer and
// the extra objects given (bake, source, build).
func (c *Config) EvalContext(extra map[string]cty.Value) *hcl.EvalContext {
	vars := map[string]cty.Value{}
	for _, v := range c.Variables {
		if v.Value != cty.NilVal {
			vars[v.Name] = v.Value
		}
	}
	locals := map[string]cty.Value{}
	for n, l := range c.Locals {
		if l.Value != cty.NilVal {
			locals[n] = l.Value
		}
	}
	byType := map[string]map[string]cty.Value{}
	for _, d := range c.Data {
		if d.Value == cty.NilVal {
			continue
		}
		if byType[d.Type] == nil {
			byType[d.Type] = map[string]cty.Value{}
		}
		byType[d.Type][d.Name] = d.Value
	}
	data := map[string]cty.Value{}
	for t, m := range byType {
		data[t] = cty.ObjectVal(m)
	}
	values := map[string]cty.Value{
		"var":    cty.ObjectVal(vars),
		"local":  cty.ObjectVal(locals),
		"data":   cty.ObjectVal(data),
		"path":   cty.ObjectVal(map[string]cty.Value{"root": cty.StringVal(c.Dir), "cwd": cty.StringVal(c.cwd)}),
		"packer": cty.ObjectVal(map[string]cty.Value{"version": cty.StringVal(PackerVersion)}),
	}
	for k, v := range extra {
		values[k] = v
	}
	fs := functions(c.cwd, false)
	for name, f := range c.secretFuncs() {
		fs[name] = f
	}
	return &hcl.EvalContext{Variables: values, Functions: fs}
}

func showValue(v cty.Value) string {
	if v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
		return fmt.Sprintf("%q", v.AsString())
	}
	return v.GoString()
}

// secretStrings are the strings inside a value that are secrets: all of
// them when all is set, else those marked sensitive.
func secretStrings(v cty.Value, all bool) []string {
	if v == cty.NilVal {
		return nil
	}
	if v.HasMark(sensitiveMark) {
		all = true
	}
	v, _ = v.Unmark()
	if v.IsNull() || !v.IsKnown() {
		return nil
	}
	switch {
	case v.Type() == cty.String:
		if all {
			return []string{v.AsString()}
		}
		return nil
	case v.Type().IsPrimitiveType():
		return nil
	case v.CanIterateElements():
		var out []string
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, secretStrings(e, all)...)
		}
		return out
	}
	return nil
}
