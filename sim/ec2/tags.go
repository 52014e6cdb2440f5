package ec2

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/bakehq/bake/sim/core"
)

var resourcePrefixes = []struct {
	prefix string
	typ    types.ResourceType
}{
	{"i-", types.ResourceTypeInstance}, {"ami-", types.ResourceTypeImage}, {"snap-", types.ResourceTypeSnapshot},
	{"sg-", types.ResourceTypeSecurityGroup}, {"lt-", types.ResourceTypeLaunchTemplate}, {"key-", types.ResourceTypeKeyPair},
	{"vpc-", types.ResourceTypeVpc}, {"subnet-", types.ResourceTypeSubnet}, {"vol-", types.ResourceTypeVolume},
}

func resourceType(id string) types.ResourceType {
	for _, p := range resourcePrefixes {
		if strings.HasPrefix(id, p.prefix) {
			return p.typ
		}
	}
	return ""
}

// exists checks a resource id for CreateTags; call with e.mu held.
func (e *EC2) exists(id string) error {
	switch resourceType(id) {
	case types.ResourceTypeInstance:
		_, err := e.instance(id)
		return err
	case types.ResourceTypeImage:
		if _, ok := e.st.Images[id]; !ok {
			return core.Errorf("InvalidAMIID.NotFound", "The image id '[%s]' does not exist", id)
		}
	case types.ResourceTypeSnapshot:
		if _, ok := e.st.Snapshots[id]; !ok {
			return core.Errorf("InvalidSnapshot.NotFound", "The snapshot '%s' does not exist.", id)
		}
	case types.ResourceTypeSecurityGroup:
		if _, ok := e.st.Groups[id]; !ok {
			return core.Errorf("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
		}
	case types.ResourceTypeLaunchTemplate:
		if _, ok := e.st.Templates[id]; !ok {
			return core.Errorf("InvalidLaunchTemplateId.NotFound", "The specified launch template, with template ID %s, does not exist.", id)
		}
	case types.ResourceTypeKeyPair:
		for _, k := range e.st.KeyPairs {
			if *k.KeyPairId == id {
				return nil
			}
		}
		return core.Errorf("InvalidKeyPair.NotFound", "The key pair '%s' does not exist", id)
	case types.ResourceTypeVpc:
		if id != deref(e.st.VPC.VpcId) {
			return core.Errorf("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", id)
		}
	case types.ResourceTypeSubnet:
		if _, ok := e.subnet(id); !ok {
			return core.Errorf("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", id)
		}
	case types.ResourceTypeVolume:
		if _, ok := e.st.Volumes[id]; !ok {
			return core.Errorf("InvalidVolume.NotFound", "The volume '%s' does not exist.", id)
		}
	default:
		return core.Errorf("InvalidID", "The ID '%s' is not valid", id)
	}
	return nil
}

func (e *EC2) createTags(_ context.Context, _ *core.Request, in *ec2.CreateTagsInput) (*ec2.CreateTagsOutput, error) {
	for _, t := range in.Tags {
		k := deref(t.Key)
		if k == "" || len(k) > 128 || len(deref(t.Value)) > 256 {
			return nil, core.Errorf("InvalidParameterValue", "Tag keys must be 1 to 128 characters and values at most 256")
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return nil, core.Errorf("InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use")
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, id := range in.Resources {
		if err := e.exists(id); err != nil {
			return nil, err
		}
	}
	for _, id := range in.Resources {
		e.setTags(id, in.Tags)
	}
	e.save()
	return &ec2.CreateTagsOutput{}, nil
}

func (e *EC2) deleteTags(_ context.Context, _ *core.Request, in *ec2.DeleteTagsInput) (*ec2.DeleteTagsOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, id := range in.Resources {
		if err := e.exists(id); err != nil {
			return nil, err
		}
	}
	for _, id := range in.Resources {
		m := e.st.Tags[id]
		if in.Tags == nil {
			delete(e.st.Tags, id) // no Tag parameter: every tag goes
			continue
		}
		for _, t := range in.Tags {
			if v, ok := m[deref(t.Key)]; ok && (t.Value == nil || *t.Value == v) {
				delete(m, deref(t.Key))
			}
		}
	}
	e.save()
	return &ec2.DeleteTagsOutput{}, nil
}

func (e *EC2) describeTags(_ context.Context, _ *core.Request, in *ec2.DescribeTagsInput) (*ec2.DescribeTagsOutput, error) {
	fs := filterSet(in.Filters)
	if err := fs.known("key", "value", "resource-id", "resource-type"); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var all []types.TagDescription
	var ids []string
	for _, id := range slices.Sorted(maps.Keys(e.st.Tags)) {
		for _, t := range tagList(e.st.Tags[id]) {
			td := types.TagDescription{Key: t.Key, Value: t.Value, ResourceId: strPtr(id), ResourceType: resourceType(id)}
			if !fs.match(func(n string) []string {
				return map[string][]string{"key": {*t.Key}, "value": {*t.Value}, "resource-id": {id}, "resource-type": {string(td.ResourceType)}}[n]
			}) {
				continue
			}
			all = append(all, td)
			ids = append(ids, id+"\x00"+*t.Key)
		}
	}
	sel, next := page(ids, in.NextToken, in.MaxResults)
	out := &ec2.DescribeTagsOutput{Tags: []types.TagDescription{}, NextToken: next}
	start := len(ids) - len(ids)
	if len(sel) > 0 {
		for i, id := range ids {
			if id == sel[0] {
				start = i
				break
			}
		}
	}
	out.Tags = append(out.Tags, all[start:start+len(sel)]...)
	return out, nil
}
