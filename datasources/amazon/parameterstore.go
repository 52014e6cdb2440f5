package amazon

import (
	"context"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/packer-plugin-amazon/datasource/parameterstore"
	"github.com/zclconf/go-cty/cty"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/datasources"
	"github.com/bakehq/bake/internal/awserr"
)

// ParameterStoreType is the amazon-parameterstore data block's type label.
const ParameterStoreType = "amazon-parameterstore"

// ParameterStore is one amazon-parameterstore data block: an SSM
// parameter's value.
type ParameterStore struct {
	b       *datasources.Block
	acc     access
	name    string
	decrypt bool
}

var _ bake.DataSource = (*ParameterStore)(nil)

// NewParameterStore decodes an amazon-parameterstore data block with
// packer-plugin-amazon's spec.
func NewParameterStore(dc bake.DecodeContext) (bake.DataSource, hcl.Diagnostics) {
	b, diags := datasources.Decode(ParameterStoreType, dc, (&parameterstore.Config{}).FlatMapstructure().HCL2Spec())
	if diags.HasErrors() {
		return nil, diags
	}
	acc, d := decodeAccess(b)
	diags = append(diags, d...)
	p := &ParameterStore{b: b, acc: acc, name: b.String("name"), decrypt: b.Bool("with_decryption")}
	if v := b.Value("name"); v.IsNull() || v.IsKnown() && p.name == "" {
		diags = append(diags, b.Diag("name", "name is required", `Set name to the parameter's name, for example name = "/app/db/host" (name:N picks version N).`))
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return p, diags
}

// OutputType is packer-plugin-amazon's output: value, version, arn.
func (p *ParameterStore) OutputType() cty.Type {
	return datasources.SpecType((&parameterstore.DatasourceOutput{}).FlatMapstructure().HCL2Spec())
}

// Execute gets the parameter.
func (p *ParameterStore) Execute(ctx context.Context) (cty.Value, error) {
	if !p.b.Known() {
		return cty.NilVal, p.b.Failf("arguments are not known yet (they use a data source that was not read)")
	}
	cfg, err := p.acc.config(ctx, p.b)
	if err != nil {
		return cty.NilVal, err
	}
	out, err := ssm.NewFromConfig(cfg).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(p.name), WithDecryption: aws.Bool(p.decrypt)})
	switch awserr.Code(err) {
	case "":
	case "ParameterNotFound":
		return cty.NilVal, p.b.Errorf("parameter %q not found in %s: check name and region", p.name, cfg.Region)
	case "ParameterVersionNotFound":
		return cty.NilVal, p.b.Errorf("parameter %q: that version does not exist in %s: check the :N after the name", p.name, cfg.Region)
	case "ValidationException":
		return cty.NilVal, p.b.Errorf("parameter %q: %s", p.name, awserr.Short(err))
	default:
		return cty.NilVal, p.b.Failf("get parameter %q in %s: %s", p.name, cfg.Region, awserr.Short(err))
	}
	if err != nil {
		return cty.NilVal, p.b.Failf("get parameter %q in %s: %w", p.name, cfg.Region, err)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"value":   cty.StringVal(aws.ToString(out.Parameter.Value)),
		"version": cty.StringVal(strconv.FormatInt(out.Parameter.Version, 10)),
		"arn":     cty.StringVal(aws.ToString(out.Parameter.ARN)),
	}), nil
}
