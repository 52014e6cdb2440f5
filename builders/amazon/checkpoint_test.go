package amazon_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/builders/amazon"
)

const checkpointBake = `
variable "ok" {
  type = string
}
source "amazon-ebs" "resume" {
  instance_type = "t3.micro"
  source_ami_filter {
    filters = {
      name = "debian-12-amd64-*"
    }
    owners      = ["136693071363"]
    most_recent = true
  }
  ssh_username = "admin"
  ami_name     = "resume-${bake.version}"
}
build {
  sources = ["source.amazon-ebs.resume"]
  provisioner "shell" {
    checkpoint = true
    inline     = ["echo saved | sudo tee /etc/bake-step-one"]
  }
  provisioner "shell" {
    inline = ["test -s /etc/bake-step-one", "test '${var.ok}' = yes"]
  }
}
`

// TestResumeFromCheckpoint: a bake that fails after a checkpointed step
// keeps the checkpoint AMI; --resume boots from it, skips the step, and
// removes the checkpoint once the bake is done.
func TestResumeFromCheckpoint(t *testing.T) {
	c := startCloud(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "resume.bake.hcl")
	if err := os.WriteFile(path, []byte(checkpointBake), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	run := func(ok string, resume bool) (*bakeRun, bake.Result) {
		r := plan(t, path, []string{"ok=" + ok}, "")
		res := bake.Run(ctx, r.Jobs, bake.RunOptions{Parallel: 1, Reporter: r.events, Version: r.Version,
			BuildTime: time.Now().UTC(), RunUUID: r.UUID, CleanupTimeout: 2 * time.Minute, Resume: resume})
		return r, res[0]
	}
	checkpoints := func() []types.Image {
		out, err := c.ec2In("us-east-1").DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"},
			Filters: []types.Filter{{Name: aws.String("tag-key"), Values: []string{amazon.TagCheckpoint}}}})
		if err != nil {
			t.Fatal(err)
		}
		return out.Images
	}

	failed, res := run("no", false)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "provisioner shell #2") {
		t.Fatalf("first bake should fail at step 2: %v\n%s", res.Err, failed.events)
	}
	if cps := checkpoints(); len(cps) != 1 || cps[0].State != types.ImageStateAvailable {
		t.Fatalf("after the failed bake: checkpoints %v, want one available", cps)
	}
	if left := c.leftovers(t, failed.UUID, "us-east-1"); len(left) != 0 {
		t.Errorf("the failed bake left %v", left)
	}

	resumed, res := run("yes", true)
	if res.Err != nil {
		t.Fatalf("resumed bake: %v\n%s", res.Err, resumed.events)
	}
	log := resumed.events.String()
	if !strings.Contains(log, bake.EventStepCached+" "+resumed.Jobs[0].Name+" [provisioner shell #1]") ||
		!strings.Contains(log, "resuming from checkpoint AMI") {
		t.Errorf("step 1 was not resumed from the checkpoint:\n%s", log)
	}
	if cps := checkpoints(); len(cps) != 0 {
		t.Errorf("checkpoint AMIs left after the resumed bake: %v", cps)
	}
	snaps, err := c.ec2In("us-east-1").DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"},
		Filters: []types.Filter{{Name: aws.String("tag-key"), Values: []string{amazon.TagCheckpoint}}}})
	if err != nil || len(snaps.Snapshots) != 0 {
		t.Errorf("checkpoint snapshots left: %v %v", snaps, err)
	}
	for _, l := range c.leftovers(t, resumed.UUID, "us-east-1") {
		if !strings.Contains(l, "image "+res.Artifact.ID) && !strings.Contains(l, "snapshot") {
			t.Errorf("the resumed bake left %s", l)
		}
	}
	// The result names the real source AMI, not the checkpoint.
	out, err := c.ec2In("us-east-1").DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{res.Artifact.ID}})
	if err != nil || len(out.Images) != 1 {
		t.Fatalf("describe the result: %v", err)
	}
	for _, tg := range out.Images[0].Tags {
		if aws.ToString(tg.Key) == "dev.bake.source-ami" && !strings.HasPrefix(res.Artifact.Parent, aws.ToString(tg.Value)) && aws.ToString(tg.Value) != res.Artifact.Parent {
			t.Errorf("source-ami tag %s, want the real source %s", aws.ToString(tg.Value), res.Artifact.Parent)
		}
	}
}
