// Package dstest decodes data blocks from HCL text for the data sources'
// tests.
package dstest

import (
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"

	"github.com/bakehq/bake/bake"
)

// Context is the DecodeContext of the one data block in src (file
// t.pkr.hcl), with vars as var.NAME.
func Context(t testing.TB, src string, vars map[string]cty.Value) bake.DecodeContext {
	t.Helper()
	f, diags := hclparse.NewParser().ParseHCL([]byte(src), "t.pkr.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	content, diags := f.Body.Content(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "data", LabelNames: []string{"type", "name"}}}})
	if diags.HasErrors() || len(content.Blocks) != 1 {
		t.Fatalf("want one data block: %v", diags)
	}
	b := content.Blocks[0]
	ev := &hcl.EvalContext{Variables: map[string]cty.Value{}}
	if vars != nil {
		ev.Variables["var"] = cty.ObjectVal(vars)
	}
	return bake.DecodeContext{Body: b.Body, Eval: ev, Name: b.Labels[1], Range: b.DefRange, Dir: "."}
}
