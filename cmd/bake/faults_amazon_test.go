package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
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
  # A volume that outlives its instance: what Packer users find left.
  launch_block_device_mappings {
    device_name           = "/dev/sdf"
    volume_size           = 1
    delete_on_termination = false
  }
  host_key_timeout = "1m"
  ssh_timeout      = "1m"
}
build {
  sources = ["source.amazon-ebs.f"]
  provisioner "shell" {
    inline = ["echo step-started", "sleep 3"]
  }
  verify {
    inline = ["echo verify-started", "sleep 3"]
  }
  post-processor "shell-local" {
    inline = ["echo pp-started", "sleep 3"]
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
	vs, err := api.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs.Volumes {
		left = append(left, "volume "+aws.ToString(v.VolumeId))
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
// SIGKILL at boot, while it provisions and while it makes the AMI, then
// bake gc (and separately the next bake build) leaves nothing of the run
// and a live bake alone; SIGTERM and SIGHUP stop it as SIGINT does.
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
		// The key pair and security group are made, the instance boots.
		{"boot", func(out string) bool { return strings.Contains(out, ") launched from ") }},
		{"provision", faultPhases[1].ready},
		{"capture", func(out string) bool { return strings.Contains(out, "being made from") }},
		// An instance of the new AMI runs the verify block.
		{"verify", faultPhases[3].ready},
		// The AMI is made; shell-local runs on this machine.
		{"post-process", faultPhases[4].ready},
	}
	injected, leaked := 0, 0
	check := func(t *testing.T, run string, r result) {
		t.Helper()
		injected++
		if left := awsLeftovers(t, api, run); len(left) > 0 {
			leaked += len(left)
			t.Errorf("left of run %s: %v\n%s", run, left, r)
		}
	}
	for _, p := range phases {
		t.Run("SIGKILL at "+p.name+" then bake gc", func(t *testing.T) {
			run := killAt(t, writeBake(t, amazonFaultBake), p.ready)
			if p.name == "post-process" {
				// The AMI is finished and verified: it is the product,
				// without owner tags, which gc must keep.
				r := runBake(t, t.TempDir(), "gc")
				if r.code != 0 {
					t.Fatal(r)
				}
				injected++
				left := awsLeftovers(t, api, run)
				images, other := 0, 0
				for _, l := range left {
					switch {
					case strings.HasPrefix(l, "image "):
						images++
					case !strings.HasPrefix(l, "snapshot "):
						other++
					}
				}
				if images != 1 || other != 0 {
					leaked += other
					t.Errorf("after a kill at post-process, want the finished AMI and its snapshots only, have %v", left)
				}
				deregister(t, api, run)
				return
			}
			before := awsLeftovers(t, api, run)
			if len(before) == 0 {
				t.Fatalf("the killed run left nothing for gc to remove")
			}
			if p.name == "provision" && !strings.Contains(strings.Join(before, ","), "volume ") {
				t.Fatalf("the instance's kept volume is not among what the killed run left: %v", before)
			}
			r := runBake(t, t.TempDir(), "gc")
			if r.code != 0 {
				t.Fatal(r)
			}
			check(t, run, r)
		})
	}
	t.Run("SIGKILL at provision then the next bake build", func(t *testing.T) {
		run := killAt(t, writeBake(t, amazonFaultBake), phases[1].ready)
		if len(awsLeftovers(t, api, run)) == 0 {
			t.Fatalf("the killed run left nothing for the next build to remove")
		}
		r := runBake(t, writeBake(t, amazonFaultBake), "build", "--json", "--manifest", "", "--version", uniq("next"), ".")
		if r.code != 0 || !strings.Contains(r.stdout, "gc: removed") {
			t.Fatalf("want a build that says what of the dead run it removed: %s", r)
		}
		check(t, run, r)
		// The build's own AMI is the product: remove it for the next test.
		for _, rn := range runUUIDs(events(t, r.stdout)) {
			deregister(t, api, rn)
		}
	})
	t.Run("bake gc leaves a live bake alone", func(t *testing.T) {
		live, out, errb := startBake(t, writeBake(t, amazonFaultBake), phases[1].ready)
		dead := killAt(t, writeBake(t, amazonFaultBake), phases[1].ready)
		r := runBake(t, t.TempDir(), "gc")
		if r.code != 0 {
			t.Fatal(r)
		}
		check(t, dead, r)
		liveRun := runUUIDs(events(t, lastFullLines(out.String())))[0]
		waitLive(t, live, errb, 3*time.Minute)
		deregister(t, api, liveRun)
		// A finished bake leaves only its AMI: no instance, and no volume
		// even where delete_on_termination = false.
		if left := awsLeftovers(t, api, liveRun); len(left) > 0 {
			t.Errorf("the finished bake left %v", left)
		}
	})
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP} {
		for _, p := range phases {
			t.Run(sig.String()+" at "+p.name, func(t *testing.T) {
				r := interruptWhen(t, sig, []string{"build", "--json", "--manifest", "", "--version", uniq("sig"), "."}, writeBake(t, amazonFaultBake), p.ready)
				runs := runUUIDs(events(t, r.stdout))
				if len(runs) != 1 {
					t.Fatalf("runs %v", runs)
				}
				if r.code == 0 && p.name == "capture" {
					deregister(t, api, runs[0]) // finished before the signal landed
				} else if p.name == "post-process" {
					// A stopped post-processor does not unmake the AMI
					// (as with Packer): it is kept, finished, for a rerun.
					if r.code != 1 {
						t.Errorf("after %s: exit %d, want 1 as for SIGINT: %s", sig, r.code, r)
					}
					deregister(t, api, runs[0])
				} else if r.code != 1 {
					t.Errorf("after %s: exit %d, want 1 as for SIGINT: %s", sig, r.code, r)
				}
				check(t, runs[0], r)
			})
		}
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

// deregister removes the AMIs (and their snapshots) a finished run made.
func deregister(t *testing.T, api *ec2.Client, run string) {
	t.Helper()
	ctx := context.Background()
	f := []types.Filter{{Name: aws.String("tag:" + bake.LabelRun), Values: []string{run}}}
	ims, err := api.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range ims.Images {
		if _, err := api.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: im.ImageId, DeleteAssociatedSnapshots: aws.Bool(true)}); err != nil {
			t.Errorf("deregister %s: %v", aws.ToString(im.ImageId), err)
		}
	}
	ss, _ := api.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, Filters: f})
	for _, sn := range ss.Snapshots {
		api.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: sn.SnapshotId})
	}
}
