package recipes

import (
	_ "embed"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/bakehq/bake/bake"
)

//go:embed prelude.sh
var prelude string

// Script is a compiled recipe: one POSIX sh script.
type Script struct {
	Recipe string
	Text   string
	// Resources is how many resources the script applies.
	Resources int
	// Assets are local directories the script reads from
	// $BAKE_ASSETS/NAME; whoever runs it uploads them there first.
	Assets []Asset
	// Volatile: the script upgrades packages, so what it does depends on
	// the package mirror on the day, not only on its inputs.
	Volatile bool
}

// Asset is a local directory a script needs on the machine.
type Asset struct {
	Name  string // the directory under $BAKE_ASSETS
	Local string
}

// Line prefixes of the script's machine-readable output.
const (
	LinePrefix = "bake-recipe: "
)

// instance is one resource after when and for_each, its attributes
// evaluated.
type instance struct {
	res    *Resource
	id     string
	at     string
	vals   map[string]cty.Value
	params map[string]cty.Value
	dir    string
	recipe string
	notify []string
	nrange hcl.Range
	each   cty.Value // {key, value} under for_each, else cty.NilVal
}

type compiler struct {
	lib      *Library
	dir      string
	stack    []string
	included map[string]string
	insts    []*instance
	assets   []Asset
	diags    hcl.Diagnostics
}

// Compile compiles the recipe name with args into one script. dir is where
// relative paths of built-in recipes and params are resolved (the bake
// file's directory). Every error names the file and line.
func (l *Library) Compile(name string, args map[string]Arg, dir string) (*Script, error) {
	c := &compiler{lib: l, dir: dir, included: map[string]string{}}
	r, ok := l.Get(name)
	if !ok {
		return nil, l.unknown(name, nil)
	}
	c.recipe(r, args, nil)
	if c.diags.HasErrors() {
		return nil, diagError(c.diags)
	}
	c.checkNotify()
	if c.diags.HasErrors() {
		return nil, diagError(c.diags)
	}
	text := c.render(r, args)
	if c.diags.HasErrors() {
		return nil, diagError(c.diags)
	}
	sc := &Script{Recipe: name, Text: text, Resources: len(c.insts), Assets: c.assets}
	for _, in := range c.insts {
		sc.Volatile = sc.Volatile || in.res.Kind == "package_upgrade"
	}
	return sc, nil
}

func (l *Library) unknown(name string, subject *hcl.Range) error {
	names := l.Names()
	detail := "Known recipes: " + strings.Join(names, ", ") + "."
	if s := nearest(name, names); s != "" {
		detail = fmt.Sprintf("Did you mean %q? ", s) + detail
	}
	return diagError(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: fmt.Sprintf("unknown recipe %q", name), Detail: detail, Subject: subject}})
}

func (c *compiler) recipe(r *Recipe, args map[string]Arg, caller *hcl.Range) {
	for _, s := range c.stack {
		if s == r.Name {
			c.diags = append(c.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "recipe includes itself",
				Detail: "Include chain: " + strings.Join(append(c.stack, r.Name), " -> ") + ".", Subject: caller})
			return
		}
	}
	params, d := bindParams(r, args, caller)
	c.diags = append(c.diags, d...)
	if d.HasErrors() {
		return
	}
	key := paramKey(params)
	if prev, ok := c.included[r.Name]; ok {
		if prev != key {
			c.diags = append(c.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("recipe %q is included twice with different params", r.Name),
				Detail: fmt.Sprintf("A script applies a recipe once: first with %s, then with %s.", prev, key), Subject: caller})
		}
		return
	}
	c.included[r.Name] = key
	c.stack = append(c.stack, r.Name)
	defer func() { c.stack = c.stack[:len(c.stack)-1] }()
	ctx := evalContext(params)
	dir := r.Dir
	if r.Builtin || dir == "" {
		dir = c.dir
	}
	for _, s := range r.Steps {
		switch s := s.(type) {
		case *Include:
			inc, ok := c.lib.Get(s.Name)
			if !ok {
				c.diags = append(c.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("unknown recipe %q", s.Name),
					Detail: "Included recipes must be built in or in a .hcl file next to the bake file; see bake recipe list.", Subject: s.DefRange.Ptr()})
				continue
			}
			incArgs := map[string]Arg{}
			if s.Params != nil {
				pairs, d := hcl.ExprMap(s.Params)
				c.diags = append(c.diags, d...)
				for _, kv := range pairs {
					k, d := kv.Key.Value(nil)
					if d.HasErrors() || k.Type() != cty.String {
						c.diags = append(c.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "param names must be plain names", Subject: kv.Key.Range().Ptr()})
						continue
					}
					v, d := kv.Value.Value(ctx)
					c.diags = append(c.diags, d...)
					incArgs[k.AsString()] = Arg{Value: v, Range: kv.Value.Range()}
				}
			}
			c.recipe(inc, incArgs, s.DefRange.Ptr())
		case *Resource:
			c.resource(r, s, ctx, params, dir)
		}
	}
}

func paramKey(params map[string]cty.Value) string {
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	var parts []string
	for _, k := range names {
		parts = append(parts, k+"="+showValue(params[k]))
	}
	if len(parts) == 0 {
		return "no params"
	}
	return strings.Join(parts, " ")
}

func (c *compiler) resource(r *Recipe, res *Resource, ctx *hcl.EvalContext, params map[string]cty.Value, dir string) {
	if res.When != nil {
		v, d := res.When.Value(ctx)
		c.diags = append(c.diags, d...)
		if d.HasErrors() {
			return
		}
		b, err := convert.Convert(v, cty.Bool)
		if err != nil || b.IsNull() {
			c.diags = append(c.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "when must be true or false", Subject: res.When.Range().Ptr()})
			return
		}
		if b.False() {
			return
		}
	}
	if res.ForEach == nil {
		c.instance(r, res, ctx, params, dir, res.ID(), cty.NilVal)
		return
	}
	v, d := res.ForEach.Value(ctx)
	c.diags = append(c.diags, d...)
	if d.HasErrors() {
		return
	}
	if v.IsNull() || !(v.Type().IsListType() || v.Type().IsSetType() || v.Type().IsTupleType() || v.Type().IsMapType() || v.Type().IsObjectType()) {
		c.diags = append(c.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "for_each needs a list, set or map", Subject: res.ForEach.Range().Ptr()})
		return
	}
	byMap := v.Type().IsMapType() || v.Type().IsObjectType()
	for it := v.ElementIterator(); it.Next(); {
		k, ev := it.Element()
		if !byMap {
			if s, err := convert.Convert(ev, cty.String); err == nil && !s.IsNull() {
				k = s
			} else {
				c.diags = append(c.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "for_each over a list needs strings", Subject: res.ForEach.Range().Ptr()})
				return
			}
		}
		each := cty.ObjectVal(map[string]cty.Value{"key": k, "value": ev})
		child := ctx.NewChild()
		child.Variables = map[string]cty.Value{"each": each}
		c.instance(r, res, child, params, dir, fmt.Sprintf("%s[%s:%s]", res.Kind, res.Label, k.AsString()), each)
	}
}

func (c *compiler) instance(r *Recipe, res *Resource, ctx *hcl.EvalContext, params map[string]cty.Value, dir, id string, each cty.Value) {
	in := &instance{res: res, id: id, at: fmt.Sprintf("%s:%d", res.DefRange.Filename, res.DefRange.Start.Line),
		vals: map[string]cty.Value{}, params: params, dir: dir, recipe: r.Name, each: each}
	for name, a := range res.Attrs {
		v, d := a.Expr.Value(ctx)
		c.diags = append(c.diags, d...)
		if !d.HasErrors() {
			in.vals[name] = v
		}
	}
	if p := kinds[res.Kind].primary; p != "" {
		if v, ok := in.vals[p]; !ok || v.IsNull() {
			in.vals[p] = cty.StringVal(res.Label)
		}
	}
	if res.Notify != nil {
		v, d := res.Notify.Value(ctx)
		c.diags = append(c.diags, d...)
		if !d.HasErrors() {
			l, err := convert.Convert(v, cty.List(cty.String))
			if err != nil || l.IsNull() {
				c.diags = append(c.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "notify must be a list of service names", Subject: res.Notify.Range().Ptr()})
			} else {
				for _, s := range l.AsValueSlice() {
					in.notify = append(in.notify, s.AsString())
				}
				in.nrange = res.Notify.Range()
			}
		}
	}
	c.insts = append(c.insts, in)
}

func (c *compiler) checkNotify() {
	services := map[string]bool{}
	var names []string
	for _, in := range c.insts {
		if in.res.Kind == "service" {
			if n := in.vals["name"]; n.Type() == cty.String && !n.IsNull() {
				services[n.AsString()] = true
				names = append(names, n.AsString())
			}
		}
	}
	for _, in := range c.insts {
		for _, n := range in.notify {
			if !services[n] {
				detail := "notify names a service resource of this recipe or of one it includes."
				if len(names) > 0 {
					detail += " Services here: " + strings.Join(names, ", ") + "."
				}
				c.diags = append(c.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("notify: no service %q", n), Detail: detail, Subject: in.nrange.Ptr()})
			}
		}
	}
}

func (c *compiler) render(root *Recipe, args map[string]Arg) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/sh\n# Recipe %s, compiled by bake from %s.\n", root.Name, root.DefRange.Filename)
	if len(root.Params) > 0 {
		b.WriteString("# Params:")
		for _, p := range root.Params {
			v := p.Default
			if a, ok := args[p.Name]; ok && !a.Value.IsNull() {
				v = a.Value
			}
			fmt.Fprintf(&b, " %s=%s", p.Name, showValue(v))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "# It applies %d resources; each prints \"%sok|changed KIND[NAME]\",\n# and the script stops at the first one that fails.\n", len(c.insts), LinePrefix)
	b.WriteString(prelude)
	var body strings.Builder
	lastRecipe := ""
	for i := 0; i < len(c.insts); i++ {
		in := c.insts[i]
		if in.recipe != lastRecipe {
			fmt.Fprintf(&body, "\n# === recipe %s ===\n", in.recipe)
			lastRecipe = in.recipe
		}
		if in.res.Kind == "package" {
			j := i
			for j < len(c.insts) && c.insts[j].res.Kind == "package" && c.insts[j].recipe == in.recipe {
				j++
			}
			c.packages(&body, c.insts[i:j])
			i = j - 1
			continue
		}
		fmt.Fprintf(&body, "\n_begin %s %s\n", bake.ShellQuote(in.id), bake.ShellQuote(in.at))
		c.emit(&body, in)
		body.WriteString("_end")
		for _, n := range in.notify {
			body.WriteString(" " + bake.ShellQuote(n))
		}
		body.WriteString("\n")
	}
	if len(c.assets) > 0 {
		b.WriteString("\n# Local directories this script copies, uploaded by the recipe provisioner:\n")
		for _, a := range c.assets {
			fmt.Fprintf(&b, "#   $BAKE_ASSETS/%s <- %s\n", a.Name, a.Local)
		}
		b.WriteString(": \"${BAKE_ASSETS:?BAKE_ASSETS must name the directory the recipe's assets were uploaded to}\"\n")
	}
	b.WriteString(body.String())
	if handlers := c.handlers(); handlers != "" {
		b.WriteString("\n# Restart the services a changed resource notified.\n" + handlers)
	}
	fmt.Fprintf(&b, "\n_bake_done %s\n", bake.ShellQuote(root.Name))
	return b.String()
}

// handlers renders a _restart for each notified service, in the order
// the services were declared.
func (c *compiler) handlers() string {
	notified := map[string]bool{}
	for _, in := range c.insts {
		for _, n := range in.notify {
			notified[n] = true
		}
	}
	var b strings.Builder
	for _, in := range c.insts {
		if in.res.Kind != "service" {
			continue
		}
		g := getter{c: c, in: in}
		name := g.str("name", false)
		if !notified[name] {
			continue
		}
		delete(notified, name)
		fmt.Fprintf(&b, "_restart %s", bake.ShellQuote(name))
		if u := g.str("unit", false); u != "" {
			fmt.Fprintf(&b, " %s", bake.ShellQuote(u))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func (c *compiler) packages(b *strings.Builder, batch []*instance) {
	if len(batch) > 1 {
		fmt.Fprintf(b, "\n# %d packages, installed in one transaction\n", len(batch))
	} else {
		b.WriteString("\n")
	}
	for _, in := range batch {
		g := getter{c: c, in: in}
		name := g.str("name", true)
		version := g.str("version", false)
		fmt.Fprintf(b, "_pkg %s %s %s\n", bake.ShellQuote(in.id), bake.ShellQuote(name), bake.ShellQuote(version))
	}
	fmt.Fprintf(b, "_pkg_commit %s\n", bake.ShellQuote(batch[0].at))
}

func (c *compiler) emit(b *strings.Builder, in *instance) {
	g := getter{c: c, in: in}
	switch in.res.Kind {
	case "package_upgrade":
		b.WriteString("_pkg_upgrade\n")
	case "file":
		path := g.path("path")
		if g.state() == "absent" {
			fmt.Fprintf(b, "_absent %s\n", bake.ShellQuote(path))
			return
		}
		content, ok := c.fileContent(g)
		if !ok {
			return
		}
		writeContent(b, content)
		fmt.Fprintf(b, "_file %s%s\n", bake.ShellQuote(path), g.attrs())
	case "directory":
		path := g.path("path")
		fmt.Fprintf(b, "_dir %s%s\n", bake.ShellQuote(path), g.attrs())
		if src := g.str("source", false); src != "" {
			local := g.local(src)
			if fi, err := os.Stat(local); err != nil || !fi.IsDir() {
				g.fail("source", fmt.Sprintf("source %q is not a directory", local), "Give a directory, relative to the recipe file (or, for built-in recipes, to the bake file).")
				return
			}
			name := strconv.Itoa(len(c.assets) + 1)
			c.assets = append(c.assets, Asset{Name: name, Local: local})
			owner := ""
			for _, a := range []string{"owner", "group"} {
				if v := g.str(a, false); v != "" {
					owner += " " + a + "=" + bake.ShellQuote(v)
				}
			}
			fmt.Fprintf(b, "_dir_sync \"$BAKE_ASSETS/%s\" %s%s\n", name, bake.ShellQuote(path), owner)
		}
	case "symlink":
		path := g.path("path")
		if g.state() == "absent" {
			fmt.Fprintf(b, "_absent %s\n", bake.ShellQuote(path))
			return
		}
		fmt.Fprintf(b, "_symlink %s %s\n", bake.ShellQuote(path), bake.ShellQuote(g.str("target", true)))
	case "group":
		fmt.Fprintf(b, "_group %s%s%s\n", bake.ShellQuote(g.name()), g.numOpt("gid"), g.boolOpt("system"))
	case "user":
		opts := g.numOpt("uid") + g.boolOpt("system")
		for _, a := range []string{"group", "home", "shell"} {
			if v := g.str(a, false); v != "" {
				opts += " " + a + "=" + bake.ShellQuote(v)
			}
		}
		if gs := g.list("groups"); len(gs) > 0 {
			opts += " groups=" + bake.ShellQuote(strings.Join(gs, " "))
		}
		fmt.Fprintf(b, "_user %s%s\n", bake.ShellQuote(g.name()), opts)
	case "service":
		name := g.name()
		var run strings.Builder
		fmt.Fprintf(&run, "#!/bin/sh\n# Service %s, from bake recipe %s (%s).\nset -e\n", name, in.recipe, in.at)
		run.WriteString(g.envLines())
		if d := g.str("dir", false); d != "" {
			fmt.Fprintf(&run, "cd %s\n", bake.ShellQuote(d))
		}
		cmd := strings.TrimRight(g.str("run", true), "\n")
		if u := g.str("user", false); u != "" {
			fmt.Fprintf(&run, "export HOME=\"$(getent passwd %[1]s | cut -d: -f6)\" USER=%[1]s LOGNAME=%[1]s\n", bake.ShellQuote(u))
			fmt.Fprintf(&run, "exec setpriv --reuid=%[1]s --regid=\"$(id -g %[1]s)\" --init-groups /bin/sh -c %[2]s\n", bake.ShellQuote(u), bake.ShellQuote(cmd))
		} else {
			run.WriteString(cmd + "\n")
		}
		writeContent(b, run.String())
		fmt.Fprintf(b, "_service %s", bake.ShellQuote(name))
		if u := g.str("unit", false); u != "" {
			fmt.Fprintf(b, " %s", bake.ShellQuote(u))
		}
		b.WriteString("\n")
	case "command":
		opts := ""
		for _, a := range []string{"user", "dir"} {
			if v := g.str(a, false); v != "" {
				opts += " " + a + "=" + bake.ShellQuote(v)
			}
		}
		run := heredoc("_sh"+opts, g.envLines()+g.str("run", true))
		guard := "if"
		if creates := g.str("creates", false); creates != "" {
			fmt.Fprintf(b, "if [ -e %s ]; then\n\t_note %s\n", bake.ShellQuote(creates), bake.ShellQuote(creates+" exists"))
			guard = "elif"
		}
		if unless := g.str("unless", false); unless != "" {
			fmt.Fprintf(b, "%s %s\nthen\n\t_note 'its unless check passed'\n", guard, heredoc("_sh", g.envLines()+unless))
			guard = "elif"
		}
		if guard == "if" {
			fmt.Fprintf(b, "%s\n_changed\n", run)
		} else {
			fmt.Fprintf(b, "else\n\t%s\n\t_changed\nfi\n", run)
		}
	case "line_in_file":
		line := g.str("line", true)
		if strings.ContainsAny(line, "\n\r") {
			g.fail("line", "line must be a single line", "")
		}
		match := g.str("match", false)
		if match != "" {
			if _, err := regexp.CompilePOSIX(match); err != nil {
				g.fail("match", "match is not an extended regular expression: "+err.Error(), "")
			}
		}
		fmt.Fprintf(b, "_line_in_file %s %s %s\n", bake.ShellQuote(g.path("path")), bake.ShellQuote(match), bake.ShellQuote(line))
	}
}

// writeContent writes the shell that hands content to the next _file or
// _service: a heredoc when it is plain text, else printf or base64.
func writeContent(b *strings.Builder, content string) {
	switch {
	case strings.ContainsRune(content, 0) || !utf8.ValidString(content):
		fmt.Fprintf(b, "printf '%%s' %s | base64 -d >\"$_bake_tmp/content\"\n", base64.StdEncoding.EncodeToString([]byte(content)))
	case content == "" || !strings.HasSuffix(content, "\n"):
		fmt.Fprintf(b, "printf '%%s' %s >\"$_bake_tmp/content\"\n", bake.ShellQuote(content))
	default:
		b.WriteString(heredoc("_content", strings.TrimSuffix(content, "\n")) + "\n")
	}
}

// heredoc feeds text to cmd with a quoted heredoc whose delimiter does not
// occur in text.
func heredoc(cmd, text string) string {
	delim := "BAKE_EOF"
	lines := map[string]bool{}
	for _, l := range strings.Split(text, "\n") {
		lines[l] = true
	}
	for i := 2; lines[delim]; i++ {
		delim = fmt.Sprintf("BAKE_EOF_%d", i)
	}
	return fmt.Sprintf("%s <<'%s'\n%s\n%s", cmd, delim, strings.TrimSuffix(text, "\n"), delim)
}

func (c *compiler) fileContent(g getter) (string, bool) {
	var set []string
	for _, a := range []string{"content", "source", "template", "template_source"} {
		if v, ok := g.in.vals[a]; ok && !v.IsNull() {
			set = append(set, a)
		}
	}
	if len(set) != 1 {
		detail := "Give exactly one of content, source, template or template_source"
		if len(set) > 1 {
			detail += "; this file has " + strings.Join(set, " and ")
		}
		c.diags = append(c.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("%s needs its content", g.in.id),
			Detail: detail + ".", Subject: g.in.res.DefRange.Ptr()})
		return "", false
	}
	switch set[0] {
	case "content":
		return g.str("content", true), true
	case "source":
		data, err := os.ReadFile(g.local(g.str("source", true)))
		if err != nil {
			g.fail("source", "read the file's source: "+err.Error(), "Paths are relative to the recipe file (for built-in recipes, to the bake file).")
			return "", false
		}
		return string(data), true
	case "template":
		return g.template(g.str("template", true))
	default:
		data, err := os.ReadFile(g.local(g.str("template_source", true)))
		if err != nil {
			g.fail("template_source", "read the template: "+err.Error(), "Paths are relative to the recipe file (for built-in recipes, to the bake file).")
			return "", false
		}
		return g.template(string(data))
	}
}

// showValue renders a param value for a script's header and messages.
func showValue(v cty.Value) string {
	if v == cty.NilVal || v.IsNull() {
		return "null"
	}
	if v.Type() == cty.String {
		return strconv.Quote(v.AsString())
	}
	if v.Type() == cty.Number {
		return v.AsBigFloat().Text('f', -1)
	}
	if v.Type() == cty.Bool {
		return strconv.FormatBool(v.True())
	}
	var parts []string
	if v.CanIterateElements() {
		byMap := v.Type().IsMapType() || v.Type().IsObjectType()
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			if byMap {
				parts = append(parts, k.AsString()+"="+showValue(e))
			} else {
				parts = append(parts, showValue(e))
			}
		}
		if byMap {
			return "{" + strings.Join(parts, ", ") + "}"
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func diagError(diags hcl.Diagnostics) error {
	var msgs []string
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		msg := d.Summary
		if d.Detail != "" {
			msg += ": " + strings.TrimSuffix(d.Detail, ".")
		}
		if d.Subject != nil {
			msg = fmt.Sprintf("%s:%d: %s", d.Subject.Filename, d.Subject.Start.Line, msg)
		}
		msgs = append(msgs, msg)
	}
	if len(msgs) == 0 {
		return nil
	}
	return &Error{Diags: diags, msg: strings.Join(msgs, "\n")}
}

// Error is bad recipe input: every message names its file and line.
type Error struct {
	Diags hcl.Diagnostics
	msg   string
}

func (e *Error) Error() string { return e.msg }

// localPath resolves p against dir.
func localPath(dir, p string) string {
	if filepath.IsAbs(p) || dir == "" {
		return p
	}
	return filepath.Join(dir, p)
}
