package packer

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"

	ansible "github.com/hashicorp/packer-plugin-ansible/provisioner/ansible"
	ansiblelocal "github.com/hashicorp/packer-plugin-ansible/provisioner/ansible-local"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/zclconf/go-cty/cty"
)

// builtinFrom says where bake's built-in Packer provisioners come from.
const builtinFrom = "built into bake (packer-plugin-ansible v1.1.2)"

// builtinProvisioners are Packer plugins compiled into bake and run in
// its process, so that a template's ansible blocks need no plugin
// install. An installed plugin of the same name wins, as in Packer.
var builtinProvisioners = map[string]func() packersdk.Provisioner{
	"ansible":       func() packersdk.Provisioner { return new(ansible.Provisioner) },
	"ansible-local": func() packersdk.Provisioner { return new(ansiblelocal.Provisioner) },
}

func builtinPlugins() []*Plugin {
	var ps []*Plugin
	for _, n := range []string{"ansible", "ansible-local"} {
		ps = append(ps, &Plugin{Name: n, Path: "bake", From: builtinFrom, inproc: builtinProvisioners[n]})
	}
	return ps
}

// localCommand is the program an in-process provisioner runs on this
// machine, which must be installed: ansible's ansible-playbook. "" when
// it runs nothing here (ansible-local runs ansible on the machine).
func localCommand(p *Plugin, config cty.Value) string {
	if p.Name != "ansible" {
		return ""
	}
	if v := attr(config, "command"); v != "" {
		return v
	}
	return "ansible-playbook"
}

// needProgram says how to install prog when it is not on PATH.
func needProgram(p *Plugin, prog string) error {
	if prog == "" {
		return nil
	}
	if _, err := exec.LookPath(prog); err != nil {
		return fmt.Errorf("provisioner %q runs %s on this machine, which is not installed (%v): install ansible with `apt-get install ansible` (Debian/Ubuntu) or `pip install ansible`, or set command to its path", p.Name, prog, err)
	}
	return nil
}

// attr is the string attribute name of an object value, or "".
func attr(v cty.Value, name string) string {
	if v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() || !v.Type().HasAttribute(name) {
		return ""
	}
	a := v.GetAttr(name)
	if a.IsNull() || !a.IsKnown() || a.Type() != cty.String {
		return ""
	}
	return a.AsString()
}

// absPaths makes the path-like attributes of v that name local files or
// directories relative to dir absolute: an in-process plugin shares
// bake's working directory, where a started plugin runs in dir.
func absPaths(v cty.Value, dir string) cty.Value {
	if v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() {
		return v
	}
	abs := func(s cty.Value) cty.Value {
		if s.IsNull() || !s.IsKnown() || s.Type() != cty.String || s.AsString() == "" || filepath.IsAbs(s.AsString()) {
			return s
		}
		local := filepath.Join(dir, s.AsString())
		if !exists(local) {
			return s
		}
		return cty.StringVal(local)
	}
	m := v.AsValueMap()
	for name, av := range m {
		if !pathLike(name) || av.IsNull() || !av.IsKnown() {
			continue
		}
		switch {
		case av.Type() == cty.String:
			m[name] = abs(av)
		case av.Type().IsListType() && av.Type().ElementType() == cty.String && av.LengthInt() > 0:
			var l []cty.Value
			for _, e := range av.AsValueSlice() {
				l = append(l, abs(e))
			}
			m[name] = cty.ListVal(l)
		}
	}
	return cty.ObjectVal(m)
}

// withEnv appends env to v's ansible_env_vars, unless it sets the
// variable already.
func withEnv(v cty.Value, env ...string) cty.Value {
	if v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() || !v.Type().HasAttribute("ansible_env_vars") {
		return v
	}
	m := v.AsValueMap()
	var l []cty.Value
	set := map[string]bool{}
	if cur := m["ansible_env_vars"]; !cur.IsNull() && cur.IsKnown() {
		for _, e := range cur.AsValueSlice() {
			l = append(l, e)
			if e.IsKnown() && !e.IsNull() {
				k, _, _ := strings.Cut(e.AsString(), "=")
				set[k] = true
			}
		}
	}
	for _, e := range env {
		if k, _, _ := strings.Cut(e, "="); !set[k] {
			l = append(l, cty.StringVal(e))
		}
	}
	if len(l) > 0 {
		m["ansible_env_vars"] = cty.ListVal(l)
	}
	return cty.ObjectVal(m)
}

// withDefault sets v's attribute name to val when it is unset.
func withDefault(v cty.Value, name, val string) cty.Value {
	if v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() || !v.Type().HasAttribute(name) {
		return v
	}
	m := v.AsValueMap()
	if m[name].IsNull() {
		m[name] = cty.StringVal(val)
	}
	return cty.ObjectVal(m)
}
