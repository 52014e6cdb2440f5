// Package packer runs Packer plugin provisioners (ansible, puppet,
// chef, inspec...) in a bake, against bake's own communicators. A plugin
// is started as Packer starts it, spoken to with packer-plugin-sdk's RPC
// client, and killed when its step ends.
package packer

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/bakehq/bake/bake"
)

// NewFunc decodes one provisioner block.
type NewFunc = func(bake.DecodeContext) (bake.Provisioner, hcl.Diagnostics)

// decodeTimeout bounds starting a plugin and checking a block's config.
const decodeTimeout = 2 * time.Minute

// cancelGrace is how long a cancelled plugin gets to stop its commands
// before it is killed.
const cancelGrace = 10 * time.Second

// Add adds to provs a type for every Packer provisioner s finds whose
// name bake does not have, and "packer.NAME" for every one: bake's own
// types always win a bare name. It returns provs.
//
// The SDK's RPC client writes debug lines with the standard logger,
// which bake does not use otherwise; Add silences it.
func Add(ctx context.Context, provs map[string]NewFunc, s Search) map[string]NewFunc {
	log.SetOutput(io.Discard)
	for name, p := range Find(ctx, s) {
		if _, ok := provs[name]; !ok {
			provs[name] = factory(p)
		}
		provs[Prefix+name] = factory(p)
	}
	return provs
}

// Provisioner is a block run by a Packer plugin.
type Provisioner struct {
	plugin  *Plugin
	config  cty.Value // the block, decoded with the plugin's spec
	dir     string
	runUUID string
	paths   map[string]string // path-like attributes that name local files
	// userVars are the bake file's variables, for Prepare.
	userVars map[string]string
}

func factory(p *Plugin) NewFunc {
	return func(dc bake.DecodeContext) (bake.Provisioner, hcl.Diagnostics) {
		ctx, cancel := context.WithTimeout(context.Background(), decodeTimeout)
		defer cancel()
		return New(ctx, p, dc)
	}
}

// New starts p to decode the block with p's config spec and to check it
// with p's Prepare, so that config errors show before a bake.
func New(ctx context.Context, p *Plugin, dc bake.DecodeContext) (bake.Provisioner, hcl.Diagnostics) {
	bad := func(err error) hcl.Diagnostics {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid Packer provisioner " + p.Name,
			Detail: err.Error(), Subject: dc.Range.Ptr()}}
	}
	r, err := startPlugin(ctx, p, dc.Dir)
	if err != nil {
		return nil, bad(err)
	}
	defer r.close()
	// A plugin that hangs is killed at ctx's deadline, which ends the call.
	defer context.AfterFunc(ctx, func() { r.close() })()
	spec, err := configSpec(r)
	if err != nil {
		return nil, bad(r.withLog(err))
	}
	val, diags := hcldec.Decode(dc.Body, spec, dc.Eval)
	if diags.HasErrors() {
		return nil, diags
	}
	prep := val
	if p.inproc != nil {
		if err := needProgram(p, localCommand(p, val)); err != nil {
			return nil, bad(err)
		}
		prep = absPaths(val, dc.Dir)
	}
	vars := userVars(dc.Eval)
	// A block is checked once for all its build's sources: a stand-in
	// source, so that `{{ build_name }}` renders.
	if err := r.provisioner().Prepare(buildVars(checkSource, vars), prep); err != nil {
		return nil, bad(fmt.Errorf("%s (%s) rejects the block: %w", p.Name, p.From, err))
	}
	if err := r.close(); err != nil {
		return nil, bad(err)
	}
	return &Provisioner{plugin: p, config: val, dir: dc.Dir, runUUID: dc.RunUUID, userVars: vars, paths: localPaths(val, dc.Dir)}, diags
}

// userVars are the string values of the bake file's variables, for
// Prepare's packer_user_variables (`{{ user "name" }}` in Packer's
// templates). Other values are JSON, as Packer's CLI takes them.
func userVars(ev *hcl.EvalContext) map[string]string {
	out := map[string]string{}
	if ev == nil {
		return out
	}
	v, ok := ev.Variables["var"]
	if !ok || v.IsNull() || !v.IsKnown() || !(v.Type().IsObjectType() || v.Type().IsMapType()) {
		return out
	}
	for name, av := range v.AsValueMap() {
		switch {
		case !av.IsWhollyKnown() || av.IsNull():
		case av.Type() == cty.String:
			out[name] = av.AsString()
		default:
			if b, err := ctyjson.Marshal(av, av.Type()); err == nil {
				out[name] = string(b)
			}
		}
	}
	return out
}

// startPlugin starts p, or says why p cannot be started.
func startPlugin(ctx context.Context, p *Plugin, dir string) (*running, error) {
	if p.Err != nil {
		return nil, p.Err
	}
	if p.inproc != nil {
		return startInproc(p)
	}
	if p.builtinOf != "" {
		// Sources bake in parallel: the first to use it settles Args.
		p.argsOnce.Do(func() { p.Args, p.argsErr = packerArgs(ctx, p.builtinOf, p.Name) })
		if p.argsErr != nil {
			return nil, p.argsErr
		}
	}
	return start(ctx, p, dir)
}

// configSpec asks for the plugin's HCL spec. The SDK's client panics
// when the call fails (a packer that has no such built-in serves nothing).
func configSpec(r *running) (spec hcldec.ObjectSpec, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("packer plugin %s %s has no provisioner %s, or cannot describe its config: %v",
				r.plugin.Path, strings.Join(r.plugin.Args, " "), r.plugin.Name, v)
		}
	}()
	return r.provisioner().ConfigSpec(), nil
}

// checkSource stands for the source when a block is checked before a
// bake, for all the sources of its build.
const checkSource = "bake.check"

// buildVars are the packer_* settings Packer core gives every
// provisioner's Prepare, for a source named TYPE.NAME (packer_build_name
// is NAME, as in Packer, and `{{ build_name }}` expands to it), with the
// bake file's variables.
func buildVars(source string, vars map[string]string) map[string]interface{} {
	parts := strings.Split(source, ".")
	name, typ := parts[len(parts)-1], ""
	if len(parts) >= 2 {
		typ = parts[len(parts)-2]
	}
	return map[string]interface{}{
		"packer_build_name":     name,
		"packer_builder_type":   typ,
		"packer_debug":          false,
		"packer_force":          false,
		"packer_on_error":       "cleanup",
		"packer_user_variables": vars,
	}
}

// Packer's placeholders for generated data a builder does not provide
// (the SDK's commonsteps).
const (
	httpAddrNotImplemented = "ERR_HTTP_ADDR_NOT_IMPLEMENTED_BY_BUILDER"
	httpIPNotImplemented   = "ERR_HTTP_IP_NOT_IMPLEMENTED_BY_BUILDER"
	httpPortNotImplemented = "ERR_HTTP_PORT_NOT_IMPLEMENTED_BY_BUILDER"
)

// generatedData is what Packer's provision step hands a provisioner.
func (p *Provisioner) generatedData(t *bake.Target) map[string]interface{} {
	return map[string]interface{}{
		"PackerRunUUID":  p.runUUID,
		"ID":             t.Source,
		"PackerHTTPAddr": httpAddrNotImplemented,
		"PackerHTTPIP":   httpIPNotImplemented,
		"PackerHTTPPort": httpPortNotImplemented,
		"ConnType":       "bake",
		"Host":           "",
		"Port":           0,
		"User":           "",
		"Password":       "",
		"SSHPublicKey":   "",
		"SSHPrivateKey":  "",
	}
}

// Provision starts the plugin, prepares it with the block and lets it
// provision the machine through t's communicator. The plugin is killed
// when the step ends, is cancelled or times out.
func (p *Provisioner) Provision(ctx context.Context, t *bake.Target) error {
	t.Log.Info(fmt.Sprintf("running Packer provisioner %s (%s)", p.plugin.Name, p.plugin.From))
	r, err := startPlugin(ctx, p.plugin, p.dir)
	if err != nil {
		return err
	}
	defer r.close()
	prov := r.provisioner()
	config := p.config
	if r.inproc != nil {
		if err := needProgram(p.plugin, localCommand(p.plugin, config)); err != nil {
			return err
		}
		config = inprocConfig(r, config, p.dir)
	}
	stop := context.AfterFunc(ctx, func() { r.close() }) // a hung Prepare
	err = prov.Prepare(buildVars(t.Source, p.userVars), config)
	if !stop() {
		return fmt.Errorf("packer provisioner %s: %w", p.plugin.Name, ctx.Err())
	}
	if err != nil {
		return bake.BadInputf("packer provisioner %s (%s) rejects the block: %w", p.plugin.Name, p.plugin.From, err)
	}
	u := newUI(t.Log)
	defer u.close()
	c := &comm{ctx: ctx, c: t.Comm}
	done := make(chan error, 1)
	go func() { done <- prov.Provision(ctx, u, c, p.generatedData(t)) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		// The SDK asks the plugin to cancel; give it a moment to
		// return, then kill it, which ends the call. A built-in's
		// commands already fail (the communicator has ctx), but the
		// local ones it started (ansible-playbook) do not see ctx.
		if r.inproc != nil {
			killMentioning(r.tmp)
		}
		select {
		case err = <-done:
		case <-time.After(cancelGrace):
		}
		if cerr := r.close(); cerr != nil {
			return fmt.Errorf("packer provisioner %s: %w (stopping it: %v)", p.plugin.Name, ctx.Err(), cerr)
		}
		return fmt.Errorf("packer provisioner %s: %w", p.plugin.Name, ctx.Err())
	}
	if err == nil {
		return r.close()
	}
	msg := strings.TrimSpace(err.Error())
	// ansible-playbook's output (which task failed and why) comes as
	// the plugin's messages.
	out := ""
	if r.inproc != nil {
		if o := strings.TrimSpace(u.out.String()); o != "" {
			out = "\n--- its last output ---\n" + o
		}
	}
	if run := c.lastFailure(); run != nil {
		run.Hint = fmt.Sprintf("packer provisioner %s (%s) says: %s%s", p.plugin.Name, p.plugin.From, msg, out)
		return run
	}
	if said := strings.TrimSpace(u.errs.String()); said != "" {
		msg += "\n--- the plugin's errors ---\n" + said
	}
	msg += out
	return fmt.Errorf("packer provisioner %s (%s): %s", p.plugin.Name, p.plugin.From, msg)
}

// Fingerprint adds the local files the block names in path-like
// attributes (playbook_file, script, ...): a plugin reads them by itself.
func (p *Provisioner) Fingerprint(h bake.FingerprintWriter) error {
	names := make([]string, 0, len(p.paths))
	for n := range p.paths {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := h.AddFile(n, p.paths[n]); err != nil {
			return fmt.Errorf("packer provisioner %s: read %s: %w", p.plugin.Name, n, err)
		}
	}
	return nil
}

// localPaths finds the attributes of v that look like local paths and
// name a file, or a directory under dir: NAME_file, NAME_path, NAME_dir
// (and their plurals), script(s) and source(s); never remote_*,
// staging_* or destination*.
func localPaths(v cty.Value, dir string) map[string]string {
	out := map[string]string{}
	if v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() {
		return out
	}
	for name, av := range v.AsValueMap() {
		if !pathLike(name) || av.IsNull() || !av.IsKnown() {
			continue
		}
		var strs []string
		switch {
		case av.Type() == cty.String:
			strs = []string{av.AsString()}
		case av.Type().IsListType() || av.Type().IsTupleType() || av.Type().IsSetType():
			for _, e := range av.AsValueSlice() {
				if e.IsKnown() && !e.IsNull() && e.Type() == cty.String {
					strs = append(strs, e.AsString())
				}
			}
		}
		for i, s := range strs {
			if s == "" {
				continue
			}
			local := s
			if !filepath.IsAbs(local) {
				local = filepath.Join(dir, local)
			}
			fi, err := os.Stat(local)
			if err != nil || (fi.IsDir() && filepath.IsAbs(s)) {
				continue
			}
			key := name
			if len(strs) > 1 {
				key = fmt.Sprintf("%s[%d]", name, i)
			}
			out[key] = local
		}
	}
	return out
}

func pathLike(name string) bool {
	for _, p := range []string{"remote_", "staging_", "destination", "target"} {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	switch name {
	case "script", "scripts", "source", "sources":
		return true
	}
	for _, s := range []string{"_file", "_files", "_path", "_paths", "_dir", "_dirs"} {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

var _ bake.Fingerprinter = (*Provisioner)(nil)
