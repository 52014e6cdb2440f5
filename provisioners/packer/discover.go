package packer

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"golang.org/x/mod/semver"
)

// Prefix marks a type that asks for Packer's provisioner even where bake
// has one of the same name: provisioner "packer.shell".
const Prefix = "packer."

// defaultComponent is the name a multi-component plugin gives the
// component named after the plugin itself (plugin.DEFAULT_NAME).
const defaultComponent = "-packer-default-plugin-name-"

// Plugin is one Packer provisioner bake can start.
type Plugin struct {
	Name string   // the provisioner's Packer name: ansible, shell
	Path string   // the executable
	Args []string // how to start it: start provisioner NAME
	// From says where it was found, for messages: a plugin directory or
	// "built into packer 1.6.6".
	From string
	// Err is why the plugin could not describe itself; starting it fails
	// with it.
	Err error
	// builtinOf is the packer executable whose built-in this is; its
	// Args are settled once, on first use (see startArgs).
	builtinOf string
	argsOnce  sync.Once
	argsErr   error
	// inproc makes the provisioner of a plugin built into bake, which
	// runs in bake's process.
	inproc func() packersdk.Provisioner
}

// Search says where to look for plugins.
type Search struct {
	// Dirs are searched in order, each with its install tree
	// (github.com/ORG/NAME/packer-plugin-NAME_vX.Y.Z_x5.0_OS_ARCH).
	Dirs []string
	// Packer is a packer 1.x executable whose built-in provisioners are
	// used last; "" for none.
	Packer string
}

// DefaultSearch is where Packer looks: PACKER_PLUGIN_PATH, then
// ~/.packer.d/plugins, then ~/.config/packer/plugins; then the built-ins
// of the packer on PATH.
func DefaultSearch() Search {
	var s Search
	for _, d := range filepath.SplitList(os.Getenv("PACKER_PLUGIN_PATH")) {
		if d != "" {
			s.Dirs = append(s.Dirs, d)
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		s.Dirs = append(s.Dirs, filepath.Join(home, ".packer.d", "plugins"))
	}
	if cfg, err := os.UserConfigDir(); err == nil {
		s.Dirs = append(s.Dirs, filepath.Join(cfg, "packer", "plugins"))
	}
	if p, err := exec.LookPath("packer"); err == nil {
		s.Packer = p
	}
	return s
}

// String says where s looks, for messages.
func (s Search) String() string {
	parts := append([]string(nil), s.Dirs...)
	if s.Packer != "" {
		parts = append(parts, "the built-ins of "+s.Packer)
	}
	if len(parts) == 0 {
		return "nowhere (no plugin directory, no packer on PATH)"
	}
	return strings.Join(parts, ", ")
}

// installed matches an installed plugin's file name.
var installed = regexp.MustCompile(`^packer-plugin-([a-z0-9-]+?)(_(v[0-9][^_]*)_x[0-9.]+_[a-z0-9]+_[a-z0-9]+)?(\.exe)?$`)

// Find lists the provisioners s finds, by name; the first found wins:
// the plugins in s's directories, then the ones built into bake
// (ansible, ansible-local), then packer's built-ins. It runs `describe`
// on every multi-component plugin, as Packer does.
func Find(ctx context.Context, s Search) map[string]*Plugin {
	out := map[string]*Plugin{}
	for _, dir := range s.Dirs {
		for _, p := range findIn(ctx, dir) {
			if _, ok := out[p.Name]; !ok {
				out[p.Name] = p
			}
		}
	}
	for _, p := range builtinPlugins() {
		if _, ok := out[p.Name]; !ok {
			out[p.Name] = p
		}
	}
	if s.Packer != "" {
		for _, p := range builtins(s.Packer) {
			if _, ok := out[p.Name]; !ok {
				out[p.Name] = p
			}
		}
	}
	return out
}

// findIn finds the plugins in dir and its install tree (four levels
// down). Of several versions of one plugin the highest wins.
func findIn(ctx context.Context, dir string) []*Plugin {
	type bin struct{ path, version string }
	multi := map[string]bin{}
	var legacy []*Plugin
	root := filepath.Clean(dir)
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // a missing or unreadable directory has no plugins
		}
		if d.IsDir() {
			if strings.Count(strings.TrimPrefix(p, root), string(filepath.Separator)) > 4 {
				return filepath.SkipDir
			}
			return nil
		}
		if !executable(p) {
			return nil
		}
		name := d.Name()
		if rest, ok := strings.CutPrefix(name, "packer-provisioner-"); ok && rest != "" {
			legacy = append(legacy, &Plugin{Name: strings.TrimSuffix(rest, ".exe"), Path: p, From: dir})
			return nil
		}
		m := installed.FindStringSubmatch(name)
		if m == nil {
			return nil
		}
		if old, ok := multi[m[1]]; ok && semverLess(m[3], old.version) {
			return nil
		}
		multi[m[1]] = bin{p, m[3]}
		return nil
	})
	out := legacy
	names := make([]string, 0, len(multi))
	for n := range multi {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		out = append(out, describe(ctx, n, multi[n].path, dir)...)
	}
	return out
}

func semverLess(a, b string) bool {
	if a == "" || b == "" {
		return a == "" && b != ""
	}
	return semver.Compare(a, b) < 0
}

func executable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// describe asks a multi-component plugin for its provisioners. A plugin
// that cannot describe itself still stands for its default provisioner,
// which fails with the reason when used.
func describe(ctx context.Context, name, path, dir string) []*Plugin {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "describe")
	cmd.Dir = os.TempDir()
	out, err := cmd.Output()
	var d struct {
		Provisioners []string `json:"provisioners"`
	}
	if err == nil {
		err = json.Unmarshal(out, &d)
	}
	if err != nil {
		return []*Plugin{{Name: name, Path: path, From: dir,
			Err: fmt.Errorf("packer plugin %s: describe: %v; run it with `describe` to see why, or remove it", path, err)}}
	}
	var ps []*Plugin
	for _, c := range d.Provisioners {
		n := name + "-" + c
		if c == defaultComponent {
			n = name
		}
		ps = append(ps, &Plugin{Name: n, Path: path, Args: []string{"start", "provisioner", c}, From: dir})
	}
	return ps
}

// packerBuiltins are the provisioners built into Packer 1.6 (Packer's
// command/plugin.go). Later 1.x keep a subset; a missing one is reported
// when the block is decoded.
var packerBuiltins = []string{
	"ansible", "ansible-local", "azure-dtlartifact", "breakpoint", "chef-client", "chef-solo",
	"converge", "file", "inspec", "powershell", "puppet-masterless", "puppet-server",
	"salt-masterless", "shell", "shell-local", "windows-restart", "windows-shell",
}

// builtins are the built-in provisioners of the packer executable at
// path; which subcommand starts them is settled when one is used
// (packerArgs), so that a bake that uses none does not run packer.
func builtins(path string) []*Plugin {
	var ps []*Plugin
	for _, n := range packerBuiltins {
		ps = append(ps, &Plugin{Name: n, Path: path, From: "built into " + path, builtinOf: path})
	}
	return ps
}

// packerArgs are how to start the built-in provisioner name of the packer
// at path: `packer plugin packer-provisioner-NAME` up to 1.6, `packer
// execute ...` from 1.7.
func packerArgs(ctx context.Context, path, name string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "version")
	cmd.Dir = os.TempDir()
	out, err := cmd.Output()
	m := regexp.MustCompile(`Packer v(1\.[0-9]+\.[0-9]+)`).FindSubmatch(out)
	if err != nil || m == nil {
		return nil, fmt.Errorf("%s is not packer 1.x (`%s version`: %v %q); install packer 1.x, or the plugin that provides %s", path, path, err, strings.TrimSpace(string(out)), name)
	}
	sub := "plugin"
	if semver.Compare("v"+string(m[1]), "v1.7.0") >= 0 {
		sub = "execute"
	}
	return []string{sub, "packer-provisioner-" + name}, nil
}
