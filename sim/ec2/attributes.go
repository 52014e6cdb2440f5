package ec2

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/bakehq/bake/sim/core"
)

// The attributes of images (launchPermission: who may launch it, "all"
// making it public), snapshots (createVolumePermission) and instances
// (userData, the shutdown behaviour, termination protection, ...), and
// the instance options RunInstances records: an instance profile (the sim
// has no IAM: any name is taken, and only recorded) and metadata options.

var accountRE = regexp.MustCompile(`^[0-9]{12}$`)

// instanceProfile is the profile an instance is launched with, as EC2
// shows it: the ARN for a name, and a stable id.
func (e *EC2) instanceProfile(spec *types.IamInstanceProfileSpecification) (*types.IamInstanceProfile, error) {
	if spec == nil || spec.Arn == nil && spec.Name == nil {
		return nil, nil
	}
	arn := deref(spec.Arn)
	if arn == "" {
		arn = fmt.Sprintf("arn:aws:iam::%s:instance-profile/%s", e.account, deref(spec.Name))
	} else if !strings.HasPrefix(arn, "arn:aws:iam::") || !strings.Contains(arn, ":instance-profile/") {
		return nil, core.Errorf("InvalidParameterValue", "Value (%s) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN", arn)
	} else if spec.Name != nil && !strings.HasSuffix(arn, "/"+*spec.Name) {
		return nil, core.Errorf("InvalidParameterCombination", "The parameter 'iamInstanceProfile.name' may not be used in combination with 'iamInstanceProfile.arn'")
	}
	sum := sha256.Sum256([]byte(arn))
	return &types.IamInstanceProfile{Arn: &arn, Id: strPtr("AIPA" + strings.ToUpper(hex.EncodeToString(sum[:]))[:17])}, nil
}

// metadataOptions are an instance's IMDS options: the call's over EC2's
// defaults for a new instance (tokens optional, endpoint on, hop limit 1).
func metadataOptions(req *types.InstanceMetadataOptionsRequest) (*types.InstanceMetadataOptionsResponse, error) {
	out := &types.InstanceMetadataOptionsResponse{State: types.InstanceMetadataOptionsStateApplied,
		HttpTokens: types.HttpTokensStateOptional, HttpEndpoint: types.InstanceMetadataEndpointStateEnabled,
		HttpPutResponseHopLimit: i32Ptr(1), HttpProtocolIpv6: types.InstanceMetadataProtocolStateDisabled,
		InstanceMetadataTags: types.InstanceMetadataTagsStateDisabled}
	if req == nil {
		return out, nil
	}
	if t := req.HttpTokens; t != "" {
		if t != types.HttpTokensStateOptional && t != types.HttpTokensStateRequired {
			return nil, core.Errorf("InvalidParameterValue", "Value (%s) for parameter HttpTokens is invalid. Valid values: optional, required", t)
		}
		out.HttpTokens = t
	}
	if v := req.HttpEndpoint; v != "" {
		if v != types.InstanceMetadataEndpointStateEnabled && v != types.InstanceMetadataEndpointStateDisabled {
			return nil, core.Errorf("InvalidParameterValue", "Value (%s) for parameter HttpEndpoint is invalid. Valid values: enabled, disabled", v)
		}
		out.HttpEndpoint = v
	}
	if v := req.InstanceMetadataTags; v != "" {
		if v != types.InstanceMetadataTagsStateEnabled && v != types.InstanceMetadataTagsStateDisabled {
			return nil, core.Errorf("InvalidParameterValue", "Value (%s) for parameter InstanceMetadataTags is invalid. Valid values: enabled, disabled", v)
		}
		out.InstanceMetadataTags = v
	}
	if v := req.HttpProtocolIpv6; v != "" {
		out.HttpProtocolIpv6 = v
	}
	if req.HttpPutResponseHopLimit != nil {
		if n := *req.HttpPutResponseHopLimit; n < 1 || n > 64 {
			return nil, core.Errorf("InvalidParameterValue", "The HttpPutResponseHopLimit must be between 1 and 64, not %d", n)
		}
		out.HttpPutResponseHopLimit = req.HttpPutResponseHopLimit
	}
	return out, nil
}

// permissionGroup checks a launch or create-volume permission group: "all"
// is the one group EC2 has.
func permissionGroup(g types.PermissionGroup) error {
	if g != "" && g != types.PermissionGroupAll {
		return core.Errorf("InvalidParameterValue", "Value (%s) for parameter group is invalid. Valid values: all", g)
	}
	return nil
}

func checkAccount(id string) error {
	if !accountRE.MatchString(id) {
		return core.Errorf("InvalidAMIAttributeItemValue", "Invalid attribute item value \"%s\" for userId item type.", id)
	}
	return nil
}

func (e *EC2) modifyImageAttribute(_ context.Context, _ *core.Request, in *ec2.ModifyImageAttributeInput) (*ec2.ModifyImageAttributeOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	im, err := e.ownImage(in.ImageId)
	if err != nil {
		return nil, err
	}
	attr := deref(in.Attribute)
	if attr == "" {
		switch {
		case in.LaunchPermission != nil || len(in.UserIds) > 0 || len(in.UserGroups) > 0 || len(in.OrganizationArns) > 0 || len(in.OrganizationalUnitArns) > 0:
			attr = "launchPermission"
		case in.Description != nil:
			attr = "description"
		case in.ImdsSupport != nil:
			attr = "imdsSupport"
		default:
			return nil, core.Missing("The request must contain the parameter Attribute")
		}
	}
	switch attr {
	case "launchPermission":
		var add, remove []types.LaunchPermission
		if in.LaunchPermission != nil {
			add, remove = in.LaunchPermission.Add, in.LaunchPermission.Remove
		}
		var legacy []types.LaunchPermission
		for _, u := range in.UserIds {
			legacy = append(legacy, types.LaunchPermission{UserId: strPtr(u)})
		}
		for _, g := range in.UserGroups {
			legacy = append(legacy, types.LaunchPermission{Group: types.PermissionGroup(g)})
		}
		for _, a := range in.OrganizationArns {
			legacy = append(legacy, types.LaunchPermission{OrganizationArn: strPtr(a)})
		}
		for _, a := range in.OrganizationalUnitArns {
			legacy = append(legacy, types.LaunchPermission{OrganizationalUnitArn: strPtr(a)})
		}
		var err error
		if add, remove, err = byOperation(in.OperationType, add, remove, legacy); err != nil {
			return nil, err
		}
		if len(add)+len(remove) == 0 {
			return nil, core.Missing("The request must contain the parameter LaunchPermission")
		}
		for _, p := range append(append([]types.LaunchPermission{}, add...), remove...) {
			if err := permissionGroup(p.Group); err != nil {
				return nil, err
			}
			if p.UserId != nil {
				if err := checkAccount(*p.UserId); err != nil {
					return nil, err
				}
			}
			if p.Group == "" && p.UserId == nil && p.OrganizationArn == nil && p.OrganizationalUnitArn == nil {
				return nil, core.Missing("A launch permission needs a UserId, a Group, an OrganizationArn or an OrganizationalUnitArn")
			}
		}
		for _, p := range remove {
			im.LaunchPerms = slices.DeleteFunc(im.LaunchPerms, func(q types.LaunchPermission) bool { return samePermission(p, q) })
			if p.Group == types.PermissionGroupAll {
				im.Public = boolPtr(false)
			}
		}
		for _, p := range add {
			if p.Group == types.PermissionGroupAll {
				im.Public = boolPtr(true)
				continue
			}
			if !slices.ContainsFunc(im.LaunchPerms, func(q types.LaunchPermission) bool { return samePermission(p, q) }) {
				im.LaunchPerms = append(im.LaunchPerms, types.LaunchPermission{UserId: p.UserId, OrganizationArn: p.OrganizationArn,
					OrganizationalUnitArn: p.OrganizationalUnitArn})
			}
		}
	case "description":
		v := in.Value
		if in.Description != nil {
			v = in.Description.Value
		}
		im.Description = v
	case "imdsSupport":
		v := in.Value
		if in.ImdsSupport != nil {
			v = in.ImdsSupport.Value
		}
		if deref(v) != string(types.ImdsSupportValuesV20) {
			return nil, core.Errorf("InvalidParameterValue", "Value (%s) for parameter imdsSupport is invalid. Valid values: v2.0", deref(v))
		}
		im.ImdsSupport = types.ImdsSupportValuesV20
	default:
		return nil, core.Errorf("InvalidParameterValue", "Value (%s) for parameter attribute is invalid. bake sim modifies launchPermission, description and imdsSupport", attr)
	}
	e.save()
	return &ec2.ModifyImageAttributeOutput{}, nil
}

func samePermission(a, b types.LaunchPermission) bool {
	return a.Group == b.Group && deref(a.UserId) == deref(b.UserId) && deref(a.OrganizationArn) == deref(b.OrganizationArn) &&
		deref(a.OrganizationalUnitArn) == deref(b.OrganizationalUnitArn)
}

// launchPermissions is the launchPermission list as EC2 shows it: the
// group "all" for a public image, then the accounts and organizations.
func launchPermissions(im *image) []types.LaunchPermission {
	out := []types.LaunchPermission{}
	if deref(im.Public) {
		out = append(out, types.LaunchPermission{Group: types.PermissionGroupAll})
	}
	return append(out, im.LaunchPerms...)
}

func (e *EC2) describeImageAttribute(_ context.Context, _ *core.Request, in *ec2.DescribeImageAttributeInput) (*ec2.DescribeImageAttributeOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := checkAMIID(deref(in.ImageId)); err != nil {
		return nil, err
	}
	im, ok := e.st.Images[*in.ImageId]
	if !ok {
		return nil, core.Errorf("InvalidAMIID.NotFound", "The image id '[%s]' does not exist", *in.ImageId)
	}
	out := &ec2.DescribeImageAttributeOutput{ImageId: in.ImageId}
	own := deref(im.OwnerId) == e.account
	switch in.Attribute {
	case types.ImageAttributeNameLaunchPermission:
		if !own {
			return nil, core.Errorf("AuthFailure", "Not authorized for image:%s", *in.ImageId)
		}
		out.LaunchPermissions = launchPermissions(im)
	case types.ImageAttributeNameDescription:
		out.Description = &types.AttributeValue{Value: im.Description}
	case types.ImageAttributeNameBlockDeviceMapping:
		out.BlockDeviceMappings = im.BlockDeviceMappings
	case types.ImageAttributeNameBootMode:
		out.BootMode = &types.AttributeValue{Value: strPtr(string(im.BootMode))}
	case types.ImageAttributeNameSriovNetSupport:
		out.SriovNetSupport = &types.AttributeValue{Value: im.SriovNetSupport}
	case types.ImageAttributeNameImdsSupport:
		out.ImdsSupport = &types.AttributeValue{Value: strPtr(string(im.ImdsSupport))}
	case types.ImageAttributeNameKernel:
		out.KernelId = &types.AttributeValue{}
	case types.ImageAttributeNameRamdisk:
		out.RamdiskId = &types.AttributeValue{}
	case types.ImageAttributeNameProductCodes:
		out.ProductCodes = []types.ProductCode{}
	case types.ImageAttributeNameTpmSupport, types.ImageAttributeNameUefiData:
		// none: the sim's images have no TPM and no UEFI variables
	case types.ImageAttributeNameLastLaunchedTime:
		out.LastLaunchedTime = &types.AttributeValue{}
	default:
		return nil, core.Errorf("InvalidParameterValue", "Value (%s) for parameter attribute is invalid. Unknown attribute.", in.Attribute)
	}
	return out, nil
}

func (e *EC2) resetImageAttribute(_ context.Context, _ *core.Request, in *ec2.ResetImageAttributeInput) (*ec2.ResetImageAttributeOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	im, err := e.ownImage(in.ImageId)
	if err != nil {
		return nil, err
	}
	if in.Attribute != types.ResetImageAttributeNameLaunchPermission {
		return nil, core.Errorf("InvalidParameterValue", "Value (%s) for parameter attribute is invalid. Valid values: launchPermission", in.Attribute)
	}
	im.LaunchPerms, im.Public = nil, boolPtr(false)
	e.save()
	return &ec2.ResetImageAttributeOutput{}, nil
}

// ownSnapshot is a snapshot of the account, for the calls only its owner
// may make. Call with e.mu held.
func (e *EC2) ownSnapshot(id string) (*types.Snapshot, error) {
	if !strings.HasPrefix(id, "snap-") {
		return nil, core.Errorf("InvalidSnapshotID.Malformed", "Invalid id: \"%s\" (expecting \"snap-...\")", id)
	}
	s, ok := e.st.Snapshots[id]
	if !ok {
		return nil, core.Errorf("InvalidSnapshot.NotFound", "The snapshot '%s' does not exist.", id)
	}
	if deref(s.OwnerId) != e.account {
		return nil, core.Errorf("AuthFailure", "Not authorized for snapshot:%s", id)
	}
	return s, nil
}

func (e *EC2) modifySnapshotAttribute(_ context.Context, _ *core.Request, in *ec2.ModifySnapshotAttributeInput) (*ec2.ModifySnapshotAttributeOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	id := deref(in.SnapshotId)
	if _, err := e.ownSnapshot(id); err != nil {
		return nil, err
	}
	if in.Attribute != "" && in.Attribute != types.SnapshotAttributeNameCreateVolumePermission {
		return nil, core.Errorf("InvalidParameterValue", "Value (%s) for parameter attribute is invalid. Valid values: createVolumePermission", in.Attribute)
	}
	var add, remove []types.CreateVolumePermission
	if in.CreateVolumePermission != nil {
		add, remove = in.CreateVolumePermission.Add, in.CreateVolumePermission.Remove
	}
	var legacy []types.CreateVolumePermission
	for _, u := range in.UserIds {
		legacy = append(legacy, types.CreateVolumePermission{UserId: strPtr(u)})
	}
	for _, g := range in.GroupNames {
		legacy = append(legacy, types.CreateVolumePermission{Group: types.PermissionGroup(g)})
	}
	var err error
	if add, remove, err = byOperation(in.OperationType, add, remove, legacy); err != nil {
		return nil, err
	}
	if len(add)+len(remove) == 0 {
		return nil, core.Missing("The request must contain the parameter CreateVolumePermission")
	}
	for _, p := range append(append([]types.CreateVolumePermission{}, add...), remove...) {
		if err := permissionGroup(p.Group); err != nil {
			return nil, err
		}
		if p.UserId != nil {
			if err := checkAccount(*p.UserId); err != nil {
				return nil, err
			}
		}
		if p.Group == "" && p.UserId == nil {
			return nil, core.Missing("A create volume permission needs a UserId or a Group")
		}
	}
	same := func(a, b types.CreateVolumePermission) bool {
		return a.Group == b.Group && deref(a.UserId) == deref(b.UserId)
	}
	perms := e.st.SnapPerms[id]
	for _, p := range remove {
		perms = slices.DeleteFunc(perms, func(q types.CreateVolumePermission) bool { return same(p, q) })
	}
	for _, p := range add {
		if !slices.ContainsFunc(perms, func(q types.CreateVolumePermission) bool { return same(p, q) }) {
			perms = append(perms, types.CreateVolumePermission{Group: p.Group, UserId: p.UserId})
		}
	}
	if len(perms) == 0 {
		delete(e.st.SnapPerms, id)
	} else {
		e.st.SnapPerms[id] = perms
	}
	e.save()
	return &ec2.ModifySnapshotAttributeOutput{}, nil
}

func (e *EC2) describeSnapshotAttribute(_ context.Context, _ *core.Request, in *ec2.DescribeSnapshotAttributeInput) (*ec2.DescribeSnapshotAttributeOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	id := deref(in.SnapshotId)
	if _, err := e.ownSnapshot(id); err != nil {
		return nil, err
	}
	out := &ec2.DescribeSnapshotAttributeOutput{SnapshotId: &id}
	switch in.Attribute {
	case types.SnapshotAttributeNameCreateVolumePermission:
		out.CreateVolumePermissions = append([]types.CreateVolumePermission{}, e.st.SnapPerms[id]...)
	case types.SnapshotAttributeNameProductCodes:
		out.ProductCodes = []types.ProductCode{}
	default:
		return nil, core.Errorf("InvalidParameterValue", "Value (%s) for parameter attribute is invalid. Valid values: createVolumePermission, productCodes", in.Attribute)
	}
	return out, nil
}

func (e *EC2) resetSnapshotAttribute(_ context.Context, _ *core.Request, in *ec2.ResetSnapshotAttributeInput) (*ec2.ResetSnapshotAttributeOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	id := deref(in.SnapshotId)
	if _, err := e.ownSnapshot(id); err != nil {
		return nil, err
	}
	if in.Attribute != types.SnapshotAttributeNameCreateVolumePermission {
		return nil, core.Errorf("InvalidParameterValue", "Value (%s) for parameter attribute is invalid. Valid values: createVolumePermission", in.Attribute)
	}
	delete(e.st.SnapPerms, id)
	e.save()
	return &ec2.ResetSnapshotAttributeOutput{}, nil
}

func (e *EC2) describeInstanceAttribute(_ context.Context, _ *core.Request, in *ec2.DescribeInstanceAttributeInput) (*ec2.DescribeInstanceAttributeOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	inst, err := e.instance(deref(in.InstanceId))
	if err != nil {
		return nil, err
	}
	out := &ec2.DescribeInstanceAttributeOutput{InstanceId: inst.InstanceId}
	switch in.Attribute {
	case types.InstanceAttributeNameUserData:
		out.UserData = &types.AttributeValue{}
		if inst.UserData != "" {
			out.UserData.Value = strPtr(inst.UserData)
		}
	case types.InstanceAttributeNameInstanceType:
		out.InstanceType = &types.AttributeValue{Value: strPtr(string(inst.InstanceType))}
	case types.InstanceAttributeNameInstanceInitiatedShutdownBehavior:
		b := inst.Shutdown
		if b == "" {
			b = types.ShutdownBehaviorStop
		}
		out.InstanceInitiatedShutdownBehavior = &types.AttributeValue{Value: strPtr(string(b))}
	case types.InstanceAttributeNameDisableApiTermination:
		out.DisableApiTermination = &types.AttributeBooleanValue{Value: boolPtr(inst.NoTerminate)}
	case types.InstanceAttributeNameDisableApiStop:
		out.DisableApiStop = &types.AttributeBooleanValue{Value: boolPtr(false)}
	case types.InstanceAttributeNameRootDeviceName:
		out.RootDeviceName = &types.AttributeValue{Value: inst.RootDeviceName}
	case types.InstanceAttributeNameBlockDeviceMapping:
		out.BlockDeviceMappings = inst.BlockDeviceMappings
	case types.InstanceAttributeNameSourceDestCheck:
		out.SourceDestCheck = &types.AttributeBooleanValue{Value: inst.SourceDestCheck}
	case types.InstanceAttributeNameGroupSet:
		out.Groups = inst.SecurityGroups
	case types.InstanceAttributeNameEbsOptimized:
		out.EbsOptimized = &types.AttributeBooleanValue{Value: inst.EbsOptimized}
	case types.InstanceAttributeNameEnaSupport:
		out.EnaSupport = &types.AttributeBooleanValue{Value: inst.EnaSupport}
	case types.InstanceAttributeNameSriovNetSupport:
		out.SriovNetSupport = &types.AttributeValue{Value: inst.SriovNetSupport}
	case types.InstanceAttributeNameKernel:
		out.KernelId = &types.AttributeValue{}
	case types.InstanceAttributeNameRamdisk:
		out.RamdiskId = &types.AttributeValue{}
	case types.InstanceAttributeNameProductCodes:
		out.ProductCodes = []types.ProductCode{}
	case types.InstanceAttributeNameEnclaveOptions:
		out.EnclaveOptions = &types.EnclaveOptions{Enabled: boolPtr(false)}
	default:
		return nil, core.Errorf("InvalidParameterValue", "Value (%s) for parameter attribute is invalid. Unknown attribute.", in.Attribute)
	}
	return out, nil
}

// modifyInstanceAttribute changes one attribute; instanceType, userData,
// enaSupport and sriovNetSupport only on a stopped instance, as on EC2.
func (e *EC2) modifyInstanceAttribute(_ context.Context, _ *core.Request, in *ec2.ModifyInstanceAttributeInput) (*ec2.ModifyInstanceAttributeOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	inst, err := e.instance(deref(in.InstanceId))
	if err != nil {
		return nil, err
	}
	stopped := func(attr string) error {
		if inst.State.Name != types.InstanceStateNameStopped {
			return core.Errorf("IncorrectInstanceState", "The instance '%s' is not in the 'stopped' state, which %s needs.", *inst.InstanceId, attr)
		}
		return nil
	}
	value := func(v *types.AttributeValue) string {
		if v != nil {
			return deref(v.Value)
		}
		return deref(in.Value)
	}
	boolean := func(v *types.AttributeBooleanValue) (bool, error) {
		if v != nil {
			return deref(v.Value), nil
		}
		switch deref(in.Value) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return false, core.Errorf("InvalidParameterValue", "Value (%s) for parameter value is invalid. Valid values: true, false", deref(in.Value))
	}
	attr := in.Attribute
	switch {
	case attr != "":
	case in.InstanceType != nil:
		attr = types.InstanceAttributeNameInstanceType
	case in.UserData != nil:
		attr = types.InstanceAttributeNameUserData
	case in.InstanceInitiatedShutdownBehavior != nil:
		attr = types.InstanceAttributeNameInstanceInitiatedShutdownBehavior
	case in.DisableApiTermination != nil:
		attr = types.InstanceAttributeNameDisableApiTermination
	case in.SourceDestCheck != nil:
		attr = types.InstanceAttributeNameSourceDestCheck
	case in.EnaSupport != nil:
		attr = types.InstanceAttributeNameEnaSupport
	case in.SriovNetSupport != nil:
		attr = types.InstanceAttributeNameSriovNetSupport
	case in.EbsOptimized != nil:
		attr = types.InstanceAttributeNameEbsOptimized
	case len(in.Groups) > 0:
		attr = types.InstanceAttributeNameGroupSet
	default:
		return nil, core.Missing("The request must contain the parameter Attribute")
	}
	switch attr {
	case types.InstanceAttributeNameInstanceType:
		if err := stopped("instanceType"); err != nil {
			return nil, err
		}
		inst.InstanceType = types.InstanceType(value(in.InstanceType))
	case types.InstanceAttributeNameUserData:
		if err := stopped("userData"); err != nil {
			return nil, err
		}
		var raw []byte
		if in.UserData != nil {
			raw = in.UserData.Value
		} else {
			raw = []byte(deref(in.Value))
		}
		inst.UserData = base64.StdEncoding.EncodeToString(raw)
	case types.InstanceAttributeNameInstanceInitiatedShutdownBehavior:
		b := types.ShutdownBehavior(value(in.InstanceInitiatedShutdownBehavior))
		if b != types.ShutdownBehaviorStop && b != types.ShutdownBehaviorTerminate {
			return nil, core.Errorf("InvalidParameterValue", "Value (%s) for parameter instanceInitiatedShutdownBehavior is invalid. Valid values: stop, terminate", b)
		}
		inst.Shutdown = b
	case types.InstanceAttributeNameDisableApiTermination:
		v, err := boolean(in.DisableApiTermination)
		if err != nil {
			return nil, err
		}
		inst.NoTerminate = v
	case types.InstanceAttributeNameSourceDestCheck:
		v, err := boolean(in.SourceDestCheck)
		if err != nil {
			return nil, err
		}
		inst.SourceDestCheck = boolPtr(v)
	case types.InstanceAttributeNameEnaSupport:
		if err := stopped("enaSupport"); err != nil {
			return nil, err
		}
		v, err := boolean(in.EnaSupport)
		if err != nil {
			return nil, err
		}
		inst.EnaSupport = boolPtr(v)
	case types.InstanceAttributeNameSriovNetSupport:
		if err := stopped("sriovNetSupport"); err != nil {
			return nil, err
		}
		if v := value(in.SriovNetSupport); v != "simple" {
			return nil, core.Errorf("InvalidParameterValue", "Value (%s) for parameter sriovNetSupport is invalid. Valid values: simple", v)
		}
		inst.SriovNetSupport = strPtr("simple")
	case types.InstanceAttributeNameEbsOptimized:
		v, err := boolean(in.EbsOptimized)
		if err != nil {
			return nil, err
		}
		inst.EbsOptimized = boolPtr(v)
	case types.InstanceAttributeNameGroupSet:
		var groups []types.GroupIdentifier
		for _, id := range in.Groups {
			g, ok := e.st.Groups[id]
			if !ok {
				return nil, core.Errorf("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
			}
			groups = append(groups, types.GroupIdentifier{GroupId: g.GroupId, GroupName: g.GroupName})
		}
		if len(groups) == 0 {
			return nil, core.Missing("The request must contain the parameter GroupId")
		}
		inst.SecurityGroups = groups
	default:
		return nil, core.Errorf("InvalidParameterValue", "Value (%s) for parameter attribute is invalid. bake sim modifies instanceType, userData, "+
			"instanceInitiatedShutdownBehavior, disableApiTermination, sourceDestCheck, enaSupport, sriovNetSupport, ebsOptimized and groupSet", attr)
	}
	e.save()
	return &ec2.ModifyInstanceAttributeOutput{}, nil
}

// byOperation adds the permissions given the legacy way (UserIds,
// UserGroups...) to add or remove as operationType says, as EC2's
// Modify*Attribute do for images and snapshots alike.
func byOperation[T any](op types.OperationType, add, remove, legacy []T) ([]T, []T, error) {
	switch op {
	case types.OperationTypeAdd:
		add = append(add, legacy...)
	case types.OperationTypeRemove:
		remove = append(remove, legacy...)
	case "":
		if len(legacy) > 0 {
			return nil, nil, core.Missing("The request must contain the parameter OperationType")
		}
	default:
		return nil, nil, core.Errorf("InvalidParameterValue", "Value (%s) for parameter operationType is invalid. Valid values: add, remove", op)
	}
	return add, remove, nil
}
