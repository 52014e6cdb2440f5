package gc

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/bakehq/bake/bake"
)

// fakeImages is an EC2 with images only (the other lists are empty): the
// narrow part the image rules read.
type fakeImages struct {
	EC2          // nil: a call the test does not expect panics
	images       []types.Image
	deregistered []string
}

func (f *fakeImages) DescribeInstances(context.Context, *ec2.DescribeInstancesInput, ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	return &ec2.DescribeInstancesOutput{}, nil
}

func (f *fakeImages) DescribeVolumes(context.Context, *ec2.DescribeVolumesInput, ...func(*ec2.Options)) (*ec2.DescribeVolumesOutput, error) {
	return &ec2.DescribeVolumesOutput{}, nil
}

func (f *fakeImages) DescribeKeyPairs(context.Context, *ec2.DescribeKeyPairsInput, ...func(*ec2.Options)) (*ec2.DescribeKeyPairsOutput, error) {
	return &ec2.DescribeKeyPairsOutput{}, nil
}

func (f *fakeImages) DescribeSecurityGroups(context.Context, *ec2.DescribeSecurityGroupsInput, ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error) {
	return &ec2.DescribeSecurityGroupsOutput{}, nil
}

func (f *fakeImages) DescribeImages(_ context.Context, in *ec2.DescribeImagesInput, _ ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error) {
	return &ec2.DescribeImagesOutput{Images: f.images}, nil
}

func (f *fakeImages) DeregisterImage(_ context.Context, in *ec2.DeregisterImageInput, _ ...func(*ec2.Options)) (*ec2.DeregisterImageOutput, error) {
	f.deregistered = append(f.deregistered, aws.ToString(in.ImageId))
	return &ec2.DeregisterImageOutput{}, nil
}

func (f *fakeImages) DescribeSnapshots(context.Context, *ec2.DescribeSnapshotsInput, ...func(*ec2.Options)) (*ec2.DescribeSnapshotsOutput, error) {
	return &ec2.DescribeSnapshotsOutput{}, nil
}

func ami(id string, o bake.Owner, checkpoint bool) types.Image {
	var tags []types.Tag
	for k, v := range o.Labels() {
		tags = append(tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	if checkpoint {
		tags = append(tags, types.Tag{Key: aws.String(tagCheckpoint), Value: aws.String("1")})
	}
	return types.Image{ImageId: aws.String(id), Tags: tags}
}

// TestAmazonImageRules: a dead run's checkpoint AMI is kept for
// CheckpointRetention after its run started (bake build --resume), then
// removed; a run of another host is dead only past its deadline plus the
// margin; a live run's images stay; --dry-run removes nothing.
func TestAmazonImageRules(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	lv := bake.Liveness{Host: "here", Now: now, Margin: bake.DefaultDeadlineMargin,
		Alive: func(pid int, _ string) bool { return pid == 1 }}
	owner := func(run, host string, pid int, started time.Time, deadline time.Duration) bake.Owner {
		return bake.Owner{Run: run, Host: host, PID: pid, Start: started, Deadline: started.Add(deadline)}
	}
	f := &fakeImages{images: []types.Image{
		ami("ami-dead-checkpoint-1d", owner("r1", "here", 99, now.Add(-24*time.Hour), time.Hour), true),
		ami("ami-dead-checkpoint-8d", owner("r2", "here", 99, now.Add(-8*24*time.Hour), time.Hour), true),
		ami("ami-dead-unfinished", owner("r3", "here", 99, now.Add(-time.Hour), time.Hour), false),
		ami("ami-live", owner("r4", "here", 1, now.Add(-time.Hour), time.Hour), false),
		ami("ami-other-host-in-margin", owner("r5", "there", 99, now.Add(-80*time.Minute), time.Hour), false),
		ami("ami-other-host-past", owner("r6", "there", 99, now.Add(-2*time.Hour), time.Hour), false),
	}}
	a := Amazon{API: f, Region: "us-east-1"}
	found, err := a.Sweep(context.Background(), lv, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.deregistered) != 0 {
		t.Errorf("--dry-run deregistered %v", f.deregistered)
	}
	var ids []string
	for _, l := range found {
		ids = append(ids, l.ID)
	}
	want := []string{"ami-dead-checkpoint-8d", "ami-dead-unfinished", "ami-other-host-past"}
	if !slices.Equal(ids, want) {
		t.Errorf("dry run found %v, want %v", ids, want)
	}
	if _, err := a.Sweep(context.Background(), lv, false); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.deregistered, want) {
		t.Errorf("deregistered %v, want %v", f.deregistered, want)
	}
}
