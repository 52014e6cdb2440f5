package config

import (
	"context"
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/bakehq/bake/bake"
)

// secretFuncs are Packer's aws_secretsmanager(name, key) and
// aws_secretsmanager_raw(name). They read through the amazon-secretsmanager
// data source, so credentials, region and errors are that block's. bake
// validate contacts nothing: the value is unknown (and sensitive) there,
// as an unread data source's is. The value is always sensitive.
func (c *Config) secretFuncs() map[string]function.Function {
	read := func(raw bool) function.Function {
		params := []function.Parameter{{Name: "name", Type: cty.String}}
		if !raw {
			params = append(params, function.Parameter{Name: "key", Type: cty.String, AllowNull: true})
		}
		name := "aws_secretsmanager"
		if raw {
			name += "_raw"
		}
		return function.New(&function.Spec{
			Params: params,
			Type:   function.StaticReturnType(cty.String),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				if !c.executeData {
					return cty.UnknownVal(cty.String).Mark(sensitiveMark), nil
				}
				newDS, ok := c.dataSources["amazon-secretsmanager"]
				if !ok {
					return cty.NilVal, fmt.Errorf("%s needs the amazon-secretsmanager data source, which this bake lacks", name)
				}
				src := fmt.Sprintf("name = %q\n", args[0].AsString())
				if !raw && !args[1].IsNull() && args[1].AsString() != "" {
					src += fmt.Sprintf("key = %q\n", args[1].AsString())
				}
				f, diags := hclsyntax.ParseConfig([]byte(src), name+"()", hcl.InitialPos)
				if diags.HasErrors() {
					return cty.NilVal, diags
				}
				ds, diags := newDS(bake.DecodeContext{Body: f.Body, Dir: c.cwd, Root: c.Dir, Name: name, Range: f.Body.MissingItemRange()})
				if diags.HasErrors() {
					return cty.NilVal, fmt.Errorf("%s(%q): %s", name, args[0].AsString(), diags.Error())
				}
				ctx := c.ctx
				if ctx == nil {
					ctx = context.Background()
				}
				val, err := ds.Execute(ctx)
				if err != nil {
					return cty.NilVal, fmt.Errorf("%s(%q): %w", name, args[0].AsString(), err)
				}
				attr := "value"
				if raw {
					attr = "secret_string"
				}
				if !val.Type().IsObjectType() || !val.Type().HasAttribute(attr) {
					return cty.NilVal, fmt.Errorf("%s: the amazon-secretsmanager data source gave no %s", name, attr)
				}
				return val.GetAttr(attr).Mark(sensitiveMark), nil
			},
		})
	}
	return map[string]function.Function{"aws_secretsmanager": read(false), "aws_secretsmanager_raw": read(true)}
}
