package ec2

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/bakehq/bake/sim/core"
)

// An instance's EBS volumes are records: the container's one disk is the
// root volume's, the others hold nothing. They carry what RunInstances
// asked for (size, type, encryption, tags), are described, tagged, made
// into snapshots by CreateImage and deleted on termination as on EC2.

var volumeTypes = []types.VolumeType{types.VolumeTypeStandard, types.VolumeTypeIo1, types.VolumeTypeIo2,
	types.VolumeTypeGp2, types.VolumeTypeGp3, types.VolumeTypeSc1, types.VolumeTypeSt1}

// defaultKMSKey is the account's AWS-managed EBS key, which encrypts a
// volume, snapshot or image copy that asks for encryption without a key.
func (e *EC2) defaultKMSKey() string {
	return fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", e.region, e.account, "0b1d7e15-bake-5151-aws0-ebs000000000")
}

// checkEBS validates an EBS block device as EC2 does; snapSize is the
// size of the snapshot it is made from (0 for an empty volume).
func checkEBS(dev string, b *types.EbsBlockDevice, snapSize int32) error {
	if b.VolumeType != "" && !slices.Contains(volumeTypes, b.VolumeType) {
		return core.Errorf("InvalidParameterValue", "Value (%s) for parameter volumeType is invalid. Valid values: %s", b.VolumeType, volumeTypeList())
	}
	size := deref(b.VolumeSize)
	if b.VolumeSize != nil && (size < 1 || size > 16384) {
		return core.Errorf("InvalidParameterValue", "Volume size %d for %s is out of range: 1 to 16384 GiB", size, dev)
	}
	if b.VolumeSize != nil && size < snapSize {
		return core.Errorf("InvalidBlockDeviceMapping", "Volume of size %dGB is smaller than snapshot '%s', expect size >= %dGB", size, deref(b.SnapshotId), snapSize)
	}
	if b.VolumeSize == nil && snapSize == 0 && b.SnapshotId == nil {
		return core.Errorf("InvalidBlockDeviceMapping", "The device '%s' needs a volume size or a snapshot id", dev)
	}
	switch b.VolumeType {
	case types.VolumeTypeIo1, types.VolumeTypeIo2:
		if b.Iops == nil {
			return core.Errorf("InvalidParameterCombination", "The parameter iops must be specified for %s volumes.", b.VolumeType)
		}
	case types.VolumeTypeGp3:
		if t := deref(b.Throughput); b.Throughput != nil && (t < 125 || t > 1000) {
			return core.Errorf("InvalidParameterValue", "Throughput (MiBps) must be between 125 and 1000 for gp3 volumes, not %d", t)
		}
	default:
		if b.Iops != nil && b.VolumeType != "" && b.VolumeType != types.VolumeTypeGp3 {
			return core.Errorf("InvalidParameterCombination", "The parameter iops is not supported for %s volumes.", b.VolumeType)
		}
	}
	if b.Throughput != nil && b.VolumeType != types.VolumeTypeGp3 {
		return core.Errorf("InvalidParameterCombination", "The parameter throughput is only supported for gp3 volumes.")
	}
	if b.KmsKeyId != nil && !deref(b.Encrypted) {
		return core.Errorf("InvalidParameterDependency", "The parameter KmsKeyId requires the parameter Encrypted to be set.")
	}
	return nil
}

func volumeTypeList() string {
	names := make([]string, len(volumeTypes))
	for i, t := range volumeTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

// mergeMappings is the image's block device mappings with the call's laid
// over them by device name (a NoDevice mapping drops the image's device),
// each validated. Call with e.mu held.
func (e *EC2) mergeMappings(base, over []types.BlockDeviceMapping) ([]types.BlockDeviceMapping, error) {
	out := make([]types.BlockDeviceMapping, 0, len(base)+len(over))
	for _, b := range base {
		out = append(out, copyMapping(b))
	}
	for _, o := range over {
		dev := deref(o.DeviceName)
		if dev == "" {
			return nil, core.Missing("The request must contain the parameter BlockDeviceMapping.DeviceName")
		}
		i := slices.IndexFunc(out, func(b types.BlockDeviceMapping) bool { return deref(b.DeviceName) == dev })
		if o.NoDevice != nil {
			if i >= 0 {
				out = slices.Delete(out, i, i+1)
			}
			continue
		}
		if i < 0 || o.VirtualName != nil || out[i].Ebs == nil {
			if i >= 0 {
				out = slices.Delete(out, i, i+1)
			}
			m := copyMapping(o)
			if m.Ebs != nil {
				var snapSize int32
				if id := deref(m.Ebs.SnapshotId); id != "" {
					s, ok := e.st.Snapshots[id]
					if !ok {
						return nil, core.Errorf("InvalidSnapshot.NotFound", "The snapshot '%s' does not exist.", id)
					}
					snapSize = deref(s.VolumeSize)
					if m.Ebs.VolumeSize == nil {
						m.Ebs.VolumeSize = i32Ptr(snapSize)
					}
				}
				if err := checkEBS(dev, m.Ebs, snapSize); err != nil {
					return nil, err
				}
				if m.Ebs.VolumeType == "" {
					m.Ebs.VolumeType = types.VolumeTypeGp2
				}
				if m.Ebs.DeleteOnTermination == nil {
					m.Ebs.DeleteOnTermination = boolPtr(true)
				}
				if m.Ebs.Encrypted == nil {
					m.Ebs.Encrypted = boolPtr(false)
				}
			}
			out = append(out, m)
			continue
		}
		cur := out[i].Ebs
		snapSize := deref(cur.VolumeSize)
		if o.Ebs != nil {
			x := *o.Ebs
			if x.SnapshotId == nil {
				x.SnapshotId = cur.SnapshotId
			}
			if err := checkEBS(dev, &x, snapSize); err != nil {
				return nil, err
			}
			if x.VolumeSize != nil {
				cur.VolumeSize = x.VolumeSize
			}
			if x.VolumeType != "" {
				cur.VolumeType = x.VolumeType
				cur.Iops, cur.Throughput = nil, nil
			}
			if x.Iops != nil {
				cur.Iops = x.Iops
			}
			if x.Throughput != nil {
				cur.Throughput = x.Throughput
			}
			if x.DeleteOnTermination != nil {
				cur.DeleteOnTermination = x.DeleteOnTermination
			}
			if x.Encrypted != nil {
				cur.Encrypted = x.Encrypted
			}
			if x.KmsKeyId != nil {
				cur.KmsKeyId = x.KmsKeyId
			}
		}
	}
	for i := range out {
		if b := out[i].Ebs; b != nil && deref(b.Encrypted) && b.KmsKeyId == nil {
			b.KmsKeyId = strPtr(e.defaultKMSKey())
		}
	}
	return out, nil
}

func copyMapping(b types.BlockDeviceMapping) types.BlockDeviceMapping {
	if b.Ebs != nil {
		x := *b.Ebs
		b.Ebs = &x
	}
	return b
}

// attachVolumes makes the volumes of a new instance from its block device
// mappings and records them on it. Call with e.mu held.
func (e *EC2) attachVolumes(inst *instance, bdms []types.BlockDeviceMapping, specs []types.TagSpecification) {
	now := time.Now().UTC().Truncate(time.Second)
	inst.BlockDeviceMappings = nil
	for _, b := range bdms {
		if b.Ebs == nil {
			continue
		}
		id := core.NewID("vol")
		v := &types.Volume{
			VolumeId: &id, Size: b.Ebs.VolumeSize, VolumeType: b.Ebs.VolumeType, Iops: b.Ebs.Iops, Throughput: b.Ebs.Throughput,
			Encrypted: boolPtr(deref(b.Ebs.Encrypted)), KmsKeyId: b.Ebs.KmsKeyId, SnapshotId: strPtr(deref(b.Ebs.SnapshotId)),
			AvailabilityZone: inst.Placement.AvailabilityZone, CreateTime: &now, State: types.VolumeStateInUse,
			MultiAttachEnabled: boolPtr(false),
			Attachments: []types.VolumeAttachment{{VolumeId: &id, InstanceId: inst.InstanceId, Device: b.DeviceName,
				State: types.VolumeAttachmentStateAttached, AttachTime: &now, DeleteOnTermination: b.Ebs.DeleteOnTermination}},
		}
		if v.VolumeType == types.VolumeTypeGp3 {
			if v.Iops == nil {
				v.Iops = i32Ptr(3000)
			}
			if v.Throughput == nil {
				v.Throughput = i32Ptr(125)
			}
		}
		if v.VolumeType == types.VolumeTypeGp2 && v.Iops == nil {
			v.Iops = i32Ptr(max(100, min(16000, 3*deref(v.Size))))
		}
		e.st.Volumes[id] = v
		e.tagsFor(id, types.ResourceTypeVolume, specs)
		inst.BlockDeviceMappings = append(inst.BlockDeviceMappings, types.InstanceBlockDeviceMapping{
			DeviceName: b.DeviceName, Ebs: &types.EbsInstanceBlockDevice{VolumeId: &id, Status: types.AttachmentStatusAttached,
				AttachTime: &now, DeleteOnTermination: b.Ebs.DeleteOnTermination},
		})
	}
}

// releaseVolumes deletes a terminated instance's volumes that go with it
// and detaches the others. Call with e.mu held.
func (e *EC2) releaseVolumes(inst *instance) {
	for _, b := range inst.BlockDeviceMappings {
		if b.Ebs == nil {
			continue
		}
		id := deref(b.Ebs.VolumeId)
		v, ok := e.st.Volumes[id]
		if !ok {
			continue
		}
		if deref(b.Ebs.DeleteOnTermination) {
			delete(e.st.Volumes, id)
			delete(e.st.Tags, id)
			continue
		}
		v.State, v.Attachments = types.VolumeStateAvailable, nil
	}
}

// volumesOf are the volumes of an instance by device name. Call with e.mu held.
func (e *EC2) volumesOf(inst *instance) map[string]*types.Volume {
	out := map[string]*types.Volume{}
	for _, b := range inst.BlockDeviceMappings {
		if b.Ebs != nil {
			if v, ok := e.st.Volumes[deref(b.Ebs.VolumeId)]; ok {
				out[deref(b.DeviceName)] = v
			}
		}
	}
	return out
}

var volumeFilters = []string{"volume-id", "attachment.instance-id", "attachment.device", "attachment.delete-on-termination",
	"attachment.status", "attachment.attach-time", "availability-zone", "create-time", "encrypted", "size", "snapshot-id",
	"status", "volume-type", "multi-attach-enabled", "fast-restored"}

func (e *EC2) volumeValues(v *types.Volume, n string) []string {
	if vals, ok := tagValues(e.st.Tags[deref(v.VolumeId)], n); ok {
		return vals
	}
	var att []string
	for _, a := range v.Attachments {
		switch n {
		case "attachment.instance-id":
			att = append(att, deref(a.InstanceId))
		case "attachment.device":
			att = append(att, deref(a.Device))
		case "attachment.delete-on-termination":
			att = append(att, fmt.Sprint(deref(a.DeleteOnTermination)))
		case "attachment.status":
			att = append(att, string(a.State))
		case "attachment.attach-time":
			att = append(att, a.AttachTime.Format(core.TimeFormat))
		}
	}
	if strings.HasPrefix(n, "attachment.") {
		return att
	}
	return map[string][]string{"volume-id": {deref(v.VolumeId)}, "availability-zone": {deref(v.AvailabilityZone)},
		"create-time": {v.CreateTime.Format(core.TimeFormat)}, "encrypted": {fmt.Sprint(deref(v.Encrypted))},
		"size": {fmt.Sprint(deref(v.Size))}, "snapshot-id": {deref(v.SnapshotId)}, "status": {string(v.State)},
		"volume-type": {string(v.VolumeType)}, "multi-attach-enabled": {"false"}, "fast-restored": {"false"}}[n]
}

func (e *EC2) describeVolumes(_ context.Context, _ *core.Request, in *ec2.DescribeVolumesInput) (*ec2.DescribeVolumesOutput, error) {
	fs := filterSet(in.Filters)
	if err := fs.known(volumeFilters...); err != nil {
		return nil, err
	}
	if in.MaxResults != nil && len(in.VolumeIds) > 0 {
		return nil, core.Errorf("InvalidParameterCombination", "The parameter volumeSet cannot be used with the parameter maxResults")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var missing []string
	for _, id := range in.VolumeIds {
		if !strings.HasPrefix(id, "vol-") {
			return nil, core.Errorf("InvalidVolumeID.Malformed", "Invalid id: \"%s\" (expecting \"vol-...\")", id)
		}
		if _, ok := e.st.Volumes[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return nil, core.Errorf("InvalidVolume.NotFound", "The volume '%s' does not exist.", strings.Join(missing, ", "))
	}
	var ids []string
	for _, id := range slices.Sorted(maps.Keys(e.st.Volumes)) {
		if len(in.VolumeIds) > 0 && !contains(in.VolumeIds, id) {
			continue
		}
		if fs.match(func(n string) []string { return e.volumeValues(e.st.Volumes[id], n) }) {
			ids = append(ids, id)
		}
	}
	ids, next := page(ids, in.NextToken, in.MaxResults)
	out := &ec2.DescribeVolumesOutput{Volumes: []types.Volume{}, NextToken: next}
	for _, id := range ids {
		v := *e.st.Volumes[id]
		v.Tags = tagList(e.st.Tags[id])
		out.Volumes = append(out.Volumes, v)
	}
	return out, nil
}

func (e *EC2) deleteVolume(_ context.Context, _ *core.Request, in *ec2.DeleteVolumeInput) (*ec2.DeleteVolumeOutput, error) {
	id := deref(in.VolumeId)
	if !strings.HasPrefix(id, "vol-") {
		return nil, core.Errorf("InvalidVolumeID.Malformed", "Invalid id: \"%s\" (expecting \"vol-...\")", id)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	v, ok := e.st.Volumes[id]
	if !ok {
		return nil, core.Errorf("InvalidVolume.NotFound", "The volume '%s' does not exist.", id)
	}
	if v.State == types.VolumeStateInUse {
		return nil, core.Errorf("VolumeInUse", "Volume %s is currently attached to %s", id, deref(v.Attachments[0].InstanceId))
	}
	delete(e.st.Volumes, id)
	delete(e.st.Tags, id)
	e.save()
	return &ec2.DeleteVolumeOutput{}, nil
}

// sortedDevices are the device names of bdms, the root first.
func sortedDevices(bdms []types.BlockDeviceMapping, root string) []types.BlockDeviceMapping {
	out := append([]types.BlockDeviceMapping{}, bdms...)
	sort.SliceStable(out, func(i, j int) bool {
		ri, rj := deref(out[i].DeviceName) == root, deref(out[j].DeviceName) == root
		if ri != rj {
			return ri
		}
		return deref(out[i].DeviceName) < deref(out[j].DeviceName)
	})
	return out
}

// instanceMappings are an instance's volumes as an image's block device
// mappings (sizes, types, encryption), for CreateImage. Call with e.mu held.
func (e *EC2) instanceMappings(inst *instance) []types.BlockDeviceMapping {
	vols := e.volumesOf(inst)
	var out []types.BlockDeviceMapping
	for _, b := range inst.BlockDeviceMappings {
		v := vols[deref(b.DeviceName)]
		if v == nil || b.Ebs == nil {
			continue
		}
		out = append(out, types.BlockDeviceMapping{DeviceName: b.DeviceName, Ebs: &types.EbsBlockDevice{
			VolumeSize: v.Size, VolumeType: v.VolumeType, Iops: v.Iops, Throughput: v.Throughput,
			Encrypted: v.Encrypted, KmsKeyId: v.KmsKeyId, DeleteOnTermination: b.Ebs.DeleteOnTermination}})
	}
	if len(out) == 0 { // an instance from before volumes were kept
		root := deref(inst.RootDeviceName)
		out = []types.BlockDeviceMapping{{DeviceName: &root, Ebs: &types.EbsBlockDevice{VolumeSize: i32Ptr(8),
			VolumeType: types.VolumeTypeGp3, DeleteOnTermination: boolPtr(true), Encrypted: boolPtr(false)}}}
	}
	return out
}

// snapshotMappings gives each EBS mapping of a new image a new snapshot of
// its size and encryption (the root device's is rootSnap), and returns
// the snapshots. Call with e.mu held.
func (e *EC2) snapshotMappings(bdms []types.BlockDeviceMapping, root, rootSnap, desc string) []*types.Snapshot {
	var out []*types.Snapshot
	now := time.Now()
	for i := range bdms {
		b := bdms[i].Ebs
		if b == nil {
			continue
		}
		id := core.NewID("snap")
		if deref(bdms[i].DeviceName) == root {
			id = rootSnap
		}
		s := e.newSnapshot(id, e.account, desc, now)
		s.VolumeSize = i32Ptr(deref(b.VolumeSize))
		s.Encrypted = boolPtr(deref(b.Encrypted))
		s.KmsKeyId = b.KmsKeyId
		b.SnapshotId = &id
		e.st.Snapshots[id] = s
		out = append(out, s)
	}
	return out
}
