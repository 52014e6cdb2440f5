package amazon_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// packerBake is a Packer-style source: a fixed ami_name, Packer's
// build-info templates in tags and the description, and sharing.
func packerBake(name string, force bool) string {
	return fmt.Sprintf(`
source "amazon-ebs" "pk" {
  instance_type = "t3.micro"
  source_ami_filter {
    filters     = { name = "debian-12-amd64-*" }
    owners      = ["136693071363"]
    most_recent = true
  }
  ssh_username          = "admin"
  ami_name              = %q
  ami_description       = "from {{ .SourceAMIName }}"
  ami_users             = ["123456789012"]
  force_deregister      = %v
  force_delete_snapshot = true
  ssh_clear_authorized_keys = true
  pause_before_ssm      = "5s"
  tags          = { Base = "{{ .SourceAMI }}", Region = "{{ .BuildRegion }}", Built = "{{timestamp}}" }
  snapshot_tags = { Kind = "{{ build_type }}" }
}

build {
  sources = ["source.amazon-ebs.pk"]
  provisioner "shell" { inline = ["true"] }
}
`, name, force)
}

// TestPackerArguments bakes a Packer-style source twice under one name:
// the AMI carries the rendered tags and description and is shared with
// ami_users; a second bake is refused while force_deregister is off, and
// with it replaces the first AMI (and its snapshots).
func TestPackerArguments(t *testing.T) {
	c := startCloud(t)
	name := fmt.Sprintf("pk-%d", time.Now().UnixNano()%1e9)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	east := c.ec2In("us-east-1")

	r := plan(t, writeBake(t, packerBake(name, false)), nil, "")
	res := r.run(ctx, t)
	if res.Err != nil {
		t.Fatalf("bake: %v\n%s", res.Err, r.events)
	}
	first := res.Artifact.ID
	log := r.events.String()
	if !strings.Contains(log, "accepted without effect here: pause_before_ssm") {
		t.Errorf("no info line for pause_before_ssm:\n%s", log)
	}
	imgs, err := east.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{first}})
	if err != nil || len(imgs.Images) != 1 {
		t.Fatalf("describe %s: %v", first, err)
	}
	im := imgs.Images[0]
	tags := map[string]string{}
	for _, tg := range im.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if aws.ToString(im.Name) != name || !strings.HasPrefix(tags["Base"], "ami-") || tags["Region"] != "us-east-1" ||
		tags["Built"] == "" || strings.Contains(tags["Built"], "{{") {
		t.Errorf("AMI %s name %q tags %v", first, aws.ToString(im.Name), tags)
	}
	if d := aws.ToString(im.Description); !strings.HasPrefix(d, "from debian-12-amd64-") {
		t.Errorf("description %q", d)
	}
	attr, err := east.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{ImageId: aws.String(first), Attribute: types.ImageAttributeNameLaunchPermission})
	if err != nil {
		t.Errorf("launch permissions of %s: %v", first, err)
	} else if len(attr.LaunchPermissions) != 1 || aws.ToString(attr.LaunchPermissions[0].UserId) != "123456789012" {
		t.Errorf("launch permissions %+v, want ami_users", attr.LaunchPermissions)
	}
	snaps := map[string]bool{}
	for _, b := range im.BlockDeviceMappings {
		if b.Ebs != nil {
			snaps[aws.ToString(b.Ebs.SnapshotId)] = true
		}
	}

	// The same name again: refused early without force_deregister.
	r2 := plan(t, writeBake(t, packerBake(name, false)), nil, "")
	if res := r2.run(ctx, t); res.Err == nil || !strings.Contains(res.Err.Error(), "force_deregister") {
		t.Fatalf("a second AMI named %s: %v", name, res.Err)
	}
	// With it, the first AMI and its snapshots are replaced.
	r3 := plan(t, writeBake(t, packerBake(name, true)), nil, "")
	res3 := r3.run(ctx, t)
	if res3.Err != nil {
		t.Fatalf("bake with force_deregister: %v\n%s", res3.Err, r3.events)
	}
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), time.Minute)
		defer ccancel()
		if _, err := east.DeregisterImage(cctx, &ec2.DeregisterImageInput{ImageId: aws.String(res3.Artifact.ID)}); err != nil {
			t.Errorf("deregister %s: %v", res3.Artifact.ID, err)
		}
	})
	out, err := east.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"},
		Filters: []types.Filter{{Name: aws.String("name"), Values: []string{name}}}})
	if err != nil || len(out.Images) != 1 || aws.ToString(out.Images[0].ImageId) != res3.Artifact.ID {
		t.Errorf("AMIs named %s after force_deregister: %+v (%v), want only %s", name, out, err, res3.Artifact.ID)
	}
	for sn := range snaps {
		so, err := east.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{sn}})
		if err == nil && len(so.Snapshots) > 0 {
			t.Errorf("snapshot %s of the replaced AMI is left (force_delete_snapshot)", sn)
		}
	}
}
