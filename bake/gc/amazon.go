package gc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/bakehq/bake/bake"
)

// EC2 is the part of one region's EC2 the sweeper uses.
type EC2 interface {
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, opts ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
	TerminateInstances(ctx context.Context, in *ec2.TerminateInstancesInput, opts ...func(*ec2.Options)) (*ec2.TerminateInstancesOutput, error)
	DescribeKeyPairs(ctx context.Context, in *ec2.DescribeKeyPairsInput, opts ...func(*ec2.Options)) (*ec2.DescribeKeyPairsOutput, error)
	DeleteKeyPair(ctx context.Context, in *ec2.DeleteKeyPairInput, opts ...func(*ec2.Options)) (*ec2.DeleteKeyPairOutput, error)
	DescribeSecurityGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput, opts ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error)
	DeleteSecurityGroup(ctx context.Context, in *ec2.DeleteSecurityGroupInput, opts ...func(*ec2.Options)) (*ec2.DeleteSecurityGroupOutput, error)
	DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, opts ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error)
	DeregisterImage(ctx context.Context, in *ec2.DeregisterImageInput, opts ...func(*ec2.Options)) (*ec2.DeregisterImageOutput, error)
	DescribeVolumes(ctx context.Context, in *ec2.DescribeVolumesInput, opts ...func(*ec2.Options)) (*ec2.DescribeVolumesOutput, error)
	DeleteVolume(ctx context.Context, in *ec2.DeleteVolumeInput, opts ...func(*ec2.Options)) (*ec2.DeleteVolumeOutput, error)
	DescribeSnapshots(ctx context.Context, in *ec2.DescribeSnapshotsInput, opts ...func(*ec2.Options)) (*ec2.DescribeSnapshotsOutput, error)
	DeleteSnapshot(ctx context.Context, in *ec2.DeleteSnapshotInput, opts ...func(*ec2.Options)) (*ec2.DeleteSnapshotOutput, error)
}

// tagCheckpoint is builders/amazon.TagCheckpoint: checkpoint AMIs are
// kept for --resume after their run died, for CheckpointRetention.
const tagCheckpoint = "dev.bake.checkpoint"

// CheckpointRetention is how long after its run started a dead run's
// checkpoint AMI is kept for bake build --resume.
const CheckpointRetention = 7 * 24 * time.Hour

// Amazon sweeps one region. Every call filters on the owner tag key.
type Amazon struct {
	API    EC2
	Region string
	// Wait bounds the wait for terminated instances before their
	// security groups go (default 5 minutes).
	Wait time.Duration
}

func ownerFilter() []types.Filter {
	return []types.Filter{{Name: aws.String("tag-key"), Values: []string{bake.LabelOwnerPID}}}
}

func tagMap(tags []types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// Sweep implements Sweeper: instances first (and waits for them), then
// the volumes they kept (delete_on_termination = false), key pairs,
// security groups, unfinished AMIs and their snapshots, and
// snapshots of images never registered.
func (a Amazon) Sweep(ctx context.Context, lv bake.Liveness, dryRun bool) ([]Leftover, error) {
	var found []Leftover
	var errs []error
	add := func(kind, id string, o bake.Owner, why string) {
		found = append(found, Leftover{Kind: kind, ID: id, Where: a.Region, Run: o.Run, Reason: why})
	}
	// Instances.
	out, err := a.API.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: append(ownerFilter(),
		types.Filter{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped", "shutting-down"}})})
	if err != nil {
		return nil, fmt.Errorf("list bake's instances in %s: %w", a.Region, err)
	}
	var ids []string
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			if o, why, dead := judge(lv, tagMap(in.Tags)); dead {
				add("instance", aws.ToString(in.InstanceId), o, why)
				ids = append(ids, aws.ToString(in.InstanceId))
			}
		}
	}
	if len(ids) > 0 && !dryRun {
		if _, err := a.API.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids}); err != nil {
			errs = append(errs, fmt.Errorf("terminate %v in %s: %w", ids, a.Region, err))
		} else if err := a.waitTerminated(ctx, ids); err != nil {
			errs = append(errs, err)
		}
	}
	// Volumes a dead run's instance kept (delete_on_termination = false):
	// detached ones only, so none in use goes.
	vols, err := a.API.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: append(ownerFilter(),
		types.Filter{Name: aws.String("status"), Values: []string{"available"}})})
	if err != nil {
		errs = append(errs, fmt.Errorf("list bake's volumes in %s: %w", a.Region, err))
	} else {
		errs = append(errs, removeDead(a, lv, dryRun, add, "volume", vols.Volumes,
			func(v types.Volume) (string, []types.Tag) { return aws.ToString(v.VolumeId), v.Tags },
			func(v types.Volume) error {
				_, err := a.API.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: v.VolumeId})
				return err
			})...)
	}
	kps, err := a.API.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{Filters: ownerFilter()})
	if err != nil {
		errs = append(errs, fmt.Errorf("list bake's key pairs in %s: %w", a.Region, err))
	} else {
		errs = append(errs, removeDead(a, lv, dryRun, add, "key pair", kps.KeyPairs,
			func(k types.KeyPairInfo) (string, []types.Tag) { return aws.ToString(k.KeyName), k.Tags },
			func(k types.KeyPairInfo) error {
				_, err := a.API.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyName: k.KeyName})
				return err
			})...)
	}
	// Security groups, once their instances are gone.
	sgs, err := a.API.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: ownerFilter()})
	if err != nil {
		errs = append(errs, fmt.Errorf("list bake's security groups in %s: %w", a.Region, err))
	} else {
		errs = append(errs, removeDead(a, lv, dryRun, add, "security group", sgs.SecurityGroups,
			func(g types.SecurityGroup) (string, []types.Tag) { return aws.ToString(g.GroupId), g.Tags },
			func(g types.SecurityGroup) error {
				if _, err := a.API.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: g.GroupId}); err != nil {
					return fmt.Errorf("%w (run bake gc again once its instances are gone)", err)
				}
				return nil
			})...)
	}
	// Unfinished AMIs (a finished one has lost its owner tags) and
	// checkpoints past their retention, with their snapshots.
	ims, err := a.API.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: ownerFilter()})
	if err != nil {
		errs = append(errs, fmt.Errorf("list bake's images in %s: %w", a.Region, err))
		return found, errors.Join(errs...)
	}
	gone := map[string]bool{}
	for _, im := range ims.Images {
		tags := tagMap(im.Tags)
		o, why, dead := judge(lv, tags)
		if !dead {
			continue
		}
		if _, cp := tags[tagCheckpoint]; cp && lv.Now.Sub(o.Start) < CheckpointRetention {
			continue
		}
		add("image", aws.ToString(im.ImageId), o, why)
		for _, bd := range im.BlockDeviceMappings {
			if bd.Ebs != nil && bd.Ebs.SnapshotId != nil {
				gone[aws.ToString(bd.Ebs.SnapshotId)] = true
			}
		}
		if !dryRun {
			if _, err := a.API.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: im.ImageId}); err != nil {
				errs = append(errs, fmt.Errorf("deregister image %s in %s: %w", aws.ToString(im.ImageId), a.Region, err))
			}
		}
	}
	// A snapshot is kept while any image that stays uses it.
	all, err := a.API.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}})
	if err != nil {
		errs = append(errs, fmt.Errorf("list images in %s: %w", a.Region, err))
		return found, errors.Join(errs...)
	}
	used := map[string]bool{}
	for _, im := range all.Images {
		for _, bd := range im.BlockDeviceMappings {
			if bd.Ebs != nil && bd.Ebs.SnapshotId != nil && !(dryRun && gone[aws.ToString(bd.Ebs.SnapshotId)]) {
				used[aws.ToString(bd.Ebs.SnapshotId)] = true
			}
		}
	}
	snaps, err := a.API.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, Filters: ownerFilter()})
	if err != nil {
		errs = append(errs, fmt.Errorf("list bake's snapshots in %s: %w", a.Region, err))
		return found, errors.Join(errs...)
	}
	for _, sn := range snaps.Snapshots {
		id := aws.ToString(sn.SnapshotId)
		o, why, dead := judge(lv, tagMap(sn.Tags))
		if !dead || used[id] {
			continue
		}
		add("snapshot", id, o, why)
		if !dryRun {
			if _, err := a.API.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: sn.SnapshotId}); err != nil {
				errs = append(errs, fmt.Errorf("delete snapshot %s in %s: %w", id, a.Region, err))
			}
		}
	}
	return found, errors.Join(errs...)
}

// removeDead reports each of items whose run is dead (by its tags) as a
// leftover of kind and, unless dryRun, removes it with del; it returns
// the removals that failed.
func removeDead[T any](a Amazon, lv bake.Liveness, dryRun bool, add func(kind, id string, o bake.Owner, why string),
	kind string, items []T, idTags func(T) (string, []types.Tag), del func(T) error) []error {
	var errs []error
	for _, it := range items {
		id, tags := idTags(it)
		o, why, dead := judge(lv, tagMap(tags))
		if !dead {
			continue
		}
		add(kind, id, o, why)
		if dryRun {
			continue
		}
		if err := del(it); err != nil {
			errs = append(errs, fmt.Errorf("delete %s %s in %s: %w", kind, id, a.Region, err))
		}
	}
	return errs
}

func (a Amazon) waitTerminated(ctx context.Context, ids []string) error {
	wait := a.Wait
	if wait == 0 {
		wait = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		out, err := a.API.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids})
		if err != nil {
			return fmt.Errorf("wait for %v to terminate in %s: %w", ids, a.Region, err)
		}
		left := 0
		for _, r := range out.Reservations {
			for _, in := range r.Instances {
				if in.State != nil && in.State.Name != types.InstanceStateNameTerminated {
					left++
				}
			}
		}
		if left == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %v still not terminated in %s: run bake gc again", left, ids, a.Region)
		case <-time.After(2 * time.Second):
		}
	}
}
