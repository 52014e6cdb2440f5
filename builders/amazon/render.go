package amazon

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	awsv1 "github.com/aws/aws-sdk-go/aws"
	ec2v1 "github.com/aws/aws-sdk-go/service/ec2"
	awscommon "github.com/hashicorp/packer-plugin-amazon/builder/common"
	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

// Packer renders ami_description and the tag maps (tags, run_tags,
// run_volume_tags, snapshot_tags, spot_tags) at build time, with the
// source AMI's build info as data ({{ .SourceAMI }}, {{ .SourceAMIName }},
// {{ .BuildRegion }}, {{ .SourceAMIOwner }}, {{ .SourceAMIOwnerName }},
// {{ .SourceAMICreationDate }}, {{ .SourceAMITags.x }}) next to the
// functions of the SDK and the plugin ({{timestamp}}, {{isotime}},
// {{uuid}}, {{clean_resource_name}}, {{build_name}}, ...). bake renders
// them with the plugin's own code: TagMap.EC2Tags over a state bag that
// holds the source image as the plugin's steps leave it.

// buildInfo is the plugin's state bag with the source image.
func buildInfoState(src types.Image) multistep.StateBag {
	st := new(multistep.BasicStateBag)
	if src.ImageId == nil {
		return st
	}
	im := &ec2v1.Image{ImageId: awsv1.String(aws.ToString(src.ImageId)), Name: awsv1.String(aws.ToString(src.Name)),
		OwnerId: awsv1.String(aws.ToString(src.OwnerId)), ImageOwnerAlias: awsv1.String(aws.ToString(src.ImageOwnerAlias)),
		CreationDate: awsv1.String(aws.ToString(src.CreationDate))}
	for _, t := range src.Tags {
		im.Tags = append(im.Tags, &ec2v1.Tag{Key: awsv1.String(aws.ToString(t.Key)), Value: awsv1.String(aws.ToString(t.Value))})
	}
	st.Put("source_image", im)
	return st
}

// renderTags renders a tag map of the config (what names it in errors).
func (s *state) renderTags(what string, m map[string]string) (map[string]string, error) {
	if len(m) == 0 {
		return nil, nil
	}
	c := s.cfg
	tags, err := awscommon.TagMap(m).EC2Tags(c.ictx, s.cl.region(), buildInfoState(s.source))
	if err != nil {
		return nil, fmt.Errorf("source %q: %s: %w", c.name, what, err)
	}
	out := make(map[string]string, len(tags))
	for _, t := range tags {
		out[awsv1.StringValue(t.Key)] = awsv1.StringValue(t.Value)
	}
	return out, nil
}

// renderString renders ami_description the same way.
func (s *state) renderString(what, text string) (string, error) {
	if text == "" {
		return "", nil
	}
	m, err := s.renderTags(what, map[string]string{"v": text})
	if err != nil {
		return "", err
	}
	return m["v"], nil
}

// rendered are the config's templates once rendered for this bake.
type rendered struct {
	description                         string
	tags, runTags, volumeTags, snapTags map[string]string
}

// render renders every template of the config; each error names its
// argument.
func (s *state) render() error {
	c := s.cfg
	var r rendered
	var err error
	if r.description, err = s.renderString("ami_description", c.AMIDescription); err != nil {
		return err
	}
	for _, t := range []struct {
		name string
		in   map[string]string
		out  *map[string]string
	}{{"tags", c.Tags, &r.tags}, {"run_tags", c.RunTags, &r.runTags}, {"run_volume_tags", c.RunVolumeTags, &r.volumeTags},
		{"snapshot_tags", c.SnapshotTags, &r.snapTags}} {
		if *t.out, err = s.renderTags(t.name, t.in); err != nil {
			return err
		}
	}
	s.r = &r
	return nil
}

// ensureRendered renders the templates once per bake.
func (s *state) ensureRendered() error {
	if s.r != nil {
		return nil
	}
	return s.render()
}
