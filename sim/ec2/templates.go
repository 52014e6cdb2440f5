package ec2

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/bakehq/bake/sim/core"
)

var templateNameRE = regexp.MustCompile(`^[a-zA-Z0-9().\-/_]{3,128}$`)

// responseData converts the request form of launch template data to the
// response form (the SDK's two types share their field names), laid over
// base when given: what the new version sets replaces the source version's.
func responseData(req *types.RequestLaunchTemplateData, base *types.ResponseLaunchTemplateData) (*types.ResponseLaunchTemplateData, error) {
	merged := map[string]any{}
	if base != nil {
		b, err := json.Marshal(base)
		if err != nil {
			return nil, fmt.Errorf("encode launch template data: %w", err)
		}
		if err := json.Unmarshal(b, &merged); err != nil {
			return nil, fmt.Errorf("encode launch template data: %w", err)
		}
	}
	if req != nil {
		b, err := json.Marshal(req)
		if err != nil {
			return nil, fmt.Errorf("encode launch template data: %w", err)
		}
		var over map[string]any
		if err := json.Unmarshal(b, &over); err != nil {
			return nil, fmt.Errorf("encode launch template data: %w", err)
		}
		for k, v := range over {
			if v != nil {
				merged[k] = v
			}
		}
	}
	b, err := json.Marshal(merged)
	if err != nil {
		return nil, fmt.Errorf("encode launch template data: %w", err)
	}
	out := &types.ResponseLaunchTemplateData{}
	// A field whose request and response types differ is skipped: the
	// rest is kept, which is what Unmarshal does on a type mismatch.
	var te *json.UnmarshalTypeError
	if err := json.Unmarshal(b, out); err != nil && !errors.As(err, &te) {
		return nil, fmt.Errorf("decode launch template data: %w", err)
	}
	return out, nil
}

// template finds a launch template by id or name; call with e.mu held.
func (e *EC2) template(id, name *string) (*launchTemplate, error) {
	if id != nil {
		t, ok := e.st.Templates[*id]
		if !ok {
			return nil, core.Errorf("InvalidLaunchTemplateId.NotFound", "The specified launch template, with template ID %s, does not exist.", *id)
		}
		return t, nil
	}
	if name != nil {
		for _, t := range e.st.Templates {
			if deref(t.LaunchTemplateName) == *name {
				return t, nil
			}
		}
		return nil, core.Errorf("InvalidLaunchTemplateName.NotFoundException", "The specified launch template, with template name %s, does not exist.", *name)
	}
	return nil, core.Missing("The request must contain the parameter LaunchTemplateId or LaunchTemplateName")
}

// version resolves $Latest, $Default or a number; call with e.mu held.
func (t *launchTemplate) version(v string) (*types.LaunchTemplateVersion, error) {
	n := deref(t.DefaultVersionNumber)
	switch v {
	case "", "$Default":
	case "$Latest":
		n = deref(t.LatestVersionNumber)
	default:
		x, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, core.Errorf("InvalidLaunchTemplateId.VersionNotFound", "Could not find launch template version %s for launch template %s", v, *t.LaunchTemplateId)
		}
		n = x
	}
	for _, ver := range t.Versions {
		if deref(ver.VersionNumber) == n {
			return ver, nil
		}
	}
	return nil, core.Errorf("InvalidLaunchTemplateId.VersionNotFound", "Could not find launch template version %s for launch template %s", v, *t.LaunchTemplateId)
}

func (e *EC2) createLaunchTemplate(_ context.Context, req *core.Request, in *ec2.CreateLaunchTemplateInput) (*ec2.CreateLaunchTemplateOutput, error) {
	name := deref(in.LaunchTemplateName)
	if !templateNameRE.MatchString(name) {
		return nil, core.Errorf("InvalidLaunchTemplateName.MalformedException", "A launch template name must be between 3 and 128 characters, and may contain letters, numbers, and the following characters: - ( ) . / _.'")
	}
	data, err := responseData(in.LaunchTemplateData, nil)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, t := range e.st.Templates {
		if deref(t.LaunchTemplateName) == name {
			return nil, core.Errorf("InvalidLaunchTemplateName.AlreadyExistsException", "Launch template name already in use.")
		}
	}
	id := core.NewID("lt")
	now := timePtr(time.Now().Truncate(time.Second))
	by := strPtr(fmt.Sprintf("arn:aws:iam::%s:user/bake-sim", e.account))
	t := &launchTemplate{LaunchTemplate: types.LaunchTemplate{
		LaunchTemplateId: &id, LaunchTemplateName: &name, CreateTime: now, CreatedBy: by,
		DefaultVersionNumber: int64Ptr(1), LatestVersionNumber: int64Ptr(1),
	}}
	t.Versions = []*types.LaunchTemplateVersion{{
		LaunchTemplateId: &id, LaunchTemplateName: &name, VersionNumber: int64Ptr(1), VersionDescription: in.VersionDescription,
		CreateTime: now, CreatedBy: by, DefaultVersion: boolPtr(true), LaunchTemplateData: data,
	}}
	e.st.Templates[id] = t
	e.tagsFor(id, types.ResourceTypeLaunchTemplate, in.TagSpecifications)
	e.save()
	return &ec2.CreateLaunchTemplateOutput{LaunchTemplate: e.templateView(t)}, nil
}

func int64Ptr(n int64) *int64 { return &n }

func (e *EC2) templateView(t *launchTemplate) *types.LaunchTemplate {
	x := t.LaunchTemplate
	x.Tags = tagList(e.st.Tags[*t.LaunchTemplateId])
	return &x
}

func (e *EC2) createLaunchTemplateVersion(_ context.Context, _ *core.Request, in *ec2.CreateLaunchTemplateVersionInput) (*ec2.CreateLaunchTemplateVersionOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, err := e.template(in.LaunchTemplateId, in.LaunchTemplateName)
	if err != nil {
		return nil, err
	}
	var base *types.ResponseLaunchTemplateData
	if in.SourceVersion != nil {
		src, err := t.version(*in.SourceVersion)
		if err != nil {
			return nil, err
		}
		base = src.LaunchTemplateData
	}
	data, err := responseData(in.LaunchTemplateData, base)
	if err != nil {
		return nil, err
	}
	n := deref(t.LatestVersionNumber) + 1
	v := &types.LaunchTemplateVersion{
		LaunchTemplateId: t.LaunchTemplateId, LaunchTemplateName: t.LaunchTemplateName, VersionNumber: int64Ptr(n),
		VersionDescription: in.VersionDescription, CreateTime: timePtr(time.Now().Truncate(time.Second)), CreatedBy: t.CreatedBy,
		DefaultVersion: boolPtr(false), LaunchTemplateData: data,
	}
	t.Versions = append(t.Versions, v)
	t.LatestVersionNumber = int64Ptr(n)
	e.save()
	return &ec2.CreateLaunchTemplateVersionOutput{LaunchTemplateVersion: v}, nil
}

func (e *EC2) describeLaunchTemplates(_ context.Context, _ *core.Request, in *ec2.DescribeLaunchTemplatesInput) (*ec2.DescribeLaunchTemplatesOutput, error) {
	fs := filterSet(in.Filters)
	if err := fs.known("launch-template-name", "create-time"); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, id := range in.LaunchTemplateIds {
		if _, ok := e.st.Templates[id]; !ok {
			return nil, core.Errorf("InvalidLaunchTemplateId.NotFound", "At least one of the launch templates specified in the request does not exist.")
		}
	}
	for _, n := range in.LaunchTemplateNames {
		if _, err := e.template(nil, &n); err != nil {
			return nil, core.Errorf("InvalidLaunchTemplateName.NotFoundException", "At least one of the launch templates specified in the request does not exist.")
		}
	}
	out := &ec2.DescribeLaunchTemplatesOutput{LaunchTemplates: []types.LaunchTemplate{}}
	for _, id := range slices.Sorted(maps.Keys(e.st.Templates)) {
		t := e.st.Templates[id]
		if len(in.LaunchTemplateIds) > 0 && !contains(in.LaunchTemplateIds, id) ||
			len(in.LaunchTemplateNames) > 0 && !contains(in.LaunchTemplateNames, deref(t.LaunchTemplateName)) {
			continue
		}
		tags := e.st.Tags[id]
		if !fs.match(func(n string) []string {
			if vals, ok := tagValues(tags, n); ok {
				return vals
			}
			return map[string][]string{"launch-template-name": {deref(t.LaunchTemplateName)}, "create-time": {t.CreateTime.Format(core.TimeFormat)}}[n]
		}) {
			continue
		}
		out.LaunchTemplates = append(out.LaunchTemplates, *e.templateView(t))
	}
	return out, nil
}

func (e *EC2) describeLaunchTemplateVersions(_ context.Context, _ *core.Request, in *ec2.DescribeLaunchTemplateVersionsInput) (*ec2.DescribeLaunchTemplateVersionsOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var ts []*launchTemplate
	if in.LaunchTemplateId != nil || in.LaunchTemplateName != nil {
		t, err := e.template(in.LaunchTemplateId, in.LaunchTemplateName)
		if err != nil {
			return nil, err
		}
		ts = []*launchTemplate{t}
	} else {
		if len(in.Versions) > 0 {
			return nil, core.Missing("The request must contain the parameter LaunchTemplateId or LaunchTemplateName")
		}
		for _, id := range slices.Sorted(maps.Keys(e.st.Templates)) {
			ts = append(ts, e.st.Templates[id])
		}
	}
	out := &ec2.DescribeLaunchTemplateVersionsOutput{LaunchTemplateVersions: []types.LaunchTemplateVersion{}}
	min, max := int64(0), int64(1<<62)
	if in.MinVersion != nil {
		v, err := strconv.ParseInt(*in.MinVersion, 10, 64)
		if err != nil {
			return nil, core.Errorf("InvalidParameterValue", "Invalid MinVersion: %s", *in.MinVersion)
		}
		min = v
	}
	if in.MaxVersion != nil {
		v, err := strconv.ParseInt(*in.MaxVersion, 10, 64)
		if err != nil {
			return nil, core.Errorf("InvalidParameterValue", "Invalid MaxVersion: %s", *in.MaxVersion)
		}
		max = v
	}
	for _, t := range ts {
		if len(in.Versions) > 0 {
			for _, v := range in.Versions {
				ver, err := t.version(v)
				if err != nil {
					return nil, err
				}
				out.LaunchTemplateVersions = append(out.LaunchTemplateVersions, *ver)
			}
			continue
		}
		for i := len(t.Versions) - 1; i >= 0; i-- {
			ver := t.Versions[i]
			if n := deref(ver.VersionNumber); n >= min && n <= max {
				out.LaunchTemplateVersions = append(out.LaunchTemplateVersions, *ver)
			}
		}
	}
	return out, nil
}

func (e *EC2) modifyLaunchTemplate(_ context.Context, _ *core.Request, in *ec2.ModifyLaunchTemplateInput) (*ec2.ModifyLaunchTemplateOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, err := e.template(in.LaunchTemplateId, in.LaunchTemplateName)
	if err != nil {
		return nil, err
	}
	if in.DefaultVersion != nil {
		ver, err := t.version(*in.DefaultVersion)
		if err != nil {
			return nil, err
		}
		for _, v := range t.Versions {
			v.DefaultVersion = boolPtr(v == ver)
		}
		t.DefaultVersionNumber = ver.VersionNumber
	}
	e.save()
	return &ec2.ModifyLaunchTemplateOutput{LaunchTemplate: e.templateView(t)}, nil
}

func (e *EC2) deleteLaunchTemplate(_ context.Context, _ *core.Request, in *ec2.DeleteLaunchTemplateInput) (*ec2.DeleteLaunchTemplateOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, err := e.template(in.LaunchTemplateId, in.LaunchTemplateName)
	if err != nil {
		return nil, err
	}
	view := e.templateView(t)
	delete(e.st.Templates, *t.LaunchTemplateId)
	delete(e.st.Tags, *t.LaunchTemplateId)
	e.save()
	return &ec2.DeleteLaunchTemplateOutput{LaunchTemplate: view}, nil
}

// applyTemplate fills what the RunInstances call left out from the launch
// template version; call with e.mu held.
func (e *EC2) applyTemplate(l *launch, spec *types.LaunchTemplateSpecification) error {
	t, err := e.template(spec.LaunchTemplateId, spec.LaunchTemplateName)
	if err != nil {
		return err
	}
	ver, err := t.version(deref(spec.Version))
	if err != nil {
		return err
	}
	d := ver.LaunchTemplateData
	if d == nil {
		d = &types.ResponseLaunchTemplateData{}
	}
	if l.ImageID == "" {
		l.ImageID = deref(d.ImageId)
	}
	if l.InstanceType == "" {
		l.InstanceType = d.InstanceType
	}
	if l.KeyName == "" {
		l.KeyName = deref(d.KeyName)
	}
	if len(l.GroupIDs) == 0 && len(l.GroupNames) == 0 {
		l.GroupIDs = d.SecurityGroupIds
		l.GroupNames = d.SecurityGroups
	}
	if len(d.NetworkInterfaces) > 0 {
		ni := d.NetworkInterfaces[0]
		if l.SubnetID == "" {
			l.SubnetID = deref(ni.SubnetId)
		}
		if len(l.GroupIDs) == 0 {
			l.GroupIDs = ni.Groups
		}
	}
	if l.AZ == "" && d.Placement != nil {
		l.AZ = deref(d.Placement.AvailabilityZone)
	}
	if l.UserData == "" {
		l.UserData = deref(d.UserData)
	}
	for _, ts := range d.TagSpecifications {
		l.Tags = append(l.Tags, types.TagSpecification{ResourceType: ts.ResourceType, Tags: ts.Tags})
	}
	l.Template = &types.LaunchTemplateSpecification{LaunchTemplateId: t.LaunchTemplateId, Version: strPtr(strconv.FormatInt(deref(ver.VersionNumber), 10))}
	return nil
}
