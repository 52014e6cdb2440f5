package null_test

import (
	"context"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/datasources/internal/dstest"
	"github.com/bakehq/bake/datasources/null"
)

func TestNull(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, src string
		vars      map[string]cty.Value
		want      cty.Value
	}{
		{"string", `data "null" "x" { input = "chocolate" }`, nil, cty.StringVal("chocolate")},
		{"from a variable", `data "null" "x" { input = "${var.v}-1" }`, map[string]cty.Value{"v": cty.StringVal("a")}, cty.StringVal("a-1")},
		{"unknown in validate", `data "null" "x" { input = var.v }`, map[string]cty.Value{"v": cty.UnknownVal(cty.String)}, cty.UnknownVal(cty.String)},
		{"a list", `data "null" "x" { input = ["a", "b"] }`, nil, cty.TupleVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ds, diags := null.New(dstest.Context(t, tc.src, tc.vars))
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if l, ok := ds.(bake.LocalData); !ok || !l.LocalOnly() {
				t.Fatal("null must be local: validate runs it")
			}
			got, err := ds.Execute(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !got.Type().Equals(ds.OutputType()) {
				t.Fatalf("type %#v, OutputType %#v", got.Type(), ds.OutputType())
			}
			if !got.GetAttr("output").RawEquals(tc.want) {
				t.Fatalf("output = %#v, want %#v", got.GetAttr("output"), tc.want)
			}
		})
	}
}

func TestNullErrors(t *testing.T) {
	t.Parallel()
	for src, want := range map[string]string{
		`data "null" "x" {}`: "data.null.x: input is required",
		"data \"null\" \"x\" {\n input = \"a\"\n inptu = 1\n}": `Unsupported argument`,
	} {
		_, diags := null.New(dstest.Context(t, src, nil))
		if !diags.HasErrors() || !strings.Contains(diags.Error(), want) {
			t.Errorf("%s: %v, want %q", src, diags, want)
		}
		for _, d := range diags {
			if d.Subject == nil || d.Subject.Filename != "t.pkr.hcl" {
				t.Errorf("%s: diagnostic without a subject: %v", src, d)
			}
		}
	}
}
