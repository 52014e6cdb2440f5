package recipes

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/bakehq/bake/bake"
)

// getter reads an instance's evaluated attributes as the types a resource
// needs, reporting a wrong one at its file and line.
type getter struct {
	c  *compiler
	in *instance
}

func (g getter) rng(name string) *hcl.Range {
	if a, ok := g.in.res.Attrs[name]; ok {
		return a.Expr.Range().Ptr()
	}
	return g.in.res.DefRange.Ptr()
}

func (g getter) fail(name, summary, detail string) {
	g.c.diags = append(g.c.diags, &hcl.Diagnostic{Severity: hcl.DiagError,
		Summary: fmt.Sprintf("%s: %s", g.in.id, summary), Detail: detail, Subject: g.rng(name)})
}

func (g getter) str(name string, required bool) string {
	v, ok := g.in.vals[name]
	if !ok || v.IsNull() {
		if required {
			g.fail(name, fmt.Sprintf("missing %s", name), fmt.Sprintf("A %s needs %s = ...", g.in.res.Kind, name))
		}
		return ""
	}
	s, err := convert.Convert(v, cty.String)
	if err != nil {
		g.fail(name, fmt.Sprintf("%s must be a string", name), err.Error())
		return ""
	}
	return s.AsString()
}

func (g getter) name() string { return g.str("name", true) }

func (g getter) path(name string) string {
	p := g.str(name, true)
	if p != "" && !strings.HasPrefix(p, "/") {
		g.fail(name, fmt.Sprintf("%s %q is not absolute", name, p), "Paths on the machine start with /.")
	}
	return p
}

func (g getter) state() string {
	s := g.str("state", false)
	switch s {
	case "", "present":
		return "present"
	case "absent":
		return "absent"
	}
	g.fail("state", fmt.Sprintf("state %q is neither present nor absent", s), "")
	return ""
}

func (g getter) list(name string) []string {
	v, ok := g.in.vals[name]
	if !ok || v.IsNull() {
		return nil
	}
	l, err := convert.Convert(v, cty.List(cty.String))
	if err != nil {
		g.fail(name, fmt.Sprintf("%s must be a list of strings", name), err.Error())
		return nil
	}
	var out []string
	for _, e := range l.AsValueSlice() {
		out = append(out, e.AsString())
	}
	return out
}

// attrs renders mode, owner and group options for _file and _dir.
func (g getter) attrs() string {
	var out string
	if m := g.str("mode", false); m != "" {
		n, err := strconv.ParseUint(m, 8, 32)
		if err != nil || n > 07777 {
			g.fail("mode", fmt.Sprintf("mode %q is not an octal file mode", m), `Write it as a string: mode = "0644".`)
		} else {
			out += fmt.Sprintf(" mode=%o", n)
		}
	}
	for _, a := range []string{"owner", "group"} {
		if v := g.str(a, false); v != "" {
			out += " " + a + "=" + bake.ShellQuote(v)
		}
	}
	return out
}

func (g getter) numOpt(name string) string {
	v, ok := g.in.vals[name]
	if !ok || v.IsNull() {
		return ""
	}
	n, err := convert.Convert(v, cty.Number)
	if err != nil {
		g.fail(name, fmt.Sprintf("%s must be a number", name), err.Error())
		return ""
	}
	i, acc := n.AsBigFloat().Int64()
	if acc != 0 || i < 0 {
		g.fail(name, fmt.Sprintf("%s must be a whole number", name), "")
		return ""
	}
	return fmt.Sprintf(" %s=%d", name, i)
}

func (g getter) boolOpt(name string) string {
	v, ok := g.in.vals[name]
	if !ok || v.IsNull() {
		return ""
	}
	b, err := convert.Convert(v, cty.Bool)
	if err != nil {
		g.fail(name, fmt.Sprintf("%s must be true or false", name), err.Error())
		return ""
	}
	if b.True() {
		return " " + name + "=yes"
	}
	return ""
}

// envLines renders env = {...} as export lines.
func (g getter) envLines() string {
	v, ok := g.in.vals["env"]
	if !ok || v.IsNull() {
		return ""
	}
	m, err := convert.Convert(v, cty.Map(cty.String))
	if err != nil {
		g.fail("env", "env must be a map of strings", err.Error())
		return ""
	}
	vals := m.AsValueMap()
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		if !validEnv(k) {
			g.fail("env", fmt.Sprintf("%q is not an environment variable name", k), "")
			continue
		}
		fmt.Fprintf(&b, "export %s=%s\n", k, bake.ShellQuote(vals[k].AsString()))
	}
	return b.String()
}

func validEnv(k string) bool {
	if k == "" || (k[0] >= '0' && k[0] <= '9') {
		return false
	}
	for _, r := range k {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func (g getter) local(p string) string { return localPath(g.in.dir, p) }

// template runs text as a Go text/template with the recipe's params.
func (g getter) template(text string) (string, bool) {
	name := "template"
	if _, ok := g.in.vals["template_source"]; ok {
		name = "template_source"
	}
	t, err := template.New(g.in.id).Option("missingkey=error").Funcs(templateFuncs).Parse(text)
	if err != nil {
		g.fail(name, "parse the template: "+err.Error(), "Templates are Go text/template; params are {{ .name }}.")
		return "", false
	}
	data := map[string]any{}
	for k, v := range g.in.params {
		data[k] = goValue(v)
	}
	if g.in.each != cty.NilVal {
		data["each"] = goValue(g.in.each) // {{ .each.key }}, {{ .each.value }}
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		g.fail(name, "run the template: "+err.Error(), "Templates are Go text/template; params are {{ .name }}.")
		return "", false
	}
	return b.String(), true
}

var templateFuncs = template.FuncMap{
	"join": func(sep string, l []any) string {
		parts := make([]string, len(l))
		for i, e := range l {
			parts[i] = fmt.Sprint(e)
		}
		return strings.Join(parts, sep)
	},
	"quote": bake.ShellQuote,
}

// goValue turns a param into what a template sees: string, int64 or
// float64, bool, []any, map[string]any.
func goValue(v cty.Value) any {
	if v.IsNull() {
		return nil
	}
	t := v.Type()
	switch {
	case t == cty.String:
		return v.AsString()
	case t == cty.Number:
		if i, acc := v.AsBigFloat().Int64(); acc == 0 {
			return i
		}
		f, _ := v.AsBigFloat().Float64()
		return f
	case t == cty.Bool:
		return v.True()
	case t.IsMapType() || t.IsObjectType():
		m := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			m[k.AsString()] = goValue(e)
		}
		return m
	case v.CanIterateElements():
		var l []any
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			l = append(l, goValue(e))
		}
		return l
	}
	return nil
}
