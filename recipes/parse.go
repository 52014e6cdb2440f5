package recipes

import (
	"fmt"
	"path/filepath"
	"regexp"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// kind describes one resource type: its attributes, and which one names
// the thing it manages (it defaults to the block's label).
type kind struct {
	primary  string
	required []string
	optional []string
}

var kinds = map[string]kind{
	"package":         {primary: "name", optional: []string{"version"}},
	"file":            {primary: "path", optional: []string{"content", "source", "template", "template_source", "mode", "owner", "group", "state"}},
	"directory":       {primary: "path", optional: []string{"mode", "owner", "group", "source"}},
	"symlink":         {primary: "path", required: []string{"target"}, optional: []string{"state"}},
	"group":           {primary: "name", optional: []string{"gid", "system"}},
	"user":            {primary: "name", optional: []string{"uid", "group", "groups", "home", "shell", "system"}},
	"service":         {primary: "name", required: []string{"run"}, optional: []string{"user", "dir", "env", "unit"}},
	"command":         {required: []string{"run"}, optional: []string{"creates", "unless", "user", "dir", "env"}},
	"line_in_file":    {required: []string{"path", "line"}, optional: []string{"match"}},
	"package_upgrade": {},
}

// kindNames is the resource types in the order the docs list them.
var kindNames = []string{"package", "package_upgrade", "file", "directory", "symlink", "group", "user", "service", "command", "line_in_file"}

func (k kind) schema() *hcl.BodySchema {
	s := &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "when"}, {Name: "for_each"}, {Name: "notify"}}}
	if k.primary != "" {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: k.primary})
	}
	for _, a := range k.required {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: a, Required: true})
	}
	for _, a := range k.optional {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: a})
	}
	return s
}

var fileSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "recipe", LabelNames: []string{"name"}}}}

var recipeSchema = func() *hcl.BodySchema {
	s := &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "doc"}},
		Blocks: []hcl.BlockHeaderSchema{
			{Type: "param", LabelNames: []string{"name"}},
			{Type: "include", LabelNames: []string{"recipe"}},
		},
	}
	for _, k := range kindNames {
		s.Blocks = append(s.Blocks, hcl.BlockHeaderSchema{Type: k, LabelNames: []string{"name"}})
	}
	return s
}()

var paramSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "type"}, {Name: "default"}, {Name: "description"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "validation"}},
}

var validationSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "condition", Required: true}, {Name: "error_message", Required: true},
}}

var includeSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "params"}}}

var validName = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// ParseFile parses an HCL file of recipe blocks. Every problem is a
// diagnostic with the file and line.
func ParseFile(filename string, src []byte) ([]*Recipe, hcl.Diagnostics) {
	f, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	content, d := f.Body.Content(fileSchema)
	diags = append(diags, d...)
	var out []*Recipe
	for _, b := range content.Blocks {
		r, d := ParseBlock(b)
		diags = append(diags, d...)
		if r != nil {
			r.Dir = filepath.Dir(filename)
			r.Source = src
			out = append(out, r)
		}
	}
	return out, diags
}

// ParseBlock parses one recipe "name" { ... } block, as found in a recipe
// file or inline in a bake file.
func ParseBlock(b *hcl.Block) (*Recipe, hcl.Diagnostics) {
	if len(b.Labels) != 1 {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "recipe needs a name",
			Detail: `Write recipe "NAME" { ... }.`, Subject: b.DefRange.Ptr()}}
	}
	r := &Recipe{Name: b.Labels[0], DefRange: b.DefRange}
	if sb, ok := b.Body.(*hclsyntax.Body); ok {
		r.EndByte = sb.SrcRange.End.Byte
	}
	var diags hcl.Diagnostics
	if !validName.MatchString(r.Name) {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "invalid recipe name",
			Detail: fmt.Sprintf("recipe name %q must start with a lower-case letter and hold only a-z, 0-9, - and _.", r.Name), Subject: b.LabelRanges[0].Ptr()})
	}
	content, d := b.Body.Content(recipeSchema)
	diags = append(diags, d...)
	if content == nil {
		return r, diags
	}
	if a, ok := content.Attributes["doc"]; ok {
		v, d := a.Expr.Value(nil)
		diags = append(diags, d...)
		if !d.HasErrors() {
			if s, err := convert.Convert(v, cty.String); err != nil || s.IsNull() {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "doc must be a string", Subject: a.Expr.Range().Ptr()})
			} else {
				r.Doc = s.AsString()
			}
		}
	}
	params := map[string]*Param{}
	for _, blk := range content.Blocks {
		switch blk.Type {
		case "param":
			p, d := parseParam(blk)
			diags = append(diags, d...)
			if p == nil {
				continue
			}
			if prev, dup := params[p.Name]; dup {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "duplicate param",
					Detail: fmt.Sprintf("param %q is already declared at %s.", p.Name, prev.DeclRange), Subject: blk.DefRange.Ptr()})
				continue
			}
			params[p.Name] = p
			r.Params = append(r.Params, p)
		case "include":
			c, d := blk.Body.Content(includeSchema)
			diags = append(diags, d...)
			inc := &Include{Name: blk.Labels[0], DefRange: blk.DefRange}
			if a, ok := c.Attributes["params"]; ok {
				inc.Params = a.Expr
			}
			r.Steps = append(r.Steps, inc)
		default:
			res, d := parseResource(blk)
			diags = append(diags, d...)
			if res != nil {
				r.Steps = append(r.Steps, res)
			}
		}
	}
	return r, diags
}

func parseParam(b *hcl.Block) (*Param, hcl.Diagnostics) {
	p := &Param{Name: b.Labels[0], Type: cty.String, DeclRange: b.DefRange}
	content, diags := b.Body.Content(paramSchema)
	if !validName.MatchString(p.Name) {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "invalid param name",
			Detail: fmt.Sprintf("param name %q must start with a lower-case letter and hold only a-z, 0-9, - and _.", p.Name), Subject: b.LabelRanges[0].Ptr()})
	}
	if content == nil {
		return nil, diags
	}
	if a, ok := content.Attributes["type"]; ok {
		t, d := typeexpr.TypeConstraint(a.Expr)
		diags = append(diags, d...)
		if !d.HasErrors() {
			p.Type = t
		}
	}
	if a, ok := content.Attributes["description"]; ok {
		v, d := a.Expr.Value(nil)
		diags = append(diags, d...)
		if s, err := convert.Convert(v, cty.String); err == nil && !s.IsNull() && s.IsKnown() {
			p.Description = s.AsString()
		}
	}
	if a, ok := content.Attributes["default"]; ok {
		v, d := a.Expr.Value(&hcl.EvalContext{Functions: functions()})
		diags = append(diags, d...)
		if !d.HasErrors() {
			cv, err := convert.Convert(v, p.Type)
			if err != nil {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "default does not match the param's type",
					Detail: fmt.Sprintf("param %q is %s: %s.", p.Name, typeString(p.Type), err), Subject: a.Expr.Range().Ptr()})
			} else {
				p.Default = cv
			}
		}
	}
	for _, vb := range content.Blocks {
		c, d := vb.Body.Content(validationSchema)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		msg, d := c.Attributes["error_message"].Expr.Value(nil)
		diags = append(diags, d...)
		v := Validation{Condition: c.Attributes["condition"].Expr, Range: vb.DefRange}
		if s, err := convert.Convert(msg, cty.String); err == nil && !s.IsNull() && s.IsKnown() {
			v.ErrorMessage = s.AsString()
		}
		p.Validations = append(p.Validations, v)
	}
	return p, diags
}

func parseResource(b *hcl.Block) (*Resource, hcl.Diagnostics) {
	k := kinds[b.Type]
	content, diags := b.Body.Content(k.schema())
	if content == nil {
		return nil, diags
	}
	r := &Resource{Kind: b.Type, Label: b.Labels[0], Attrs: content.Attributes, DefRange: b.DefRange, Body: b.Body}
	if r.Label == "" {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "empty resource name",
			Detail: fmt.Sprintf("Give the %s a name: %s \"NAME\" { ... }.", b.Type, b.Type), Subject: b.LabelRanges[0].Ptr()})
	}
	for name, a := range content.Attributes {
		switch name {
		case "when":
			r.When = a.Expr
		case "for_each":
			r.ForEach = a.Expr
		case "notify":
			r.Notify = a.Expr
		}
	}
	delete(r.Attrs, "when")
	delete(r.Attrs, "for_each")
	delete(r.Attrs, "notify")
	return r, diags
}

func typeString(t cty.Type) string {
	if t == cty.DynamicPseudoType {
		return "any"
	}
	return typeexpr.TypeString(t)
}
