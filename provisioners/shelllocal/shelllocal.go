// Package shelllocal is Packer's shell-local, as a provisioner and as a
// post-processor: inline commands, a script or scripts run on this
// machine (not in the one being baked), with Packer's arguments (decoded
// with packer-plugin-sdk's shell-local spec), defaults and environment
// (PACKER_BUILD_NAME, PACKER_BUILDER_TYPE).
package shelllocal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	sl "github.com/hashicorp/packer-plugin-sdk/shell-local"
	"github.com/zclconf/go-cty/cty"

	"github.com/bakehq/bake/bake"
)

// Config is a shell-local block.
type Config struct {
	Inline          []string
	Scripts         []string // script and scripts, as absolute paths
	EnvironmentVars []string
	Env             map[string]string
	EnvVarFormat    string
	ExecuteCommand  []string
	InlineShebang   string
	OnlyOn          []string
	ValidExitCodes  []int
	TempfileExt     string
	UseLinuxPathing bool

	// BuildName and BuilderType are PACKER_BUILD_NAME (the source's name)
	// and PACKER_BUILDER_TYPE.
	BuildName, BuilderType string
}

// Decode decodes a shell-local block with the SDK's spec.
func Decode(dc bake.DecodeContext, kind string) (*Config, hcl.Diagnostics) {
	v, diags := hcldec.Decode(dc.Body, hcldec.ObjectSpec((*sl.FlatConfig)(nil).HCL2Spec()), dc.Eval)
	if diags.HasErrors() {
		return nil, diags
	}
	g := getter{v}
	c := &Config{
		Inline: g.list("inline"), EnvironmentVars: g.list("environment_vars"), Env: g.strmap("env"),
		EnvVarFormat: g.str("env_var_format"), ExecuteCommand: g.list("execute_command"),
		InlineShebang: g.str("inline_shebang"), OnlyOn: g.list("only_on"),
		TempfileExt: strings.TrimPrefix(g.str("tempfile_extension"), "."), UseLinuxPathing: g.bool("use_linux_pathing"),
	}
	for _, n := range g.numbers("valid_exit_codes") {
		c.ValidExitCodes = append(c.ValidExitCodes, n)
	}
	c.BuildName, c.BuilderType = sourceFacts(dc)
	bad := func(msg string) {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid shell-local " + kind, Detail: msg, Subject: dc.Range.Ptr()})
	}
	command, script, scripts := g.str("command"), g.str("script"), g.list("scripts")
	n := 0
	for _, set := range []bool{command != "", len(c.Inline) > 0, script != "", len(scripts) > 0} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		bad("set one of inline, script, scripts or command")
	case n > 1:
		bad("set only one of inline, script, scripts and command (Packer's rule): put them into one")
	}
	if command != "" {
		c.Inline = []string{command}
	}
	if script != "" {
		scripts = []string{script}
	}
	for _, s := range scripts {
		// Packer resolves scripts from the working directory.
		abs, err := filepath.Abs(s)
		if err != nil {
			bad(fmt.Sprintf("script %s: %v", s, err))
			continue
		}
		if _, err := os.Stat(abs); err != nil {
			wd, _ := os.Getwd()
			bad(fmt.Sprintf("script %s: %v (relative paths are from the working directory %s, as in Packer; write \"${path.root}/%s\" for one beside the template)", s, err, wd, s))
		}
		c.Scripts = append(c.Scripts, abs)
	}
	supported := map[string]bool{"darwin": true, "freebsd": true, "linux": true, "openbsd": true, "solaris": true, "windows": true}
	for _, o := range c.OnlyOn {
		if !supported[o] {
			bad(fmt.Sprintf("only_on %q is not one of darwin, freebsd, linux, openbsd, solaris, windows", o))
		}
	}
	for _, kv := range c.EnvironmentVars {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			bad(fmt.Sprintf("environment_vars entry %q: write NAME=value", kv))
		}
	}
	if c.UseLinuxPathing && len(c.Inline) > 0 {
		bad("use_linux_pathing works with script or scripts only, not inline or command (as in Packer)")
	}
	if c.InlineShebang == "" {
		c.InlineShebang = "/bin/sh -e"
	}
	if len(c.ExecuteCommand) == 0 {
		c.ExecuteCommand = []string{"/bin/sh", "-c", "{{.Vars}} {{.Script}}"}
	}
	if c.EnvVarFormat == "" {
		c.EnvVarFormat = "%s='%s' "
	}
	if len(c.ValidExitCodes) == 0 {
		c.ValidExitCodes = []int{0}
	}
	return c, diags
}

// sourceFacts are the source's name and type from the block's
// evaluation context (source.name, source.type).
func sourceFacts(dc bake.DecodeContext) (name, typ string) {
	if dc.Eval == nil {
		return "", ""
	}
	for ctx := dc.Eval; ctx != nil; ctx = ctx.Parent() {
		src, ok := ctx.Variables["source"]
		if !ok || !src.Type().IsObjectType() {
			continue
		}
		get := func(k string) string {
			if src.Type().HasAttribute(k) {
				if v := src.GetAttr(k); v.IsKnown() && !v.IsNull() && v.Type() == cty.String {
					return v.AsString()
				}
			}
			return ""
		}
		return get("name"), get("type")
	}
	return "", ""
}

// Run runs the commands or scripts on this machine, their output on log.
// A failure is a *bake.RunError with the exit code and output tail.
func (c *Config) Run(ctx context.Context, log bake.Log) error {
	if len(c.OnlyOn) > 0 {
		on := false
		for _, o := range c.OnlyOn {
			on = on || o == runtime.GOOS
		}
		if !on {
			log.Info(fmt.Sprintf("skipped: only_on %s, and this machine runs %s", strings.Join(c.OnlyOn, ", "), runtime.GOOS))
			return nil
		}
	}
	scripts := c.Scripts
	if len(c.Inline) > 0 {
		f, err := os.CreateTemp("", "bake-shell-local-*")
		if err != nil {
			return fmt.Errorf("write the inline script: %w", err)
		}
		name := f.Name()
		defer os.Remove(name)
		body := "#!" + c.InlineShebang + "\n" + strings.Join(c.Inline, "\n") + "\n"
		if _, err := f.WriteString(body); err != nil {
			f.Close()
			return fmt.Errorf("write the inline script: %w", err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("write the inline script: %w", err)
		}
		if c.TempfileExt != "" {
			if err := os.Rename(name, name+"."+c.TempfileExt); err != nil {
				return err
			}
			name += "." + c.TempfileExt
			defer os.Remove(name)
		}
		if err := os.Chmod(name, 0o700); err != nil {
			return err
		}
		scripts = []string{name}
	}
	vars := c.vars()
	for _, s := range scripts {
		if c.UseLinuxPathing {
			if conv, err := sl.ConvertToLinuxPath(s); err == nil {
				s = conv
			}
		}
		argv := make([]string, len(c.ExecuteCommand))
		for i, a := range c.ExecuteCommand {
			argv[i] = c.render(a, map[string]string{"Vars": vars, "Script": s, "Command": s})
		}
		shown := s
		if len(c.Inline) > 0 {
			shown = strings.Join(c.Inline, "; ")
		}
		log.Info("running local shell script: " + shown)
		if err := c.exec(ctx, argv, shown, log); err != nil {
			return err
		}
	}
	return nil
}

func (c *Config) exec(ctx context.Context, argv []string, shown string, log bake.Log) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	out, errw := log.Stdout(), log.Stderr()
	tail := &tailBuffer{max: 4 << 10}
	cmd.Stdout = multi(out, tail)
	cmd.Stderr = multi(errw, tail)
	cmd.Env = os.Environ()
	err := cmd.Run()
	out.Close()
	errw.Close()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return &bake.RunError{Command: shown, ExitCode: -1, Output: err.Error(), Hint: fmt.Sprintf("execute_command %q could not be started", argv)}
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	for _, ok := range c.ValidExitCodes {
		if code == ok {
			return nil
		}
	}
	return &bake.RunError{Command: shown, ExitCode: code, Output: tail.String(), Hint: fmt.Sprintf("valid exit codes are %v", c.ValidExitCodes)}
}

// vars are the environment, in env_var_format, sorted: Packer's two,
// then environment_vars and env (single quotes escaped for the shell).
func (c *Config) vars() string {
	env := map[string]string{"PACKER_BUILD_NAME": c.BuildName, "PACKER_BUILDER_TYPE": c.BuilderType}
	for _, kv := range c.EnvironmentVars {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = strings.ReplaceAll(v, "'", `'"'"'`)
	}
	for k, v := range c.Env {
		env[k] = strings.ReplaceAll(v, "'", `'"'"'`)
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, c.EnvVarFormat, k, env[k])
	}
	return b.String()
}

var tmplRE = regexp.MustCompile(`\{\{\s*(\.[A-Za-z]+|build_name|build_type)\s*\}\}`)

// render expands execute_command's {{.Vars}}, {{.Script}}, {{.Command}}
// and Packer's {{build_name}} / {{build_type}}.
func (c *Config) render(s string, data map[string]string) string {
	return tmplRE.ReplaceAllStringFunc(s, func(m string) string {
		key := strings.TrimSpace(strings.Trim(m, "{}"))
		switch key {
		case "build_name":
			return c.BuildName
		case "build_type":
			return c.BuilderType
		}
		if v, ok := data[strings.TrimPrefix(key, ".")]; ok {
			return v
		}
		return m
	})
}

type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimLeft(t.b, "\n"))
}

type multiWriter []interface{ Write([]byte) (int, error) }

func multi(ws ...interface{ Write([]byte) (int, error) }) multiWriter { return ws }

func (m multiWriter) Write(p []byte) (int, error) {
	for _, w := range m {
		if _, err := w.Write(p); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Provisioner is `provisioner "shell-local"`.
type Provisioner struct{ cfg *Config }

// NewProvisioner decodes a shell-local provisioner block.
func NewProvisioner(dc bake.DecodeContext) (bake.Provisioner, hcl.Diagnostics) {
	c, diags := Decode(dc, "provisioner")
	if diags.HasErrors() {
		return nil, diags
	}
	return &Provisioner{cfg: c}, diags
}

// Config is the decoded block.
func (p *Provisioner) Config() *Config { return p.cfg }

// Fingerprint adds the content of the scripts.
func (p *Provisioner) Fingerprint(h bake.FingerprintWriter) error {
	for _, s := range p.cfg.Scripts {
		if err := h.AddFile("script", s); err != nil {
			return err
		}
	}
	return nil
}

// Volatile: what a local command does to the machine cannot be known
// from its inputs, so its step is not cached unless it says cache = true.
func (p *Provisioner) Volatile() bool { return true }

// Provision runs the commands here, not on the machine.
func (p *Provisioner) Provision(ctx context.Context, t *bake.Target) error {
	return p.cfg.Run(ctx, t.Log)
}

type getter struct{ v cty.Value }

func (g getter) attr(n string) cty.Value {
	a := g.v.GetAttr(n)
	if a.IsNull() || !a.IsKnown() {
		return cty.NilVal
	}
	return a
}

func (g getter) str(n string) string {
	if a := g.attr(n); a != cty.NilVal {
		return a.AsString()
	}
	return ""
}

func (g getter) bool(n string) bool {
	a := g.attr(n)
	return a != cty.NilVal && a.True()
}

func (g getter) list(n string) []string {
	a := g.attr(n)
	if a == cty.NilVal {
		return nil
	}
	var out []string
	for it := a.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if !e.IsNull() && e.IsKnown() {
			out = append(out, e.AsString())
		}
	}
	return out
}

func (g getter) numbers(n string) []int {
	a := g.attr(n)
	if a == cty.NilVal {
		return nil
	}
	var out []int
	for it := a.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if !e.IsNull() && e.IsKnown() {
			i, _ := e.AsBigFloat().Int64()
			out = append(out, int(i))
		}
	}
	return out
}

func (g getter) strmap(n string) map[string]string {
	a := g.attr(n)
	if a == cty.NilVal {
		return nil
	}
	out := map[string]string{}
	for it := a.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if !e.IsNull() && e.IsKnown() {
			out[k.AsString()] = e.AsString()
		}
	}
	return out
}
