// Package shell is the shell provisioner: inline commands, a script or
// scripts, with Packer's fields and meaning.
package shell

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"github.com/bakehq/bake/bake"
)

// DefaultExecuteCommand is Packer's.
const DefaultExecuteCommand = "chmod +x {{.Path}}; {{.Vars}} {{.Path}}"

// Config is a `provisioner "shell"` block.
type Config struct {
	Inline            []string          `hcl:"inline,optional"`
	Script            string            `hcl:"script,optional"`
	Scripts           []string          `hcl:"scripts,optional"`
	EnvironmentVars   []string          `hcl:"environment_vars,optional"`
	Env               map[string]string `hcl:"env,optional"`
	ExecuteCommand    string            `hcl:"execute_command,optional"`
	InlineShebang     string            `hcl:"inline_shebang,optional"`
	RemoteFolder      string            `hcl:"remote_folder,optional"`
	RemoteFile        string            `hcl:"remote_file,optional"`
	RemotePath        string            `hcl:"remote_path,optional"`
	SkipClean         bool              `hcl:"skip_clean,optional"`
	ExpectDisconnect  bool              `hcl:"expect_disconnect,optional"`
	ValidExitCodes    []int             `hcl:"valid_exit_codes,optional"`
	Binary            bool              `hcl:"binary,optional"`
	PauseAfter        string            `hcl:"pause_after,optional"`
	StartRetryTimeout string            `hcl:"start_retry_timeout,optional"`
	EnvVarFormat      string            `hcl:"env_var_format,optional"`
	UseEnvVarFile     bool              `hcl:"use_env_var_file,optional"`

	dir        string
	pauseAfter time.Duration
	tmpl       *template.Template
}

// Provisioner runs the configured commands.
type Provisioner struct{ cfg *Config }

// New decodes a shell provisioner block.
func New(dc bake.DecodeContext) (bake.Provisioner, hcl.Diagnostics) {
	var c Config
	diags := gohcl.DecodeBody(dc.Body, dc.Eval, &c)
	if diags.HasErrors() {
		return nil, diags
	}
	c.dir = dc.Dir
	bad := func(msg string) {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid shell provisioner", Detail: msg, Subject: dc.Range.Ptr()})
	}
	n := 0
	for _, set := range []bool{len(c.Inline) > 0, c.Script != "", len(c.Scripts) > 0} {
		if set {
			n++
		}
	}
	if n != 1 {
		bad("set exactly one of inline, script or scripts")
	}
	for _, s := range c.allScripts() {
		if _, err := os.Stat(s); err != nil {
			bad(fmt.Sprintf("script %s: %v", s, err))
		}
	}
	for _, kv := range c.EnvironmentVars {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			bad(fmt.Sprintf("environment_vars entry %q: write NAME=value", kv))
		}
	}
	if c.ExecuteCommand == "" {
		c.ExecuteCommand = DefaultExecuteCommand
	}
	t, err := template.New("execute_command").Option("missingkey=error").Parse(c.ExecuteCommand)
	if err != nil {
		bad(fmt.Sprintf("execute_command: %v", err))
	}
	c.tmpl = t
	if c.InlineShebang == "" {
		c.InlineShebang = "/bin/sh -e"
	}
	if c.RemoteFolder == "" {
		c.RemoteFolder = "/tmp"
	}
	if c.EnvVarFormat == "" {
		c.EnvVarFormat = "%s='%s' "
	}
	if len(c.ValidExitCodes) == 0 {
		c.ValidExitCodes = []int{0}
	}
	if c.PauseAfter != "" {
		if c.pauseAfter, err = time.ParseDuration(c.PauseAfter); err != nil {
			bad(fmt.Sprintf("pause_after %q: write a duration like 10s", c.PauseAfter))
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return &Provisioner{cfg: &c}, diags
}

func (c *Config) allScripts() []string {
	var out []string
	if c.Script != "" {
		out = append(out, c.Script)
	}
	out = append(out, c.Scripts...)
	for i, s := range out {
		if !filepath.IsAbs(s) {
			out[i] = filepath.Join(c.dir, s)
		}
	}
	return out
}

// Fingerprint adds the content of the scripts.
func (p *Provisioner) Fingerprint(h bake.FingerprintWriter) error {
	for _, s := range p.cfg.allScripts() {
		if err := h.AddFile("script", s); err != nil {
			return err
		}
	}
	return nil
}

// Provision runs the inline commands or each script in turn.
func (p *Provisioner) Provision(ctx context.Context, t *bake.Target) error {
	c := p.cfg
	env := p.env(t)
	if len(c.Inline) > 0 {
		script := strings.Join(c.Inline, "\n") + "\n"
		if c.ExecuteCommand == DefaultExecuteCommand && !c.UseEnvVarFile {
			// The default execute_command only runs the script: pass it
			// straight to the interpreter, no upload, one round trip.
			cmd := varsString(c.EnvVarFormat, env) + c.InlineShebang + " -c " + bake.ShellQuote(script)
			return p.run(ctx, t, cmd, strings.Join(c.Inline, "; "))
		}
		if err := p.uploadAndRun(ctx, t, env, []byte("#!"+c.InlineShebang+"\n"+script), "inline", strings.Join(c.Inline, "; ")); err != nil {
			return err
		}
		return p.pause(ctx)
	}
	for _, s := range c.allScripts() {
		b, err := os.ReadFile(s)
		if err != nil {
			return bake.BadInputf("read script %s: %w", s, err)
		}
		if err := p.uploadAndRun(ctx, t, env, b, filepath.Base(s), s); err != nil {
			return err
		}
	}
	return p.pause(ctx)
}

func (p *Provisioner) pause(ctx context.Context) error {
	if p.cfg.pauseAfter <= 0 {
		return nil
	}
	select {
	case <-time.After(p.cfg.pauseAfter):
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (p *Provisioner) uploadAndRun(ctx context.Context, t *bake.Target, env map[string]string, script []byte, base, shown string) error {
	c := p.cfg
	remote := c.RemotePath
	if remote == "" {
		name := c.RemoteFile
		if name == "" {
			name = fmt.Sprintf("bake-script-%d-%s.sh", time.Now().UnixNano(), bake.SafeName(base))
		}
		remote = path.Join(c.RemoteFolder, name)
	}
	if err := t.Comm.Upload(ctx, remote, bytes.NewReader(script), bake.FileInfo{Mode: 0o755, Size: int64(len(script)), ModTime: time.Now()}); err != nil {
		return fmt.Errorf("upload script %s: %w", shown, err)
	}
	var cmd bytes.Buffer
	if err := c.tmpl.Execute(&cmd, map[string]string{"Vars": varsString(c.EnvVarFormat, env), "Path": remote}); err != nil {
		return bake.BadInputf("execute_command: %w", err)
	}
	err := p.run(ctx, t, cmd.String(), shown)
	if !c.SkipClean && ctx.Err() == nil {
		if cerr := bake.RunChecked(ctx, t.Comm, "rm -f "+bake.ShellQuote(remote), nil); cerr != nil && err == nil {
			t.Log.Warn(fmt.Sprintf("remove uploaded script %s: %v", remote, cerr))
		}
	}
	return err
}

func (p *Provisioner) run(ctx context.Context, t *bake.Target, cmd, shown string) error {
	stdout, stderr := t.Log.Stdout(), t.Log.Stderr()
	tail := bake.NewTail(bake.TailBytes)
	code, err := t.Comm.Run(ctx, &bake.RemoteCmd{
		Command: cmd,
		Stdout:  io.MultiWriter(stdout, tail),
		Stderr:  io.MultiWriter(stderr, tail),
	})
	stdout.Close()
	stderr.Close()
	if err != nil {
		if p.cfg.ExpectDisconnect && ctx.Err() == nil {
			t.Log.Info(fmt.Sprintf("connection ended as expected (expect_disconnect): %v", err))
			if r, ok := t.Comm.(bake.Reconnector); ok {
				return r.Reconnect(ctx)
			}
			return nil
		}
		return err
	}
	for _, ok := range p.cfg.ValidExitCodes {
		if code == ok {
			return nil
		}
	}
	return &bake.RunError{Command: shown, ExitCode: code, Output: tail.String(), Hint: hint(code, tail.String())}
}

func (p *Provisioner) env(t *bake.Target) map[string]string {
	env := map[string]string{
		"PACKER_BUILD_NAME":   t.Source,
		"PACKER_BUILDER_TYPE": "",
		"BAKE_BUILD_NAME":     t.Source,
		"BAKE_VERSION":        t.Version,
	}
	for k, v := range p.cfg.Env {
		env[k] = v
	}
	for _, kv := range p.cfg.EnvironmentVars {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

// varsString renders env as Packer's {{.Vars}}: NAME='value' pairs,
// sorted, single quotes in values escaped.
func varsString(format string, env map[string]string) string {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, format, k, strings.ReplaceAll(env[k], "'", `'"'"'`))
	}
	return b.String()
}

func hint(code int, out string) string {
	switch {
	case code == 127 || strings.Contains(out, "not found"):
		return "a command was not found: install it in an earlier step, or check its spelling and PATH"
	case code == 126:
		return "a command could not be executed: check its permissions"
	case strings.Contains(out, "Unable to locate package"):
		return "apt-get does not know the package: run apt-get update first, or check the package name"
	case strings.Contains(out, "Temporary failure resolving") || strings.Contains(out, "Could not resolve"):
		return "the build container has no DNS/network: check the engine's network"
	}
	return ""
}
