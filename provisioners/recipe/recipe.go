// Package recipe is the recipe provisioner:
//
//	provisioner "recipe" {
//	  name   = "nginx"
//	  params = { port = 8080 }
//	}
//
// It compiles the recipe to one sh script when the bake file is decoded
// (so bad input fails before anything boots), uploads it with the
// directories it copies, runs it, and counts the resources it changed.
package recipe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/recipes"
)

// Provisioner applies one compiled recipe.
type Provisioner struct {
	Script *recipes.Script
	Env    map[string]string

	mu     sync.Mutex
	labels map[string]string
	cmd    string
}

var blockSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "name"}, {Name: "params"}, {Name: "env"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "recipe", LabelNames: []string{"name"}}},
}

// New decodes a recipe provisioner block. The recipe is found among the
// recipe blocks inside it, the recipe blocks of the bake files and the
// .hcl recipe files in the bake file's directory, and the built-in
// library, in that order. bake/config parses the bake files' recipe
// blocks too (Config.Recipes), but DecodeContext does not carry them, so
// they are read here from the bake file's folder (dc.Root); recipe paths
// are relative to it.
func New(dc bake.DecodeContext) (bake.Provisioner, hcl.Diagnostics) {
	content, diags := dc.Body.Content(blockSchema)
	if diags.HasErrors() {
		return nil, diags
	}
	lib, err := recipes.NewLibrary()
	if err != nil {
		return nil, errDiags(err, dc.Range)
	}
	dir := dc.Root
	if dir == "" {
		dir = dc.Dir
	}
	if err := lib.LoadDir(dir); err != nil {
		return nil, errDiags(err, dc.Range)
	}
	seen := map[string]*recipes.Recipe{}
	var inline []*recipes.Recipe
	for _, b := range content.Blocks {
		r, d := recipes.ParseBlock(b)
		diags = append(diags, d...)
		if r == nil {
			continue
		}
		if prev, dup := seen[r.Name]; dup {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("duplicate recipe %q", r.Name),
				Detail: fmt.Sprintf("Recipe %q is also defined at %s.", r.Name, prev.DefRange), Subject: r.DefRange.Ptr()})
			continue
		}
		seen[r.Name] = r
		r.Dir = dir
		inline = append(inline, r)
		lib.Put(r)
	}
	if diags.HasErrors() {
		return nil, diags
	}

	name := ""
	var nameRange *hcl.Range
	if a, ok := content.Attributes["name"]; ok {
		nameRange = a.Expr.Range().Ptr()
		v, d := a.Expr.Value(dc.Eval)
		diags = append(diags, d...)
		if s, err := convert.Convert(v, cty.String); err != nil || s.IsNull() || !s.IsKnown() {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "name must be a recipe name", Subject: nameRange})
		} else {
			name = s.AsString()
		}
	} else if len(inline) == 1 {
		name = inline[0].Name
	} else {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Missing recipe name",
			Detail: `Say which recipe to apply: name = "nginx" (see bake recipe list).`, Subject: dc.Range.Ptr()})
	}
	args := map[string]recipes.Arg{}
	if a, ok := content.Attributes["params"]; ok {
		pairs, d := hcl.ExprMap(a.Expr)
		diags = append(diags, d...)
		for _, kv := range pairs {
			k, d := kv.Key.Value(dc.Eval)
			diags = append(diags, d...)
			if d.HasErrors() {
				continue
			}
			if k.Type() != cty.String || k.IsNull() {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "param names must be plain names", Subject: kv.Key.Range().Ptr()})
				continue
			}
			v, d := kv.Value.Value(dc.Eval)
			diags = append(diags, d...)
			args[k.AsString()] = recipes.Arg{Value: v, Range: kv.Value.Range()}
		}
	}
	p := &Provisioner{Env: map[string]string{}}
	if a, ok := content.Attributes["env"]; ok {
		v, d := a.Expr.Value(dc.Eval)
		diags = append(diags, d...)
		m, err := convert.Convert(v, cty.Map(cty.String))
		if !d.HasErrors() && (err != nil || m.IsNull()) {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "env must be a map of strings", Subject: a.Expr.Range().Ptr()})
		} else if err == nil && !m.IsNull() {
			for k, v := range m.AsValueMap() {
				p.Env[k] = v.AsString()
			}
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	if _, ok := lib.Get(name); !ok {
		subject := nameRange
		if subject == nil {
			subject = dc.Range.Ptr()
		}
		return nil, errDiags(lib.Unknown(name, subject), *subject)
	}
	s, err := lib.Compile(name, args, dir)
	if err != nil {
		return nil, errDiags(err, dc.Range)
	}
	p.Script = s
	return p, diags
}

func errDiags(err error, rng hcl.Range) hcl.Diagnostics {
	var re *recipes.Error
	if errors.As(err, &re) {
		var out hcl.Diagnostics
		for _, d := range re.Diags {
			if d.Subject == nil {
				c := *d
				c.Subject = rng.Ptr()
				d = &c
			}
			out = append(out, d)
		}
		return out
	}
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid recipe provisioner", Detail: err.Error(), Subject: rng.Ptr()}}
}

// Fingerprint is the compiled script (the recipe's content and params)
// and the directories it copies.
func (p *Provisioner) Fingerprint(h bake.FingerprintWriter) error {
	h.Add("recipe-script", []byte(p.Script.Text))
	for _, a := range p.Script.Assets {
		if err := h.AddFile("recipe-asset-"+a.Name, a.Local); err != nil {
			return fmt.Errorf("fingerprint %s: %w", a.Local, err)
		}
	}
	return nil
}

// Provision applies the recipe and reports how many resources changed.
func (p *Provisioner) Provision(ctx context.Context, t *bake.Target) error {
	res, err := Apply(ctx, t.Comm, p.Script, p.Env, t.Log)
	if err != nil {
		return err
	}
	fields := map[string]string{
		"recipe": p.Script.Recipe, "resources": strconv.Itoa(res.Resources()), "changed": strconv.Itoa(len(res.Changed)),
	}
	for k, v := range res.Facts {
		fields["recipe."+k] = v
	}
	if res.ImageCmd != "" {
		fields["image_cmd"] = res.ImageCmd
	}
	t.Log.Event(bake.Event{Type: bake.EventInfo, Fields: fields,
		Message: fmt.Sprintf("recipe %s: %d of %d resources changed", p.Script.Recipe, len(res.Changed), res.Resources())})
	p.mu.Lock()
	defer p.mu.Unlock()
	p.labels = map[string]string{}
	for k, v := range res.Facts {
		p.labels[LabelPrefix+p.Script.Recipe+"."+k] = v
	}
	p.cmd = res.ImageCmd
	return nil
}

// LabelPrefix starts the artifact labels of a recipe's facts:
// dev.bake.recipe.security-patches.packages_upgraded=12.
const LabelPrefix = "dev.bake.recipe."

// ArtifactLabels are the facts the last Provision reported (how many
// packages security-patches upgraded), as labels for the artifact.
func (p *Provisioner) ArtifactLabels() map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]string, len(p.labels))
	for k, v := range p.labels {
		out[k] = v
	}
	return out
}

// Volatile: a recipe that upgrades packages (security-patches) does
// something new every day, so its step is not cached unless it says
// cache = true.
func (p *Provisioner) Volatile() bool { return p.Script.Volatile }

// ImageCmd is the process the image must run for the recipe's services
// where no systemd runs (/usr/local/sbin/bake-services), or "" when the
// recipe has no service or the machine runs systemd.
func (p *Provisioner) ImageCmd() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd
}

// Result is what applying a recipe did.
type Result struct {
	Changed  []string // KIND[NAME] of the resources that changed
	OK       []string // those that were already right
	Facts    map[string]string
	ImageCmd string // the process the image must run, when services need one
	Notes    []string
	Elapsed  time.Duration
}

// Resources is how many resources were applied.
func (r *Result) Resources() int { return len(r.Changed) + len(r.OK) }

// Apply runs s on c. Its output goes to log line by line; a failing
// resource is a *bake.RunError that names it and carries the output tail.
func Apply(ctx context.Context, c bake.Communicator, s *recipes.Script, env map[string]string, log bake.Log) (*Result, error) {
	start := time.Now()
	dir := "/tmp/bake-recipe-" + uuid.NewString()[:8]
	if err := bake.RunChecked(ctx, c, "mkdir -m 700 "+dir, nil); err != nil {
		return nil, fmt.Errorf("recipe %s: make %s: %w", s.Recipe, dir, err)
	}
	script := []byte(s.Text)
	if err := c.Upload(ctx, dir+"/run.sh", bytes.NewReader(script), bake.FileInfo{Mode: 0o700, Size: int64(len(script)), ModTime: time.Now()}); err != nil {
		return nil, fmt.Errorf("recipe %s: upload script: %w", s.Recipe, err)
	}
	for _, a := range s.Assets {
		if err := bake.UploadDir(ctx, c, dir+"/assets/"+a.Name, a.Local); err != nil {
			return nil, fmt.Errorf("recipe %s: upload %s: %w", s.Recipe, a.Local, err)
		}
	}
	runEnv := map[string]string{"BAKE_RECIPE_DIR": dir, "BAKE_ASSETS": dir + "/assets"}
	for k, v := range env {
		runEnv[k] = v
	}
	res := &Result{Facts: map[string]string{}}
	tail := bake.NewTail(bake.TailBytes)
	stdout, stderr := log.Stdout(), log.Stderr()
	lines := &lineScanner{res: res}
	code, err := c.Run(ctx, &bake.RemoteCmd{
		Command: "/bin/sh " + dir + "/run.sh",
		Env:     runEnv,
		Stdout:  io.MultiWriter(stdout, tail, lines),
		Stderr:  io.MultiWriter(stderr, tail),
	})
	stdout.Close()
	stderr.Close()
	lines.Close()
	res.Elapsed = time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("recipe %s: run script: %w", s.Recipe, err)
	}
	if code != 0 {
		what := "recipe " + s.Recipe
		hint := "the script stopped before any resource; see the output above"
		if lines.failed != "" {
			what += ": " + lines.failed
			hint = "the resource above failed; earlier resources were applied, later ones were not"
		}
		return res, &bake.RunError{Command: what, ExitCode: code, Output: tail.String(), Hint: hint}
	}
	if !lines.done {
		return res, fmt.Errorf("recipe %s: the script ended without reporting done; see its output", s.Recipe)
	}
	return res, nil
}

// lineScanner reads the script's bake-recipe: lines.
type lineScanner struct {
	mu     sync.Mutex
	buf    []byte
	res    *Result
	failed string
	done   bool
}

func (l *lineScanner) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.line(string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
	return len(p), nil
}

func (l *lineScanner) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.line(string(l.buf))
		l.buf = nil
	}
}

func (l *lineScanner) line(s string) {
	rest, ok := strings.CutPrefix(strings.TrimRight(s, "\r"), recipes.LinePrefix)
	if !ok {
		return
	}
	verb, arg, _ := strings.Cut(rest, " ")
	switch verb {
	case "ok":
		l.res.OK = append(l.res.OK, arg)
	case "changed":
		l.res.Changed = append(l.res.Changed, arg)
	case "failed":
		l.failed = arg
	case "fact":
		if k, v, ok := strings.Cut(arg, "="); ok {
			l.res.Facts[k] = v
		}
	case "image-cmd":
		l.res.ImageCmd = arg
	case "note":
		l.res.Notes = append(l.res.Notes, arg)
	case "done":
		l.done = true
	}
}
