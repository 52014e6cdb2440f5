package packer

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/internal/testenv"
)

// writeExe writes an executable script.
func writeExe(t *testing.T, path, script string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// describing is a multi-component plugin that describes itself.
func describing(provisioners string) string {
	return `[ "$1" = describe ] && echo '{"version":"1.0.0","api_version":"x5.0","provisioners":[` + provisioners + `]}'` + "\n"
}

func TestFind(t *testing.T) {
	t.Parallel()
	first, second := t.TempDir(), t.TempDir()
	// A legacy single-component plugin.
	writeExe(t, filepath.Join(first, "packer-provisioner-goss"), "exit 1\n")
	// A multi-component plugin: its default component is named after it.
	writeExe(t, filepath.Join(first, "packer-plugin-ansible"), describing(`"-packer-default-plugin-name-","local"`))
	// Two installed versions in the install tree: the higher wins.
	writeExe(t, filepath.Join(second, "github.com/acme/chef/packer-plugin-chef_v1.2.0_x5.0_linux_amd64"), describing(`"solo"`))
	writeExe(t, filepath.Join(second, "github.com/acme/chef/packer-plugin-chef_v1.10.0_x5.0_linux_amd64"), describing(`"solo","client"`))
	// Found later, so the first directory's ansible wins.
	writeExe(t, filepath.Join(second, "packer-plugin-ansible"), describing(`"-packer-default-plugin-name-"`))
	// A plugin that cannot describe itself stands for its default.
	writeExe(t, filepath.Join(second, "packer-plugin-broken"), "echo nope; exit 1\n")
	// Not executable: ignored.
	os.WriteFile(filepath.Join(second, "packer-provisioner-noexec"), []byte("x"), 0o644)

	got := Find(context.Background(), Search{Dirs: []string{first, second, filepath.Join(first, "missing")}})
	var names []string
	for n := range got {
		names = append(names, n)
	}
	sort.Strings(names)
	want := []string{"ansible", "ansible-local", "broken", "chef-client", "chef-solo", "goss"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("found %v, want %v", names, want)
	}
	if p := got["ansible"]; filepath.Dir(p.Path) != first || !reflect.DeepEqual(p.Args, []string{"start", "provisioner", defaultComponent}) {
		t.Errorf("ansible: %+v", p)
	}
	if p := got["ansible-local"]; !reflect.DeepEqual(p.Args, []string{"start", "provisioner", "local"}) {
		t.Errorf("ansible-local: %+v", p)
	}
	if p := got["chef-client"]; !strings.Contains(p.Path, "v1.10.0") {
		t.Errorf("chef-client from %s, want the highest version", p.Path)
	}
	if p := got["goss"]; p.Args != nil || p.Err != nil {
		t.Errorf("goss: %+v", p)
	}
	if p := got["broken"]; p.Err == nil || !strings.Contains(p.Err.Error(), "describe") {
		t.Errorf("broken: %+v", p)
	}
}

func TestFindPackerBuiltinsLast(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeExe(t, filepath.Join(dir, "packer-provisioner-ansible"), "exit 1\n")
	got := Find(context.Background(), Search{Dirs: []string{dir}, Packer: "/opt/packer"})
	if p := got["ansible"]; p.builtinOf != "" {
		t.Errorf("an installed plugin must win over packer's built-in: %+v", p)
	}
	if p := got["puppet-masterless"]; p == nil || p.builtinOf != "/opt/packer" {
		t.Errorf("puppet-masterless: %+v", p)
	}
}

func TestAddKeepsBakesOwn(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeExe(t, filepath.Join(dir, "packer-provisioner-shell"), "exit 1\n")
	writeExe(t, filepath.Join(dir, "packer-provisioner-goss"), "exit 1\n")
	own := NewFunc(nil)
	provs := Add(context.Background(), map[string]NewFunc{"shell": own}, Search{Dirs: []string{dir}})
	if provs["shell"] != nil {
		t.Error("a Packer plugin replaced bake's own shell")
	}
	for _, n := range []string{"packer.shell", "goss", "packer.goss"} {
		if provs[n] == nil {
			t.Errorf("%s not registered", n)
		}
	}
}

func TestParseHandshake(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		line, network, addr string
		bad                 bool
	}{
		{line: "5|unix|/tmp/packer-plugin1\n", network: "unix", addr: "/tmp/packer-plugin1"},
		{line: "5|0|tcp|127.0.0.1:10001\n", network: "tcp", addr: "127.0.0.1:10001"},
		{line: "4|unix|/tmp/x", bad: true},
		{line: "Error starting plugin server", bad: true},
		{line: "5|0|udp|x", bad: true},
	} {
		n, a, err := parseHandshake(tc.line)
		if (err != nil) != tc.bad || n != tc.network || a != tc.addr {
			t.Errorf("%q: %q %q %v", tc.line, n, a, err)
		}
	}
}

func TestLocalPaths(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "site.yml"), []byte("- hosts: all"), 0o644)
	os.Mkdir(filepath.Join(dir, "roles"), 0o755)
	v := cty.ObjectVal(map[string]cty.Value{
		"playbook_file":   cty.StringVal("site.yml"),
		"roles_path":      cty.StringVal("roles"),
		"galaxy_file":     cty.StringVal("missing.yml"),
		"remote_file":     cty.StringVal("site.yml"),
		"staging_dir":     cty.StringVal("/tmp"),
		"extra_arguments": cty.ListVal([]cty.Value{cty.StringVal("site.yml")}),
		"scripts":         cty.ListVal([]cty.Value{cty.StringVal("site.yml"), cty.StringVal("nope.sh")}),
		"inventory_dir":   cty.StringVal("/etc"), // an absolute directory is not hashed
		"user":            cty.NullVal(cty.String),
	})
	got := localPaths(v, dir)
	want := map[string]string{
		"playbook_file": filepath.Join(dir, "site.yml"),
		"roles_path":    filepath.Join(dir, "roles"),
		"scripts[0]":    filepath.Join(dir, "site.yml"),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("localPaths = %v, want %v", got, want)
	}
}

// TestPackerWithoutTheBuiltin: a packer that serves no such provisioner
// is a clear error, not the SDK's panic.
func TestPackerWithoutTheBuiltin(t *testing.T) {
	t.Parallel()
	packer, err := exec.LookPath("packer")
	if err != nil {
		testenv.SkipOrFail(t, "packer not on PATH")
	}
	p := &Plugin{Name: "no-such", Path: packer, From: "built into " + packer, builtinOf: packer}
	_, diags := New(context.Background(), p, bake.DecodeContext{Body: hcl.EmptyBody(), Dir: t.TempDir(),
		Range: hcl.Range{Filename: "x.bake.hcl", Start: hcl.Pos{Line: 3, Column: 1}}})
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "x.bake.hcl:3") || !strings.Contains(diags.Error(), "Could not load provisioner: no-such") {
		t.Errorf("diags: %v", diags)
	}
}

// FuzzParseHandshake: a plugin's first line is untrusted input; whatever
// it is, bake gets an address it can dial or an error, never a panic.
func FuzzParseHandshake(f *testing.F) {
	for _, s := range []string{"5|unix|/tmp/packer-plugin1", "5|0|unix|/tmp/x", "5|tcp|127.0.0.1:10000", "4|unix|/x", "||", "5|udp|x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		n, a, err := parseHandshake(line)
		if err == nil && (n != "unix" && n != "tcp" || strings.Contains(a, "|")) {
			t.Errorf("parseHandshake(%q) = %q, %q with no error", line, n, a)
		}
		if err != nil && err.Error() == "" {
			t.Errorf("parseHandshake(%q): empty error", line)
		}
	})
}
