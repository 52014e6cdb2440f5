package sim_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/bakehq/bake/sim"
)

// TestSDKPublicAMIsAndAttributes finds the public AMIs as real templates'
// source_ami_filter blocks do, then drives the calls an amazon-ebs build
// makes beyond launching: block devices, instance profile, volumes and
// their tags, user data, launch and create-volume permissions.
func TestSDKPublicAMIsAndAttributes(t *testing.T) {
	s, _ := startFakeSim(t, sim.Options{})
	ctx := context.Background()
	c := ec2.NewFromConfig(sdkConfig(s.Endpoint()))
	f := func(name string, values ...string) types.Filter {
		return types.Filter{Name: aws.String(name), Values: values}
	}
	find := func(owners []string, filters ...types.Filter) []types.Image {
		t.Helper()
		out, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: owners, Filters: filters})
		if err != nil {
			t.Fatal(err)
		}
		return out.Images
	}
	for _, tc := range []struct {
		owners  []string
		filters []types.Filter
		want    int
	}{
		{[]string{"099720109477"}, []types.Filter{f("name", "ubuntu/images/*ubuntu-jammy-22.04-amd64-server-*"), f("root-device-type", "ebs"), f("virtualization-type", "hvm")}, 2},
		{[]string{"099720109477"}, []types.Filter{f("name", "ubuntu/images/hvm-ssd/ubuntu-focal-20.04-amd64-server-*"), f("architecture", "x86_64")}, 1},
		{[]string{"099720109477"}, []types.Filter{f("name", "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-*-server-*"), f("architecture", "arm64")}, 1},
		{[]string{"136693071363"}, []types.Filter{f("name", "debian-11-amd64-*")}, 1},
		{[]string{"amazon"}, []types.Filter{f("name", "al2023-ami-2023.*-x86_64")}, 1},
		{[]string{"137112412989"}, []types.Filter{f("name", "amzn2-ami-hvm-2.0.*-x86_64-gp2"), f("state", "available")}, 1},
		{nil, []types.Filter{f("owner-alias", "amazon"), f("name", "amzn2-ami-hvm-2.0.????????.0-x86_64-gp2")}, 1},
		{[]string{"self"}, nil, 0},
		{[]string{"099720109477"}, []types.Filter{f("name", "debian-*")}, 0},
	} {
		if got := find(tc.owners, tc.filters...); len(got) != tc.want {
			t.Errorf("owners %v filters %v: %d images, want %d", tc.owners, tc.filters, len(got), tc.want)
		}
	}
	jammy := find([]string{"099720109477"}, f("name", "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"))[0]
	if aws.ToString(jammy.RootDeviceName) != "/dev/sda1" || jammy.ImageOwnerAlias != nil || !aws.ToBool(jammy.Public) {
		t.Errorf("jammy = %+v", jammy)
	}
	if al := find([]string{"amazon"}, f("name", "al2023-ami-*-x86_64"))[0]; aws.ToString(al.ImageOwnerAlias) != "amazon" {
		t.Errorf("al2023 owner alias = %v", al.ImageOwnerAlias)
	}

	// A launch with the block devices, profile, metadata options and tags
	// of a template.
	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: jammy.ImageId, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		InstanceType: types.InstanceTypeT3Micro, UserData: aws.String("IyEvYmluL3NoCmVjaG8gaGkK"),
		IamInstanceProfile: &types.IamInstanceProfileSpecification{Name: aws.String("packer-build")},
		MetadataOptions:    &types.InstanceMetadataOptionsRequest{HttpTokens: types.HttpTokensStateRequired, HttpPutResponseHopLimit: aws.Int32(2)},
		BlockDeviceMappings: []types.BlockDeviceMapping{
			{DeviceName: aws.String("/dev/sda1"), Ebs: &types.EbsBlockDevice{VolumeSize: aws.Int32(20), VolumeType: types.VolumeTypeGp3, DeleteOnTermination: aws.Bool(true)}},
			{DeviceName: aws.String("/dev/sdf"), Ebs: &types.EbsBlockDevice{VolumeSize: aws.Int32(5), Encrypted: aws.Bool(true)}},
		},
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeVolume, Tags: []types.Tag{{Key: aws.String("run"), Value: aws.String("v1")}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	inst := run.Instances[0]
	if p := inst.IamInstanceProfile; p == nil || !strings.HasSuffix(aws.ToString(p.Arn), ":instance-profile/packer-build") {
		t.Errorf("instance profile = %+v", p)
	}
	if m := inst.MetadataOptions; m.HttpTokens != types.HttpTokensStateRequired || aws.ToInt32(m.HttpPutResponseHopLimit) != 2 {
		t.Errorf("metadata options = %+v", m)
	}
	vols, err := c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: []types.Filter{f("tag:run", "v1"), f("attachment.instance-id", *inst.InstanceId)}})
	if err != nil || len(vols.Volumes) != 2 {
		t.Fatalf("volumes: %v %+v", err, vols)
	}
	for _, v := range vols.Volumes {
		dev := aws.ToString(v.Attachments[0].Device)
		if dev == "/dev/sda1" && (aws.ToInt32(v.Size) != 20 || v.VolumeType != types.VolumeTypeGp3) ||
			dev == "/dev/sdf" && (aws.ToInt32(v.Size) != 5 || !aws.ToBool(v.Encrypted) || v.KmsKeyId == nil) {
			t.Errorf("volume %s = %+v", dev, v)
		}
	}
	ud, err := c.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: inst.InstanceId, Attribute: types.InstanceAttributeNameUserData})
	if err != nil || aws.ToString(ud.UserData.Value) != "IyEvYmluL3NoCmVjaG8gaGkK" {
		t.Errorf("user data: %v %+v", err, ud)
	}
	if _, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: jammy.ImageId, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		BlockDeviceMappings: []types.BlockDeviceMapping{{DeviceName: aws.String("/dev/sda1"), Ebs: &types.EbsBlockDevice{VolumeSize: aws.Int32(4)}}}}); err == nil {
		t.Error("a root volume smaller than its snapshot was taken")
	}

	// The image keeps the volumes; sharing it and its snapshots.
	img, err := c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: inst.InstanceId, Name: aws.String("shared-1"),
		BlockDeviceMappings: []types.BlockDeviceMapping{{DeviceName: aws.String("/dev/sdf"), Ebs: &types.EbsBlockDevice{DeleteOnTermination: aws.Bool(false)}}}})
	if err != nil {
		t.Fatal(err)
	}
	got := find([]string{"self"}, f("image-id", *img.ImageId))
	if len(got) != 1 || len(got[0].BlockDeviceMappings) != 2 || aws.ToInt32(got[0].BlockDeviceMappings[0].Ebs.VolumeSize) != 20 ||
		aws.ToBool(got[0].BlockDeviceMappings[1].Ebs.DeleteOnTermination) {
		t.Fatalf("created image = %+v", got)
	}
	if _, err := c.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: img.ImageId, LaunchPermission: &types.LaunchPermissionModifications{
		Add: []types.LaunchPermission{{UserId: aws.String("123456789012")}, {Group: types.PermissionGroupAll}}}}); err != nil {
		t.Fatal(err)
	}
	perms, err := c.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{ImageId: img.ImageId, Attribute: types.ImageAttributeNameLaunchPermission})
	if err != nil || len(perms.LaunchPermissions) != 2 || perms.LaunchPermissions[0].Group != types.PermissionGroupAll ||
		aws.ToString(perms.LaunchPermissions[1].UserId) != "123456789012" {
		t.Errorf("launch permissions: %v %+v", err, perms)
	}
	if n := len(find(nil, f("image-id", *img.ImageId), f("is-public", "true"))); n != 1 {
		t.Errorf("the image shared with all is not public")
	}
	snap := got[0].BlockDeviceMappings[0].Ebs.SnapshotId
	if _, err := c.ModifySnapshotAttribute(ctx, &ec2.ModifySnapshotAttributeInput{SnapshotId: snap, Attribute: types.SnapshotAttributeNameCreateVolumePermission,
		OperationType: types.OperationTypeAdd, UserIds: []string{"123456789012"}}); err != nil {
		t.Fatal(err)
	}
	sp, err := c.DescribeSnapshotAttribute(ctx, &ec2.DescribeSnapshotAttributeInput{SnapshotId: snap, Attribute: types.SnapshotAttributeNameCreateVolumePermission})
	if err != nil || len(sp.CreateVolumePermissions) != 1 || aws.ToString(sp.CreateVolumePermissions[0].UserId) != "123456789012" {
		t.Errorf("create volume permissions: %v %+v", err, sp)
	}
	if _, err := c.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: img.ImageId, LaunchPermission: &types.LaunchPermissionModifications{
		Add: []types.LaunchPermission{{UserId: aws.String("not-an-account")}}}}); err == nil {
		t.Error("a malformed account id was taken")
	}

	// Termination takes the volumes that go with the instance.
	if _, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{*inst.InstanceId}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the volumes to go", time.Minute, func() bool {
		out, err := c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: []types.Filter{f("tag:run", "v1")}})
		return err == nil && len(out.Volumes) == 0
	})
}
