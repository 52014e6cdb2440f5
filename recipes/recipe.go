// Package recipes is bake's recipe language: a recipe describes the state
// a server should be in (packages, files, users, services...), and bake
// compiles it to one plain POSIX sh script that checks each resource and
// changes only what differs. The script prints one machine-readable line
// per resource,
//
//	bake-recipe: ok KIND[NAME]
//	bake-recipe: changed KIND[NAME]
//
// and stops at the first failing resource with
//
//	bake-recipe: failed KIND[NAME] at FILE:LINE exit=CODE
//
// Recipes are HCL: built-in ones are embedded under library/, users write
// their own in .hcl files next to their bake file or inline.
package recipes

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Recipe is a parsed recipe. Its resources' expressions are evaluated
// when it is compiled, with the params it is given.
type Recipe struct {
	Name string
	Doc  string
	// Dir is the directory relative source paths are resolved against;
	// empty for built-in recipes (then the caller's directory is used).
	Dir      string
	Builtin  bool
	Params   []*Param
	Steps    []Step // includes and resources, in the order written
	DefRange hcl.Range
	// Source is the content of the recipe's file and EndByte where the
	// recipe block ends in it, for bake recipe show.
	Source  []byte
	EndByte int
}

// Param is a declared parameter.
type Param struct {
	Name        string
	Description string
	Type        cty.Type
	Default     cty.Value // cty.NilVal when required
	Validations []Validation
	DeclRange   hcl.Range
}

// Required reports whether the param has no default.
func (p *Param) Required() bool { return p.Default == cty.NilVal }

// Validation is a param's condition.
type Validation struct {
	Condition    hcl.Expression
	ErrorMessage string
	Range        hcl.Range
}

// Step is an include or a resource.
type Step interface{ stepRange() hcl.Range }

// Include pulls another recipe's resources in at this point.
type Include struct {
	Name     string
	Params   hcl.Expression // nil or an object expression
	DefRange hcl.Range
}

func (i *Include) stepRange() hcl.Range { return i.DefRange }

// Resource is one resource block. Its attributes are kept as expressions.
type Resource struct {
	Kind  string
	Label string
	Attrs hcl.Attributes
	// Meta-arguments every resource has.
	When     hcl.Expression // nil: always
	ForEach  hcl.Expression // nil: once
	Notify   hcl.Expression // nil: nothing
	DefRange hcl.Range
	Body     hcl.Body
}

func (r *Resource) stepRange() hcl.Range { return r.DefRange }

// ID is the resource's name in output: KIND[LABEL].
func (r *Resource) ID() string { return fmt.Sprintf("%s[%s]", r.Kind, r.Label) }
