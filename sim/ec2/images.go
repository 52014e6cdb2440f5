package ec2

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/bakehq/bake/sim/core"
)

// seedAMI registers an AMI of the caller's account backed by image ref.
func (e *EC2) seedAMI(ctx context.Context, name, ref string) error {
	info, err := e.rt.Image(ctx, ref)
	if err != nil {
		return fmt.Errorf("seed ami %s: %w", name, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	im := e.seed(name, ref, info, e.account, false)
	im.Description = strPtr("bake sim: " + ref)
	im.ImageLocation = strPtr(e.account + "/" + name)
	return nil
}

// seed registers an available AMI for a local image; its id is stable
// across restarts (a hash of name and image). Call with e.mu held.
func (e *EC2) seed(name, ref string, info ImageInfo, owner string, public bool) *image {
	sum := sha256.Sum256([]byte(name + "\x00" + info.ID))
	id := "ami-" + hex.EncodeToString(sum[:])[:17]
	snap := "snap-" + hex.EncodeToString(sum[9:])[:17]
	im := e.newImage(id, name, owner, snap, info.Created)
	im.Public = boolPtr(public)
	im.State = types.ImageStateAvailable
	im.DockerRef = ref
	e.st.Images[id] = im
	e.st.Snapshots[snap] = e.newSnapshot(snap, owner, "Created by bake sim for "+id, info.Created)
	e.st.SnapRefs[snap] = ref
	return im
}

func (e *EC2) newImage(id, name, owner, snap string, created time.Time) *image {
	return &image{Image: types.Image{
		ImageId: strPtr(id), Name: strPtr(name), OwnerId: strPtr(owner), Public: boolPtr(false),
		State: types.ImageStatePending, Architecture: types.ArchitectureValuesX8664, ImageType: types.ImageTypeValuesMachine,
		RootDeviceName: strPtr("/dev/xvda"), RootDeviceType: types.DeviceTypeEbs, VirtualizationType: types.VirtualizationTypeHvm,
		Hypervisor: types.HypervisorTypeXen, EnaSupport: boolPtr(true), SriovNetSupport: strPtr("simple"),
		BootMode: types.BootModeValuesUefi, PlatformDetails: strPtr("Linux/UNIX"), UsageOperation: strPtr("RunInstances"),
		ImdsSupport: types.ImdsSupportValuesV20, CreationDate: strPtr(created.UTC().Format(core.TimeFormat)),
		BlockDeviceMappings: []types.BlockDeviceMapping{{DeviceName: strPtr("/dev/xvda"), Ebs: &types.EbsBlockDevice{
			SnapshotId: strPtr(snap), VolumeSize: i32Ptr(8), VolumeType: types.VolumeTypeGp3, DeleteOnTermination: boolPtr(true), Encrypted: boolPtr(false),
		}}},
	}}
}

func (e *EC2) newSnapshot(id, owner, desc string, at time.Time) *types.Snapshot {
	return &types.Snapshot{
		SnapshotId: strPtr(id), VolumeId: strPtr("vol-ffffffff"), VolumeSize: i32Ptr(8), State: types.SnapshotStateCompleted,
		Progress: strPtr("100%"), StartTime: timePtr(at), OwnerId: strPtr(owner), Description: strPtr(desc),
		Encrypted: boolPtr(false), StorageTier: types.StorageTierStandard,
	}
}

var amiNameRE = regexp.MustCompile(`^[a-zA-Z0-9()\[\] ./\-'@_]{3,128}$`)

func checkAMIName(name string) error {
	if !amiNameRE.MatchString(name) {
		return core.Errorf("InvalidAMIName.Malformed", "AMI names must be between 3 and 128 characters long, and may contain letters, numbers, '(', ')', '.', '-', '/' and '_'")
	}
	return nil
}

func checkAMIID(id string) error {
	if !strings.HasPrefix(id, "ami-") || len(id) < 5 {
		return core.Errorf("InvalidAMIID.Malformed", "Invalid id: \"%s\" (expecting \"ami-...\")", id)
	}
	return nil
}

// nameTaken reports the AMI of the account already named name in region;
// call with e.mu held.
func (e *EC2) nameTaken(name, region string) string {
	for id, im := range e.st.Images {
		if deref(im.OwnerId) == e.account && deref(im.Name) == name && (im.Region == "" || im.Region == region) {
			return id
		}
	}
	return ""
}

func (e *EC2) describeImages(_ context.Context, _ *core.Request, in *ec2.DescribeImagesInput) (*ec2.DescribeImagesOutput, error) {
	fs := filterSet(in.Filters)
	if err := fs.known("architecture", "image-id", "image-type", "is-public", "name", "owner-id", "owner-alias", "state",
		"virtualization-type", "root-device-type", "root-device-name", "description", "platform-details", "hypervisor",
		"block-device-mapping.snapshot-id", "block-device-mapping.device-name", "ena-support", "boot-mode",
		"block-device-mapping.volume-size", "block-device-mapping.volume-type", "block-device-mapping.encrypted",
		"block-device-mapping.delete-on-termination", "creation-date", "source-instance-id", "imds-support",
		"sriov-net-support", "manifest-location", "deprecation-time"); err != nil {
		return nil, err
	}
	for _, id := range in.ImageIds {
		if err := checkAMIID(id); err != nil {
			return nil, err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var missing []string
	for _, id := range in.ImageIds {
		if _, ok := e.st.Images[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return nil, core.Errorf("InvalidAMIID.NotFound", "The image id '[%s]' does not exist", strings.Join(missing, ", "))
	}
	out := &ec2.DescribeImagesOutput{Images: []types.Image{}}
	for _, id := range slices.Sorted(maps.Keys(e.st.Images)) {
		im := e.st.Images[id]
		if len(in.ImageIds) > 0 && !contains(in.ImageIds, id) {
			continue
		}
		if len(in.Owners) > 0 && !e.ownedBy(im, in.Owners) {
			continue
		}
		if len(in.ExecutableUsers) > 0 && !e.executableBy(im, in.ExecutableUsers) {
			continue
		}
		tags := e.st.Tags[id]
		if !fs.match(func(n string) []string { return e.imageValues(im, tags, n) }) {
			continue
		}
		x := im.Image
		x.Tags = tagList(tags)
		out.Images = append(out.Images, x)
	}
	return out, nil
}

func (e *EC2) ownedBy(im *image, owners []string) bool {
	for _, o := range owners {
		switch o {
		case "self":
			if deref(im.OwnerId) == e.account {
				return true
			}
		case "amazon", "aws-marketplace", "aws-backup-vault":
			if deref(im.ImageOwnerAlias) == o {
				return true
			}
		default:
			if deref(im.OwnerId) == o {
				return true
			}
		}
	}
	return false
}

// executableBy reports whether one of users (account ids, "self",
// "all") may launch im.
func (e *EC2) executableBy(im *image, users []string) bool {
	for _, u := range users {
		switch {
		case u == "all" && deref(im.Public):
			return true
		case u == "self" && (deref(im.Public) || deref(im.OwnerId) == e.account):
			return true
		}
		if u == "self" {
			u = e.account
		}
		for _, p := range im.LaunchPerms {
			if deref(p.UserId) == u {
				return true
			}
		}
	}
	return false
}

func (e *EC2) imageValues(im *image, tags map[string]string, n string) []string {
	if vals, ok := tagValues(tags, n); ok {
		return vals
	}
	if strings.HasPrefix(n, "block-device-mapping.") {
		var out []string
		for _, b := range im.BlockDeviceMappings {
			if b.Ebs == nil {
				continue
			}
			switch n {
			case "block-device-mapping.volume-size":
				out = append(out, fmt.Sprint(deref(b.Ebs.VolumeSize)))
			case "block-device-mapping.volume-type":
				out = append(out, string(b.Ebs.VolumeType))
			case "block-device-mapping.encrypted":
				out = append(out, fmt.Sprint(deref(b.Ebs.Encrypted)))
			case "block-device-mapping.delete-on-termination":
				out = append(out, fmt.Sprint(deref(b.Ebs.DeleteOnTermination)))
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	switch n {
	case "creation-date":
		return []string{deref(im.CreationDate)}
	case "source-instance-id":
		return []string{deref(im.SourceInstanceId)}
	case "imds-support":
		return []string{string(im.ImdsSupport)}
	case "sriov-net-support":
		return []string{deref(im.SriovNetSupport)}
	case "manifest-location":
		return []string{deref(im.ImageLocation)}
	case "deprecation-time":
		return []string{deref(im.DeprecationTime)}
	}
	var snaps, devs []string
	for _, b := range im.BlockDeviceMappings {
		devs = append(devs, deref(b.DeviceName))
		if b.Ebs != nil {
			snaps = append(snaps, deref(b.Ebs.SnapshotId))
		}
	}
	switch n {
	case "architecture":
		return []string{string(im.Architecture)}
	case "image-id":
		return []string{deref(im.ImageId)}
	case "image-type":
		return []string{string(im.ImageType)}
	case "is-public":
		return []string{fmt.Sprint(deref(im.Public))}
	case "name":
		return []string{deref(im.Name)}
	case "owner-id":
		return []string{deref(im.OwnerId)}
	case "owner-alias":
		return []string{deref(im.ImageOwnerAlias)}
	case "state":
		return []string{string(im.State)}
	case "virtualization-type":
		return []string{string(im.VirtualizationType)}
	case "root-device-type":
		return []string{string(im.RootDeviceType)}
	case "root-device-name":
		return []string{deref(im.RootDeviceName)}
	case "description":
		return []string{deref(im.Description)}
	case "platform-details":
		return []string{deref(im.PlatformDetails)}
	case "hypervisor":
		return []string{string(im.Hypervisor)}
	case "block-device-mapping.snapshot-id":
		return snaps
	case "block-device-mapping.device-name":
		return devs
	case "ena-support":
		return []string{fmt.Sprint(deref(im.EnaSupport))}
	case "boot-mode":
		return []string{string(im.BootMode)}
	}
	return nil
}

// createImage commits the instance's container to a new image. The AMI is
// pending until the commit is done, then available (failed if it fails).
func (e *EC2) createImage(ctx context.Context, req *core.Request, in *ec2.CreateImageInput) (*ec2.CreateImageOutput, error) {
	if err := checkAMIName(deref(in.Name)); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	inst, err := e.instance(deref(in.InstanceId))
	if err != nil {
		return nil, err
	}
	if inst.ContainerID == "" || inst.State.Name == types.InstanceStateNameTerminated || inst.State.Name == types.InstanceStateNameShuttingDown {
		return nil, core.Errorf("IncorrectInstanceState", "The instance '%s' is not in a state from which it can be imaged.", *in.InstanceId)
	}
	if other := e.nameTaken(*in.Name, e.regionOf(req)); other != "" {
		return nil, core.Errorf("InvalidAMIName.Duplicate", "AMI name %s is already in use by AMI %s", *in.Name, other)
	}
	root := deref(inst.RootDeviceName)
	bdms, err := e.mergeMappings(e.instanceMappings(inst), in.BlockDeviceMappings)
	if err != nil {
		return nil, err
	}
	bdms = sortedDevices(bdms, root)
	id, snap := core.NewID("ami"), core.NewID("snap")
	im := e.newImage(id, *in.Name, e.account, snap, time.Now())
	im.Description = in.Description
	im.ImageLocation = strPtr(e.account + "/" + *in.Name)
	im.SourceInstanceId = in.InstanceId
	im.RootDeviceName = &root
	im.Architecture = inst.Architecture
	if src := e.st.Images[deref(inst.ImageId)]; src != nil {
		im.LoginUser = src.LoginUser
		im.BootMode = src.BootMode
	}
	im.DockerRef = "bake-sim/" + id + ":latest"
	im.Created = true
	im.Region = e.regionOf(req)
	snaps := e.snapshotMappings(bdms, root, snap, fmt.Sprintf("Created by CreateImage(%s) for %s", *in.InstanceId, id))
	im.BlockDeviceMappings = bdms
	e.st.Images[id] = im
	for _, s := range snaps {
		s.State, s.Progress = types.SnapshotStatePending, strPtr("0%")
		e.tagsFor(*s.SnapshotId, types.ResourceTypeSnapshot, in.TagSpecifications)
	}
	e.st.SnapRefs[snap] = im.DockerRef
	e.createdImages[im.DockerRef] = true
	e.tagsFor(id, types.ResourceTypeImage, in.TagSpecifications)
	e.save()
	cid, ref := inst.ContainerID, im.DockerRef
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Minute)
		defer cancel()
		err := e.rt.Commit(cctx, cid, ref, map[string]string{LabelSim: "1", LabelAMI: id})
		e.mu.Lock()
		defer e.mu.Unlock()
		if err != nil {
			e.log.Error("create image", "ami", id, "err", err)
			im.State = types.ImageStateFailed
			im.StateReason = &types.StateReason{Code: strPtr("Server.InternalError"), Message: strPtr(err.Error())}
			for _, s := range snaps {
				s.State = types.SnapshotStateError
			}
		} else {
			im.State = types.ImageStateAvailable
			for _, s := range snaps {
				s.State, s.Progress = types.SnapshotStateCompleted, strPtr("100%")
			}
		}
		e.save()
	}()
	return &ec2.CreateImageOutput{ImageId: &id}, nil
}

// copyImage copies an AMI (in the sim, within its one region): the new AMI
// names the same image under a new tag.
func (e *EC2) copyImage(ctx context.Context, req *core.Request, in *ec2.CopyImageInput) (*ec2.CopyImageOutput, error) {
	if err := checkAMIID(deref(in.SourceImageId)); err != nil {
		return nil, err
	}
	if err := checkAMIName(deref(in.Name)); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	src, ok := e.st.Images[*in.SourceImageId]
	if !ok {
		return nil, core.Errorf("InvalidAMIID.NotFound", "The image id '[%s]' does not exist", *in.SourceImageId)
	}
	if src.State != types.ImageStateAvailable {
		return nil, core.Errorf("IncorrectState", "Image %s is not in a valid state for copying", *in.SourceImageId)
	}
	if other := e.nameTaken(*in.Name, e.regionOf(req)); other != "" {
		return nil, core.Errorf("InvalidAMIName.Duplicate", "AMI name %s is already in use by AMI %s", *in.Name, other)
	}
	if in.KmsKeyId != nil && !deref(in.Encrypted) {
		return nil, core.Errorf("InvalidParameterDependency", "The parameter KmsKeyId requires the parameter Encrypted to be set.")
	}
	id, snap := core.NewID("ami"), core.NewID("snap")
	im := e.newImage(id, *in.Name, e.account, snap, time.Now())
	im.Description = in.Description
	if im.Description == nil {
		im.Description = strPtr(fmt.Sprintf("[Copied %s from %s] %s", *in.SourceImageId, deref(in.SourceRegion), deref(src.Description)))
	}
	im.ImageLocation = strPtr(e.account + "/" + *in.Name)
	im.LoginUser = src.LoginUser
	im.Architecture, im.BootMode, im.RootDeviceName = src.Architecture, src.BootMode, src.RootDeviceName
	im.DockerRef = "bake-sim/" + id + ":latest"
	im.Created = true
	im.Region = e.regionOf(req)
	bdms := make([]types.BlockDeviceMapping, len(src.BlockDeviceMappings))
	for i, b := range src.BlockDeviceMappings {
		bdms[i] = copyMapping(b)
		if bdms[i].Ebs != nil && deref(in.Encrypted) {
			bdms[i].Ebs.Encrypted = boolPtr(true)
			bdms[i].Ebs.KmsKeyId = in.KmsKeyId
			if bdms[i].Ebs.KmsKeyId == nil {
				bdms[i].Ebs.KmsKeyId = strPtr(e.defaultKMSKey())
			}
		}
	}
	e.snapshotMappings(bdms, deref(src.RootDeviceName), snap, fmt.Sprintf("Copied for DestinationAmi %s from SourceAmi %s", id, *in.SourceImageId))
	im.BlockDeviceMappings = bdms
	e.st.Images[id] = im
	e.st.SnapRefs[snap] = im.DockerRef
	e.createdImages[im.DockerRef] = true
	e.tagsFor(id, types.ResourceTypeImage, in.TagSpecifications)
	if deref(in.CopyImageTags) {
		e.setTags(id, tagList(e.st.Tags[*in.SourceImageId]))
	}
	e.save()
	srcRef := src.DockerRef
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		err := e.rt.Tag(cctx, srcRef, im.DockerRef)
		e.mu.Lock()
		defer e.mu.Unlock()
		if err != nil {
			im.State = types.ImageStateFailed
			im.StateReason = &types.StateReason{Code: strPtr("Server.InternalError"), Message: strPtr(err.Error())}
		} else {
			im.State = types.ImageStateAvailable
		}
		e.save()
	}()
	return &ec2.CopyImageOutput{ImageId: &id}, nil
}

// registerImage registers an AMI from a snapshot (the root device's).
func (e *EC2) registerImage(_ context.Context, req *core.Request, in *ec2.RegisterImageInput) (*ec2.RegisterImageOutput, error) {
	if err := checkAMIName(deref(in.Name)); err != nil {
		return nil, err
	}
	root := deref(in.RootDeviceName)
	if root == "" {
		root = "/dev/xvda"
	}
	snapID := ""
	for _, b := range in.BlockDeviceMappings {
		if b.Ebs != nil && b.Ebs.SnapshotId != nil && (deref(b.DeviceName) == root || snapID == "") {
			snapID = *b.Ebs.SnapshotId
		}
	}
	if snapID == "" {
		return nil, core.Errorf("InvalidParameterValue", "bake sim registers images from an EBS snapshot only: give BlockDeviceMappings with Ebs.SnapshotId for %s", root)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ref, ok := e.st.SnapRefs[snapID]
	if _, exists := e.st.Snapshots[snapID]; !ok || !exists {
		return nil, core.Errorf("InvalidSnapshot.NotFound", "The snapshot '%s' does not exist.", snapID)
	}
	if other := e.nameTaken(*in.Name, e.regionOf(req)); other != "" {
		return nil, core.Errorf("InvalidAMIName.Duplicate", "AMI name %s is already in use by AMI %s", *in.Name, other)
	}
	bdms, err := e.mergeMappings(nil, in.BlockDeviceMappings)
	if err != nil {
		return nil, err
	}
	for _, b := range bdms {
		if b.Ebs != nil && b.Ebs.SnapshotId != nil && b.Ebs.Encrypted != nil && !*b.Ebs.Encrypted {
			s := e.st.Snapshots[*b.Ebs.SnapshotId]
			b.Ebs.Encrypted, b.Ebs.KmsKeyId = boolPtr(deref(s.Encrypted)), s.KmsKeyId
		}
	}
	id := core.NewID("ami")
	im := e.newImage(id, *in.Name, e.account, snapID, time.Now())
	im.State = types.ImageStateAvailable
	im.Description = in.Description
	im.RootDeviceName = &root
	im.ImageLocation = strPtr(e.account + "/" + *in.Name)
	if in.Architecture != "" {
		im.Architecture = in.Architecture
	}
	if in.BootMode != "" {
		im.BootMode = in.BootMode
	}
	if in.EnaSupport != nil {
		im.EnaSupport = in.EnaSupport
	}
	if in.SriovNetSupport != nil {
		im.SriovNetSupport = in.SriovNetSupport
	}
	if in.VirtualizationType != nil {
		im.VirtualizationType = types.VirtualizationType(*in.VirtualizationType)
	}
	im.BlockDeviceMappings = sortedDevices(bdms, root)
	im.DockerRef = ref
	im.LoginUser = e.snapshotUser(snapID)
	im.Region = e.regionOf(req)
	e.st.Images[id] = im
	e.tagsFor(id, types.ResourceTypeImage, in.TagSpecifications)
	e.save()
	return &ec2.RegisterImageOutput{ImageId: &id}, nil
}

// ownImage is the account's own image id, for the calls only an image's
// owner may make. e.mu is held.
func (e *EC2) ownImage(id *string) (*image, error) {
	if err := checkAMIID(deref(id)); err != nil {
		return nil, err
	}
	im, ok := e.st.Images[*id]
	if !ok {
		return nil, core.Errorf("InvalidAMIID.NotFound", "The image id '[%s]' does not exist", *id)
	}
	if deref(im.OwnerId) != e.account {
		return nil, core.Errorf("AuthFailure", "Not authorized for image:%s", *id)
	}
	return im, nil
}

func (e *EC2) deregisterImage(_ context.Context, _ *core.Request, in *ec2.DeregisterImageInput) (*ec2.DeregisterImageOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, err := e.ownImage(in.ImageId)
	if err != nil {
		return nil, err
	}
	delete(e.st.Images, *in.ImageId)
	delete(e.st.Tags, *in.ImageId)
	e.save()
	return &ec2.DeregisterImageOutput{Return: boolPtr(true)}, nil
}

// enableImageDeprecation sets an AMI's DeprecationTime (rounded up to
// the minute, as EC2 does).
func (e *EC2) enableImageDeprecation(_ context.Context, _ *core.Request, in *ec2.EnableImageDeprecationInput) (*ec2.EnableImageDeprecationOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	im, err := e.ownImage(in.ImageId)
	if err != nil {
		return nil, err
	}
	at := in.DeprecateAt.UTC()
	if t := at.Truncate(time.Minute); !t.Equal(at) {
		at = t.Add(time.Minute)
	}
	im.DeprecationTime = strPtr(at.Format(core.TimeFormat))
	e.save()
	return &ec2.EnableImageDeprecationOutput{Return: boolPtr(true)}, nil
}

func (e *EC2) describeSnapshots(_ context.Context, _ *core.Request, in *ec2.DescribeSnapshotsInput) (*ec2.DescribeSnapshotsOutput, error) {
	fs := filterSet(in.Filters)
	if err := fs.known("snapshot-id", "owner-id", "status", "volume-id", "volume-size", "description", "encrypted", "progress"); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, id := range in.SnapshotIds {
		if _, ok := e.st.Snapshots[id]; !ok {
			return nil, core.Errorf("InvalidSnapshot.NotFound", "The snapshot '%s' does not exist.", id)
		}
	}
	out := &ec2.DescribeSnapshotsOutput{Snapshots: []types.Snapshot{}}
	for _, id := range slices.Sorted(maps.Keys(e.st.Snapshots)) {
		s := e.st.Snapshots[id]
		if len(in.SnapshotIds) > 0 && !contains(in.SnapshotIds, id) {
			continue
		}
		if len(in.OwnerIds) > 0 {
			owners := make([]string, len(in.OwnerIds))
			for i, o := range in.OwnerIds {
				owners[i] = strings.Replace(o, "self", e.account, 1)
			}
			if !contains(owners, deref(s.OwnerId)) {
				continue
			}
		}
		tags := e.st.Tags[id]
		if !fs.match(func(n string) []string {
			if vals, ok := tagValues(tags, n); ok {
				return vals
			}
			return map[string][]string{"snapshot-id": {id}, "owner-id": {deref(s.OwnerId)}, "status": {string(s.State)},
				"volume-id": {deref(s.VolumeId)}, "volume-size": {fmt.Sprint(deref(s.VolumeSize))}, "description": {deref(s.Description)},
				"encrypted": {fmt.Sprint(deref(s.Encrypted))}, "progress": {deref(s.Progress)}}[n]
		}) {
			continue
		}
		x := *s
		x.Tags = tagList(tags)
		out.Snapshots = append(out.Snapshots, x)
	}
	return out, nil
}

func (e *EC2) deleteSnapshot(_ context.Context, _ *core.Request, in *ec2.DeleteSnapshotInput) (*ec2.DeleteSnapshotOutput, error) {
	id := deref(in.SnapshotId)
	if !strings.HasPrefix(id, "snap-") {
		return nil, core.Errorf("InvalidSnapshotID.Malformed", "Invalid id: \"%s\" (expecting \"snap-...\")", id)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.st.Snapshots[id]
	if !ok {
		return nil, core.Errorf("InvalidSnapshot.NotFound", "The snapshot '%s' does not exist.", id)
	}
	for _, amiID := range slices.Sorted(maps.Keys(e.st.Images)) {
		for _, b := range e.st.Images[amiID].BlockDeviceMappings {
			if b.Ebs != nil && deref(b.Ebs.SnapshotId) == id {
				return nil, core.Errorf("InvalidSnapshot.InUse", "The snapshot %s is currently in use by %s", id, amiID)
			}
		}
	}
	if deref(s.OwnerId) != e.account {
		return nil, core.Errorf("AuthFailure", "Not authorized for snapshot:%s", id)
	}
	delete(e.st.Snapshots, id)
	delete(e.st.SnapRefs, id)
	delete(e.st.SnapPerms, id)
	delete(e.st.Tags, id)
	e.save()
	return &ec2.DeleteSnapshotOutput{}, nil
}

// regionOf is the region a call is made in: its credential scope's, else
// the sim's own.
func (e *EC2) regionOf(req *core.Request) string {
	if req != nil && req.Region != "" {
		return req.Region
	}
	return e.region
}
