package recipes

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

//go:embed library/*.hcl
var builtinFS embed.FS

// Library is the recipes a bake can use by name: the built-in ones and the
// user's, which shadow built-in recipes of the same name.
type Library struct {
	byName map[string]*Recipe
}

var (
	builtinOnce sync.Once
	builtins    []*Recipe
	builtinErr  error
)

// loadBuiltins parses the embedded library once.
func loadBuiltins() ([]*Recipe, error) {
	builtinOnce.Do(func() {
		files, err := fs.Glob(builtinFS, "library/*.hcl")
		if err != nil {
			builtinErr = err
			return
		}
		var diags hcl.Diagnostics
		for _, f := range files {
			src, err := builtinFS.ReadFile(f)
			if err != nil {
				builtinErr = err
				return
			}
			rs, d := ParseFile(path.Join("recipes", f), src)
			diags = append(diags, d...)
			for _, r := range rs {
				r.Builtin, r.Dir = true, ""
				builtins = append(builtins, r)
			}
		}
		if diags.HasErrors() {
			builtinErr = fmt.Errorf("built-in recipes: %w", diagError(diags))
		}
	})
	return builtins, builtinErr
}

// NewLibrary returns a library of the built-in recipes.
func NewLibrary() (*Library, error) {
	rs, err := loadBuiltins()
	if err != nil {
		return nil, err
	}
	l := &Library{byName: map[string]*Recipe{}}
	for _, r := range rs {
		l.byName[r.Name] = r
	}
	return l, nil
}

// Add adds user recipes. A user recipe replaces a built-in one of the
// same name; two user recipes of one name are an error.
func (l *Library) Add(rs ...*Recipe) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, r := range rs {
		if prev, ok := l.byName[r.Name]; ok && !prev.Builtin {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("duplicate recipe %q", r.Name),
				Detail: fmt.Sprintf("Recipe %q is also defined at %s.", r.Name, prev.DefRange), Subject: r.DefRange.Ptr()})
			continue
		}
		l.byName[r.Name] = r
	}
	return diags
}

// Put adds r, replacing any recipe of its name (inline recipes in a
// provisioner block win over every other).
func (l *Library) Put(r *Recipe) { l.byName[r.Name] = r }

// LoadFile adds the recipes of one .hcl file.
func (l *Library) LoadFile(file string) error {
	src, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read recipe file: %w", err)
	}
	rs, diags := ParseFile(file, src)
	diags = append(diags, l.Add(rs...)...)
	if diags.HasErrors() {
		return diagError(diags)
	}
	return nil
}

// LoadDir adds the recipes of dir: the recipe blocks at the top of its
// bake files (*.bake.hcl, *.pkr.hcl), and the .hcl files that declare
// recipe blocks. Variable files (*.pkrvars.hcl, *.bakevars.hcl) and
// files that declare no recipe are skipped. Errors in the bake files'
// other blocks are the bake file loader's to report.
func (l *Library) LoadDir(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.hcl"))
	if err != nil {
		return err
	}
	var errs []string
	for _, f := range files {
		base := filepath.Base(f)
		if strings.HasSuffix(base, "vars.hcl") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("read recipe file: %w", err)
		}
		if !declaresRecipe(src) {
			continue
		}
		if strings.HasSuffix(base, ".bake.hcl") || strings.HasSuffix(base, ".pkr.hcl") {
			if d := l.Add(bakeFileRecipes(f, src)...); d.HasErrors() {
				errs = append(errs, diagError(d).Error())
			}
			continue
		}
		if err := l.LoadFile(f); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return nil
}

// bakeFileRecipes returns the well-formed recipe blocks of a bake file.
func bakeFileRecipes(file string, src []byte) []*Recipe {
	f, diags := hclsyntax.ParseConfig(src, file, hcl.InitialPos)
	if diags.HasErrors() {
		return nil
	}
	content, _, _ := f.Body.PartialContent(fileSchema)
	if content == nil {
		return nil
	}
	var out []*Recipe
	for _, b := range content.Blocks {
		if r, d := ParseBlock(b); r != nil && !d.HasErrors() {
			r.Dir, r.Source = filepath.Dir(file), src
			out = append(out, r)
		}
	}
	return out
}

// declaresRecipe is a cheap look for a top-level recipe block.
func declaresRecipe(src []byte) bool {
	for _, line := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "recipe ") && !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "\t") {
			return true
		}
	}
	return false
}

// Get returns the recipe name.
func (l *Library) Get(name string) (*Recipe, bool) {
	r, ok := l.byName[name]
	return r, ok
}

// Names returns the recipe names, sorted.
func (l *Library) Names() []string {
	names := make([]string, 0, len(l.byName))
	for n := range l.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Recipes returns the recipes, sorted by name.
func (l *Library) Recipes() []*Recipe {
	var out []*Recipe
	for _, n := range l.Names() {
		out = append(out, l.byName[n])
	}
	return out
}

// Unknown is the error for a recipe name the library lacks, at subject.
func (l *Library) Unknown(name string, subject *hcl.Range) error { return l.unknown(name, subject) }

// ShowValue renders a param value as the docs and scripts show it.
func ShowValue(v cty.Value) string { return showValue(v) }

// TypeString renders a param type: string, number, list(string)...
func TypeString(t cty.Type) string { return typeString(t) }

// Slice returns the recipe's own source text.
func Slice(r *Recipe) string {
	if r.DefRange.Filename == "" || len(r.Source) == 0 {
		return ""
	}
	end := r.EndByte
	if end <= r.DefRange.Start.Byte || end > len(r.Source) {
		end = len(r.Source)
	}
	return strings.TrimRight(string(r.Source[r.DefRange.Start.Byte:end]), "\n") + "\n"
}
