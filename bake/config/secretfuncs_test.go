package config

import (
	"context"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/zclconf/go-cty/cty"

	"github.com/bakehq/bake/bake"
)

// fakeSecrets stands in for the amazon-secretsmanager data source.
type fakeSecrets struct {
	Name string  `hcl:"name"`
	Key  *string `hcl:"key,optional"`
	runs *int
}

func (f *fakeSecrets) OutputType() cty.Type {
	return cty.Object(map[string]cty.Type{"value": cty.String, "secret_string": cty.String})
}

func (f *fakeSecrets) Execute(context.Context) (cty.Value, error) {
	*f.runs++
	key := ""
	if f.Key != nil {
		key = *f.Key
	}
	return cty.ObjectVal(map[string]cty.Value{
		"value":         cty.StringVal(f.Name + "/" + key),
		"secret_string": cty.StringVal(`{"` + key + `":"raw"}`),
	}), nil
}

// TestSecretFunctions: aws_secretsmanager() reads through the
// amazon-secretsmanager data source at build, contacts nothing at
// validate, and its value is sensitive either way.
func TestSecretFunctions(t *testing.T) {
	src := `
locals {
  db  = aws_secretsmanager("prod/app", "password")
  all = aws_secretsmanager_raw("prod/app")
  nok = aws_secretsmanager("prod/app", null)
}
source "fake" "a" {}
build { sources = ["fake.a"] }
`
	for _, execute := range []bool{false, true} {
		runs := 0
		pl := testPlugins()
		pl.DataSources = map[string]func(bake.DecodeContext) (bake.DataSource, hcl.Diagnostics){
			"amazon-secretsmanager": func(dc bake.DecodeContext) (bake.DataSource, hcl.Diagnostics) {
				f := &fakeSecrets{runs: &runs}
				return f, gohcl.DecodeBody(dc.Body, dc.Eval, f)
			},
		}
		c, err := Load(Options{Path: write(t, map[string]string{"app.pkr.hcl": src}), Plugins: pl, ExecuteData: execute})
		if err != nil {
			t.Fatalf("execute=%v: %v", execute, err)
		}
		for name, want := range map[string]string{"db": "prod/app/password", "all": `{"":"raw"}`, "nok": "prod/app/"} {
			v := c.Locals[name].Value
			if !v.HasMark(sensitiveMark) {
				t.Errorf("execute=%v: local.%s is not sensitive", execute, name)
			}
			v, _ = v.Unmark()
			switch {
			case !execute && v.IsKnown():
				t.Errorf("validate read the secret for local.%s: %#v", name, v)
			case execute && (!v.IsKnown() || v.AsString() != want):
				t.Errorf("build: local.%s = %#v, want %q", name, v, want)
			}
		}
		if want := map[bool]int{false: 0, true: 3}[execute]; runs != want {
			t.Errorf("execute=%v: the data source ran %d times, want %d", execute, runs, want)
		}
	}
}
