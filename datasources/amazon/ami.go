package amazon

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/packer-plugin-amazon/datasource/ami"
	"github.com/zclconf/go-cty/cty"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/datasources"
	"github.com/bakehq/bake/internal/awserr"
)

// AMIType is the amazon-ami data block's type label.
const AMIType = "amazon-ami"

// AMI is one amazon-ami data block: the AMI its filters and owners match.
type AMI struct {
	b                          *datasources.Block
	acc                        access
	filters                    map[string]string
	owners                     []string
	mostRecent, inclDeprecated bool
	endpoint                   string
}

var _ bake.DataSource = (*AMI)(nil)

// NewAMI decodes an amazon-ami data block with packer-plugin-amazon's
// spec, and checks it as Packer does: owners are required.
func NewAMI(dc bake.DecodeContext) (bake.DataSource, hcl.Diagnostics) {
	b, diags := datasources.Decode(AMIType, dc, (&ami.Config{}).FlatMapstructure().HCL2Spec())
	if diags.HasErrors() {
		return nil, diags
	}
	acc, d := decodeAccess(b)
	diags = append(diags, d...)
	a := &AMI{b: b, acc: acc, filters: b.StringMap("filters"), owners: b.Strings("owners"),
		mostRecent: b.Bool("most_recent"), inclDeprecated: b.Bool("include_deprecated"), endpoint: b.String("custom_endpoint_ec2")}
	if !b.Set("owners") && !b.Set("filters") {
		diags = append(diags, b.Diag("", "filters must be specified",
			`Set filters (for example filters = { name = "ubuntu/images/*ubuntu-jammy-22.04-amd64-server-*" }) and owners (for example owners = ["099720109477"]).`))
	} else if !b.Set("owners") || b.Value("owners").IsKnown() && len(a.owners) == 0 {
		diags = append(diags, b.Diag("owners", "owners are required",
			`For security reasons you must say whose AMIs match: set owners to account ids, "self" or an alias such as "amazon" (Canonical is "099720109477", Debian "136693071363").`))
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return a, diags
}

// OutputType is packer-plugin-amazon's output: id, name, creation_date,
// owner, owner_name, tags.
func (a *AMI) OutputType() cty.Type {
	return datasources.SpecType((&ami.DatasourceOutput{}).FlatMapstructure().HCL2Spec())
}

// filterString shows the query as the user wrote it, for errors.
func (a *AMI) filterString() string {
	keys := make([]string, 0, len(a.filters))
	for k := range a.filters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%q", k, a.filters[k])
	}
	return fmt.Sprintf("filters {%s} owners [%s]", strings.Join(parts, ", "), strings.Join(a.owners, ", "))
}

// Execute describes the images and picks one as Packer does: none is an
// error, several are an error unless most_recent picks the newest.
func (a *AMI) Execute(ctx context.Context) (cty.Value, error) {
	if !a.b.Known() {
		return cty.NilVal, a.b.Failf("arguments are not known yet (they use a data source that was not read)")
	}
	cfg, err := a.acc.config(ctx, a.b)
	if err != nil {
		return cty.NilVal, err
	}
	cl := ec2.NewFromConfig(cfg, func(o *ec2.Options) {
		if a.endpoint != "" {
			o.BaseEndpoint = aws.String(a.endpoint)
		}
	})
	in := &ec2.DescribeImagesInput{Owners: a.owners, IncludeDeprecated: aws.Bool(a.inclDeprecated)}
	keys := make([]string, 0, len(a.filters))
	for k := range a.filters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		in.Filters = append(in.Filters, types.Filter{Name: aws.String(k), Values: []string{a.filters[k]}})
	}
	out, err := cl.DescribeImages(ctx, in)
	if err != nil {
		if c := awserr.Code(err); c == "InvalidParameterValue" || c == "InvalidParameterCombination" {
			return cty.NilVal, a.b.Errorf("%s: %s: fix the filters (any DescribeImages filter name is valid)", a.filterString(), awserr.Short(err))
		}
		return cty.NilVal, a.b.Failf("describe AMIs (%s) in %s: %s", a.filterString(), cfg.Region, awserr.Short(err))
	}
	images := out.Images
	switch {
	case len(images) == 0:
		return cty.NilVal, a.b.Errorf("no AMI matches %s in %s: check the filters, the owners and the region (deprecated AMIs need include_deprecated = true)", a.filterString(), cfg.Region)
	case len(images) > 1 && !a.mostRecent:
		return cty.NilVal, a.b.Errorf("%d AMIs match %s in %s: set most_recent = true or narrow the filters", len(images), a.filterString(), cfg.Region)
	}
	im := images[0]
	for _, o := range images[1:] {
		if aws.ToString(o.CreationDate) > aws.ToString(im.CreationDate) {
			im = o
		}
	}
	tags := map[string]string{}
	for _, t := range im.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"id":            cty.StringVal(aws.ToString(im.ImageId)),
		"name":          cty.StringVal(aws.ToString(im.Name)),
		"creation_date": cty.StringVal(aws.ToString(im.CreationDate)),
		"owner":         cty.StringVal(aws.ToString(im.OwnerId)),
		"owner_name":    cty.StringVal(aws.ToString(im.ImageOwnerAlias)),
		"tags":          datasources.StrMap(tags),
	}), nil
}
