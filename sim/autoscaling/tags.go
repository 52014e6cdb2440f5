package autoscaling

import (
	"context"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	as "github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"github.com/bakehq/bake/sim/core"
)

// groupTags checks the tags given at group creation and names the group in
// each of them.
func groupTags(name string, in []types.Tag) ([]types.TagDescription, error) {
	var out []types.TagDescription
	for _, t := range in {
		t.ResourceId, t.ResourceType = aws.String(name), aws.String("auto-scaling-group")
		d, err := tagDescription(t)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func tagDescription(t types.Tag) (types.TagDescription, error) {
	k := aws.ToString(t.Key)
	switch {
	case k == "" || len(k) > 128:
		return types.TagDescription{}, core.Errorf("ValidationError", "Tag key must be between 1 and 128 characters")
	case strings.HasPrefix(k, "aws:"):
		return types.TagDescription{}, core.Errorf("ValidationError", "Tag keys starting with 'aws:' are reserved for internal use")
	case aws.ToString(t.ResourceType) != "auto-scaling-group":
		return types.TagDescription{}, core.Errorf("ValidationError", "Tag resource type must be 'auto-scaling-group', not '%s'", aws.ToString(t.ResourceType))
	}
	return types.TagDescription{Key: t.Key, Value: aws.String(aws.ToString(t.Value)), ResourceId: t.ResourceId,
		ResourceType: t.ResourceType, PropagateAtLaunch: aws.Bool(aws.ToBool(t.PropagateAtLaunch))}, nil
}

func (a *AutoScaling) createOrUpdateTags(_ context.Context, _ *core.Request, in *as.CreateOrUpdateTagsInput) (*as.CreateOrUpdateTagsOutput, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var ds []types.TagDescription
	for _, t := range in.Tags {
		d, err := tagDescription(t)
		if err != nil {
			return nil, err
		}
		if g := a.groups[aws.ToString(t.ResourceId)]; g == nil {
			return nil, errNoGroup(aws.ToString(t.ResourceId))
		}
		ds = append(ds, d)
	}
	for _, d := range ds {
		i := slices.IndexFunc(a.tags, func(x types.TagDescription) bool {
			return aws.ToString(x.ResourceId) == aws.ToString(d.ResourceId) && aws.ToString(x.Key) == aws.ToString(d.Key)
		})
		if i >= 0 {
			a.tags[i] = d
		} else {
			a.tags = append(a.tags, d)
		}
	}
	a.save()
	return &as.CreateOrUpdateTagsOutput{}, nil
}

func (a *AutoScaling) deleteTags(_ context.Context, _ *core.Request, in *as.DeleteTagsInput) (*as.DeleteTagsOutput, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, t := range in.Tags {
		if aws.ToString(t.Key) == "" {
			return nil, core.Errorf("ValidationError", "Tag key must be between 1 and 128 characters")
		}
		if a.groups[aws.ToString(t.ResourceId)] == nil {
			return nil, errNoGroup(aws.ToString(t.ResourceId))
		}
	}
	for _, t := range in.Tags {
		a.tags = slices.DeleteFunc(a.tags, func(x types.TagDescription) bool {
			return aws.ToString(x.ResourceId) == aws.ToString(t.ResourceId) && aws.ToString(x.Key) == aws.ToString(t.Key) &&
				(t.Value == nil || aws.ToString(x.Value) == *t.Value)
		})
	}
	a.save()
	return &as.DeleteTagsOutput{}, nil
}

func (a *AutoScaling) describeTags(_ context.Context, _ *core.Request, in *as.DescribeTagsInput) (*as.DescribeTagsOutput, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, f := range in.Filters {
		switch aws.ToString(f.Name) {
		case "auto-scaling-group", "key", "value", "propagate-at-launch":
		default:
			return nil, core.Errorf("ValidationError", "Filter type %s is not correct. Allowed Filter types are: auto-scaling-group key value propagate-at-launch", aws.ToString(f.Name))
		}
	}
	out := &as.DescribeTagsOutput{Tags: []types.TagDescription{}}
	for _, t := range a.tags {
		keep := true
		for _, f := range in.Filters {
			var v string
			switch aws.ToString(f.Name) {
			case "auto-scaling-group":
				v = aws.ToString(t.ResourceId)
			case "key":
				v = aws.ToString(t.Key)
			case "value":
				v = aws.ToString(t.Value)
			case "propagate-at-launch":
				v = "false"
				if aws.ToBool(t.PropagateAtLaunch) {
					v = "true"
				}
			}
			keep = keep && slices.Contains(f.Values, v)
		}
		if keep {
			out.Tags = append(out.Tags, t)
		}
	}
	sort.SliceStable(out.Tags, func(i, j int) bool {
		if a, b := aws.ToString(out.Tags[i].ResourceId), aws.ToString(out.Tags[j].ResourceId); a != b {
			return a < b
		}
		return aws.ToString(out.Tags[i].Key) < aws.ToString(out.Tags[j].Key)
	})
	return out, nil
}
