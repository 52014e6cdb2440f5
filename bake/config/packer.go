package config

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

var packerSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "required_version"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "required_plugins"}},
}

// decodePacker reads a packer block. bake has its builders built in and
// runs the Packer plugins installed, so required_version is not checked
// and required_plugins are noted, never fetched.
func (c *Config) decodePacker(b *hcl.Block) hcl.Diagnostics {
	content, diags := b.Body.Content(packerSchema)
	for _, rp := range content.Blocks {
		attrs, d := rp.Body.JustAttributes()
		diags = append(diags, d...)
		for _, a := range sortedAttrs(attrs) {
			v, d := a.Expr.Value(nil)
			diags = append(diags, d...)
			if d.HasErrors() {
				continue
			}
			if c.RequiredPlugins == nil {
				c.RequiredPlugins = map[string]string{}
			}
			c.RequiredPlugins[a.Name] = strings.TrimSpace(attrString(v, "source") + " " + attrString(v, "version"))
		}
	}
	return diags
}

func attrString(v cty.Value, name string) string {
	if v.IsNull() || !v.IsKnown() {
		return ""
	}
	var s cty.Value
	switch t := v.Type(); {
	case t.IsObjectType() && t.HasAttribute(name):
		s = v.GetAttr(name)
	case t.IsMapType() && v.HasIndex(cty.StringVal(name)).True():
		s = v.Index(cty.StringVal(name))
	default:
		return ""
	}
	if s.Type() != cty.String || s.IsNull() || !s.IsKnown() {
		return ""
	}
	return s.AsString()
}

// noteRequiredPlugins says once which plugins the templates ask for.
func (c *Config) noteRequiredPlugins() {
	if len(c.RequiredPlugins) == 0 {
		return
	}
	var list []string
	for _, n := range slices.Sorted(maps.Keys(c.RequiredPlugins)) {
		if s := c.RequiredPlugins[n]; s != "" {
			list = append(list, fmt.Sprintf("%s (%s)", n, s))
		} else {
			list = append(list, n)
		}
	}
	sort.Strings(list)
	c.Warnings = append(c.Warnings, fmt.Sprintf("packer.required_plugins %s: noted, not fetched; bake has its builders built in and runs the Packer plugins installed for the rest", strings.Join(list, ", ")))
}
