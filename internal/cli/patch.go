package cli

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/provisioners/recipe"
)

// patchRecipe is the recipe bake build --patch applies last.
const patchRecipe = "security-patches"

// addPatch appends the security-patches recipe to every job, as if each
// bake file ended with provisioner "recipe" { name = "security-patches" }.
// The step is part of the job's inputs, so a patched image's fingerprint
// differs from an unpatched one's.
func addPatch(jobs []*bake.Job, dir string) error {
	src := []byte(fmt.Sprintf("name = %q\n", patchRecipe))
	f, diags := hclsyntax.ParseConfig(src, "bake --patch", hcl.InitialPos)
	if diags.HasErrors() {
		return diags
	}
	for _, j := range jobs {
		p, diags := recipe.New(bake.DecodeContext{Body: f.Body, Dir: dir, Name: patchRecipe, Range: f.Body.MissingItemRange()})
		if diags.HasErrors() {
			return fmt.Errorf("--patch: %w", diags)
		}
		name := fmt.Sprintf("provisioner recipe #%d (--patch)", len(j.Steps)+1)
		in := []byte("patch " + patchRecipe)
		// Never cached: the updates a mirror offers change while the
		// step's inputs stay the same.
		never := false
		j.Steps = append(j.Steps, bake.Step{Name: name, Provisioner: p, Inputs: in, Cache: &never})
		j.Inputs = append(append(j.Inputs, '\n'), in...)
	}
	return nil
}
