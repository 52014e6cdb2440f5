package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/internal/testenv"
	"github.com/bakehq/bake/sim"
)

const amazonFaultBake = `
source "amazon-ebs" "f" {
  instance_type = "t3.micro"
  source_ami_filter {
    filters     = { name = "debian-12-amd64-*" }
    owners      = ["136693071363"]
    most_recent = true
  }
  ami_name         = "faults-${bake.version}"
  host_key_timeout = "1m"
  ssh_timeout      = "1m"
}
build {
  sources = ["source.amazon-ebs.f"]
  provisioner "shell" {
    inline = ["echo step-started", "sleep 3"]
  }
}
`

// awsLeftovers lists what of run is left in the sim: instances not
// terminated, key pairs, security groups, images and snapshots.
func awsLeftovers(t *testing.T, api *ec2.Client, run string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f := []types.Filter{{Name: aws.String("tag:" + bake.LabelRun), Values: []string{run}}}
	var left []string
	is, err := api.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range is.Reservations {
		for _, i := range r.Instances {
			if i.State.Name != types.InstanceStateNameTerminated {
				left = append(left, "instance "+aws.ToString(i.InstanceId))
			}
		}
	}
	ks, err := api.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range ks.KeyPairs {
		left = append(left, "key pair "+aws.ToString(k.KeyName))
	}
	gs, err := api.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gs.SecurityGroups {
		left = append(left, "security group "+aws.ToString(g.GroupId))
	}
	ims, err := api.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range ims.Images {
		left = append(left, "image "+aws.ToString(im.ImageId))
	}
	ss, err := api.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ss.Snapshots {
		left = append(left, "snapshot "+aws.ToString(s.SnapshotId))
	}
	return left
}

// TestFaultsAmazon kills an amazon-ebs bake on the local cloud with
// SIGKILL while it provisions and while it makes the AMI; bake gc then
// leaves nothing of the run.
func TestFaultsAmazon(t *testing.T) {
	s := testenv.StartSim(t, sim.Options{})
	testenv.UseSim(t, s.Endpoint())
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	api := ec2.NewFromConfig(cfg)
	phases := []struct {
		name  string
		ready func(string) bool
	}{
		{"provision", faultPhases[1].ready},
		{"capture", func(out string) bool { return strings.Contains(out, "being made from") }},
	}
	injected, leaked := 0, 0
	for _, p := range phases {
		t.Run("SIGKILL at "+p.name+" then bake gc", func(t *testing.T) {
			run := killAt(t, writeBake(t, amazonFaultBake), p.ready)
			injected++
			before := awsLeftovers(t, api, run)
			if len(before) == 0 {
				t.Fatalf("the killed run left nothing for gc to remove")
			}
			r := runBake(t, t.TempDir(), "gc")
			if r.code != 0 {
				t.Fatal(r)
			}
			if left := awsLeftovers(t, api, run); len(left) > 0 {
				leaked += len(left)
				t.Errorf("left after bake gc: %v (before: %v)\n%s", left, before, r)
			}
		})
	}
	msg := fmt.Sprintf("bake faults (amazon-ebs on the sim): faults injected: %d, resources leaked: %d", injected, leaked)
	t.Log(msg)
	if f := os.Getenv("BAKE_FAULTS_SUMMARY"); f != "" {
		fh, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintln(fh, msg)
			fh.Close()
		}
	}
}
