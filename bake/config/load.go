// Package config reads bake files: Packer-style HCL2 with variables,
// locals, sources, builds, provisioners and post-processors.
package config

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/bakehq/bake/bake"
)

// Suffixes of the files a directory's bake is read from. Packer's are
// accepted so that a Packer template bakes unchanged.
var fileSuffixes = []string{".bake.hcl", ".pkr.hcl"}
var varFileSuffixes = []string{".auto.bakevars.hcl", ".auto.pkrvars.hcl"}

// Options say what to load and the values given outside the files.
type Options struct {
	// Path is a bake file or a directory of them.
	Path string
	// Vars are -var name=value, in order (a later one wins).
	Vars []string
	// VarFiles are -var-file paths, in order.
	VarFiles []string
	// Env is the environment, for BAKE_VAR_name (and Packer's PKR_VAR_name).
	Env []string
	// Plugins give the data block types (Plugins.DataSources). When
	// Plugins.Builders is set too, the caller must call Jobs: the errors
	// of locals, data and build blocks are then returned by Jobs with
	// those of the sources and provisioners, so all are seen at once.
	Plugins bake.Plugins
	// ExecuteData runs every data source, as bake build does. Without it
	// (validate, inspect) only LocalData sources run and the others are
	// unknown values of their OutputType, as in packer validate.
	ExecuteData bool
	// Context is given to DataSource.Execute (nil: context.Background()).
	Context context.Context
}

// Config is a loaded bake: its variables resolved, locals evaluated,
// sources and builds ready to be expanded into jobs.
type Config struct {
	// Dir is the directory of the bake files.
	Dir       string
	Files     map[string]*hcl.File
	Variables []*Variable
	Locals    map[string]*Local
	Sources   map[string]*Source // by "TYPE.NAME"
	Builds    []*Build
	// Data are the `data "TYPE" "NAME"` blocks, by "TYPE.NAME".
	Data map[string]*Data
	// Recipes are `recipe "NAME" {...}` blocks, for the recipe provisioner.
	Recipes []*hcl.Block
	// RequiredPlugins are the packer block's required_plugins, by name:
	// "SOURCE VERSION", noted and never fetched.
	RequiredPlugins map[string]string
	// Warnings are things the user should know that do not stop a bake.
	Warnings []string

	parser      *hclparse.Parser
	buildBlocks []*hcl.Block
	// placeholders: unknown values (data not read) reach plugins as
	// placeholders of their type, as Packer gives them to Prepare.
	placeholders bool
	cwd          string
	// executeData, dataSources and ctx are Load's options, for the
	// functions that read remote data (aws_secretsmanager).
	executeData bool
	dataSources map[string]func(bake.DecodeContext) (bake.DataSource, hcl.Diagnostics)
	ctx         context.Context
	deferred    hcl.Diagnostics // Load's errors, for Jobs to report
}

// Source is a `source "TYPE" "NAME"` block.
type Source struct {
	Type, Name string
	Body       hcl.Body
	Range      hcl.Range
	TypeRange  hcl.Range
}

// Ref is the source's reference form, TYPE.NAME.
func (s *Source) Ref() string { return s.Type + "." + s.Name }

// Build is a `build` block.
type Build struct {
	Name           string
	Description    string
	Sources        []SourceUse
	Provisioners   []*PluginBlock
	PostProcessors [][]*PluginBlock // each inner list is one chain
	// Verify is the build's verify block (a bake extension), or nil.
	Verify *VerifyBlock
	// Registry is the build's hcp_packer_registry block, or nil: bake has
	// no hosted registry, so it is lineage only.
	Registry *Registry
	Range    hcl.Range
}

// Registry is an hcp_packer_registry block.
type Registry struct {
	BucketName   string
	Description  string
	BucketLabels map[string]string
	BuildLabels  map[string]string
	Range        hcl.Range
}

// SourceUse is a source named in a build, by sources = [...] or by a
// source block inside the build.
type SourceUse struct {
	Ref   string // TYPE.NAME
	Name  string // the name the build gives it (name = "..." override), else the source's name
	Range hcl.Range
	// Body holds the arguments the build's source block adds to the
	// source's (without name), or nil.
	Body hcl.Body
}

// PluginBlock is a provisioner or post-processor block, its common
// fields decoded and its body left for the plugin.
type PluginBlock struct {
	Kind      string // "provisioner" or "post-processor"
	Type      string
	Index     int // 1-based among the build's blocks of its kind
	Body      hcl.Body
	Range     hcl.Range
	TypeRange hcl.Range
	Common    Common
}

// Name is how the block is shown: "provisioner shell #2".
func (p *PluginBlock) Name() string { return fmt.Sprintf("%s %s #%d", p.Kind, p.Type, p.Index) }

// Load reads, parses and resolves the bake at o.Path. Errors are bad
// input (bake.InputError) that name file:line:col.
func Load(o Options) (*Config, error) {
	files, dir, err := bakeFiles(o.Path)
	if err != nil {
		return nil, err
	}
	cwd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("working directory: %w", err)
	}
	c := &Config{Dir: dir, Files: map[string]*hcl.File{}, Locals: map[string]*Local{}, Sources: map[string]*Source{},
		Data: map[string]*Data{}, parser: hclparse.NewParser(), placeholders: !o.ExecuteData, cwd: cwd,
		executeData: o.ExecuteData, dataSources: o.Plugins.DataSources, ctx: o.Context}
	var diags hcl.Diagnostics
	var bodies []hcl.Body
	for _, name := range files {
		f, d := c.parser.ParseHCLFile(name)
		diags = append(diags, d...)
		if f != nil {
			bodies = append(bodies, f.Body)
		}
	}
	c.Files = c.parser.Files()
	if err := diagErr(diags, c.Files); err != nil {
		return nil, err
	}
	for _, body := range bodies {
		diags = append(diags, c.decodeTop(body)...)
	}
	if len(c.buildBlocks) == 0 && !diags.HasErrors() {
		return nil, bake.BadInputf("%s: no build block: add build { sources = [\"source.docker.NAME\"] }", o.Path)
	}
	c.noteRequiredPlugins()
	if err := diagErr(diags, c.Files); err != nil {
		return nil, err
	}
	diags = append(diags, c.resolveVariables(o)...)
	if err := diagErr(diags, c.Files); err != nil {
		return nil, err
	}
	// Locals and data, then builds: each error is reported and its value
	// left unknown, so that one failure does not hide the others.
	diags = append(diags, c.evalLocalsAndData(o)...)
	ctx := c.EvalContext(nil)
	for i, b := range c.buildBlocks {
		bd, d := c.decodeBuild(b, i, ctx)
		diags = append(diags, d...)
		if bd != nil {
			c.Builds = append(c.Builds, bd)
		}
	}
	for _, b := range c.Builds {
		if b.Registry != nil {
			c.Warnings = append(c.Warnings, "bake has no hosted registry: hcp_packer_registry recorded in lineage only")
			break
		}
	}
	if o.Plugins.Builders != nil && diags.HasErrors() {
		// The caller expands jobs: it gets these with the sources' and
		// provisioners' errors, all at once.
		c.deferred = diags
		c.placeholders = true // what a failed block leaves unknown adds no errors
		return c, nil
	}
	return c, diagErr(diags, c.Files)
}

// bakeFiles lists the bake files at path, sorted, and their directory.
func bakeFiles(path string) ([]string, string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, "", bake.BadInputf("read bake file: %w", err)
	}
	if !st.IsDir() {
		return []string{path}, filepath.Dir(path), nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, "", bake.BadInputf("read bake directory: %w", err)
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() && hasSuffix(e.Name(), fileSuffixes) {
			files = append(files, filepath.Join(path, e.Name()))
		}
	}
	if len(files) == 0 {
		return nil, "", bake.BadInputf("%s: no bake files (*.bake.hcl or *.pkr.hcl) in this directory", path)
	}
	sort.Strings(files)
	return files, path, nil
}

func hasSuffix(name string, suffixes []string) bool {
	for _, s := range suffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

var topSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "variables"},
		{Type: "locals"},
		{Type: "local", LabelNames: []string{"name"}},
		{Type: "source", LabelNames: []string{"type", "name"}},
		{Type: "build"},
		{Type: "packer"},
		{Type: "recipe", LabelNames: []string{"name"}},
		{Type: "data", LabelNames: []string{"type", "name"}},
	},
}

func (c *Config) decodeTop(body hcl.Body) hcl.Diagnostics {
	content, diags := body.Content(topSchema)
	for _, b := range content.Blocks {
		switch b.Type {
		case "variable":
			v, d := decodeVariable(b)
			diags = append(diags, d...)
			if v != nil {
				if prev := c.variable(v.Name); prev != nil {
					diags = append(diags, errorf(b.DefRange.Ptr(), "Duplicate variable", "variable %q is already declared at %s", v.Name, prev.Range))
					continue
				}
				c.Variables = append(c.Variables, v)
			}
		case "variables":
			vs, d := decodeVariablesBlock(b)
			diags = append(diags, d...)
			c.Variables = append(c.Variables, vs...)
		case "locals", "local":
			diags = append(diags, c.decodeLocals(b)...)
		case "source":
			s := &Source{Type: b.Labels[0], Name: b.Labels[1], Body: b.Body, Range: b.DefRange, TypeRange: b.LabelRanges[0]}
			if prev, ok := c.Sources[s.Ref()]; ok {
				diags = append(diags, errorf(b.DefRange.Ptr(), "Duplicate source", "source %s is already defined at %s", s.Ref(), prev.Range))
				continue
			}
			c.Sources[s.Ref()] = s
		case "build":
			c.buildBlocks = append(c.buildBlocks, b)
		case "packer":
			diags = append(diags, c.decodePacker(b)...)
		case "recipe":
			c.Recipes = append(c.Recipes, b)
		case "data":
			d := &Data{Type: b.Labels[0], Name: b.Labels[1], Body: b.Body, Range: b.DefRange, TypeRange: b.LabelRanges[0]}
			if prev, ok := c.Data[d.Ref()]; ok {
				diags = append(diags, errorf(b.DefRange.Ptr(), "Duplicate data block", "data %q %q is already defined at %s", d.Type, d.Name, prev.Range))
				continue
			}
			c.Data[d.Ref()] = d
		}
	}
	return diags
}

func (c *Config) variable(name string) *Variable {
	for _, v := range c.Variables {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// Secrets are the values of sensitive variables, locals and data, and
// every value marked sensitive (by sensitive() or a sensitive data
// source) that a local holds.
func (c *Config) Secrets() []string {
	var out []string
	for _, v := range c.Variables {
		out = append(out, secretStrings(v.Value, v.Sensitive)...)
	}
	for _, n := range slices.Sorted(maps.Keys(c.Locals)) {
		l := c.Locals[n]
		out = append(out, secretStrings(l.Value, l.Sensitive)...)
	}
	for _, n := range slices.Sorted(maps.Keys(c.Data)) {
		out = append(out, secretStrings(c.Data[n].Value, false)...)
	}
	return out
}

// ParseOnly parses src as HCL, for fmt: syntax errors only.
func ParseOnly(filename string, src []byte) (*hcl.File, error) {
	p := hclparse.NewParser()
	f, diags := p.ParseHCL(src, filename)
	return f, diagErr(diags, p.Files())
}
