package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	bakelib "github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/images"
	"github.com/bakehq/bake/internal/testenv"
	"github.com/bakehq/bake/sim"
)

// startSim runs the local cloud on loopback with the Docker runtime and
// points the SDK's standard chain (which bake reads) at it.
func startSim(t *testing.T) *sim.Sim {
	t.Helper()
	s := testenv.StartSim(t, sim.Options{DNSAddr: "127.0.0.1:0"})
	testenv.UseSim(t, s.Endpoint())
	return s
}

func poll(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestAMIChannelsAndPrune makes 6 AMIs tagged as bake tags them on the
// local cloud, promotes one to prod (an SSM parameter), has an Auto
// Scaling group run another, and checks prune --keep 2: the plan changes
// nothing, --apply deregisters exactly the 2 unpinned old AMIs and
// deletes their snapshots.
func TestAMIChannelsAndPrune(t *testing.T) {
	startSim(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e := ec2.NewFromConfig(cfg)
	imgs, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"136693071363"},
		Filters: []ec2types.Filter{{Name: aws.String("name"), Values: []string{"debian-12-amd64-*"}}}})
	if err != nil || len(imgs.Images) != 1 {
		t.Fatalf("find the debian ami: %v %v", err, imgs)
	}
	run, err := e.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: imgs.Images[0].ImageId, InstanceType: ec2types.InstanceTypeT3Micro,
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	builder := aws.ToString(run.Instances[0].InstanceId)
	poll(t, "the builder instance to run", func() bool {
		out, err := e.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{builder}})
		return err == nil && out.Reservations[0].Instances[0].State.Name == ec2types.InstanceStateNameRunning
	})

	const job = "web.amazon-ebs.web"
	amis := map[int]string{}
	snaps := map[int]string{}
	created := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	for i := 1; i <= 6; i++ {
		tags := []ec2types.Tag{
			{Key: aws.String(bakelib.LabelName), Value: aws.String(job)},
			{Key: aws.String(bakelib.LabelVersion), Value: aws.String(fmt.Sprintf("v%d", i))},
			{Key: aws.String(bakelib.LabelCreated), Value: aws.String(created.Add(time.Duration(i) * time.Minute).Format(time.RFC3339))},
			{Key: aws.String(bakelib.LabelFingerprint), Value: aws.String(fmt.Sprintf("sha256:%064d", i))},
		}
		out, err := e.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(builder), Name: aws.String(fmt.Sprintf("web-v%d", i)),
			TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeImage, Tags: tags}}})
		if err != nil {
			t.Fatal(err)
		}
		amis[i] = aws.ToString(out.ImageId)
	}
	for i, ami := range amis {
		poll(t, "image "+ami, func() bool {
			out, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{ami}})
			if err != nil || len(out.Images) != 1 || out.Images[0].State != ec2types.ImageStateAvailable {
				return false
			}
			for _, m := range out.Images[0].BlockDeviceMappings {
				if m.Ebs != nil && m.Ebs.SnapshotId != nil {
					snaps[i] = *m.Ebs.SnapshotId
				}
			}
			return snaps[i] != ""
		})
	}
	// What bake build --skip-unchanged and bake rebuild ask.
	if a, err := images.FindAMI(ctx, e, fmt.Sprintf("sha256:%064d", 5)); err != nil || a == nil || a.ID != amis[5] || a.Version != "v5" {
		t.Errorf("FindAMI of v5's fingerprint = %+v, %v; want %s", a, err, amis[5])
	}
	if a, err := images.FindAMI(ctx, e, fmt.Sprintf("sha256:%064d", 9)); err != nil || a != nil {
		t.Errorf("FindAMI of an unknown fingerprint = %+v, %v; want none", a, err)
	}
	if v, err := images.LatestAMI(ctx, e, "us-east-1", job); err != nil || v == nil || v.Version != "v6" {
		t.Errorf("LatestAMI = %+v, %v; want v6", v, err)
	}
	if _, err := e.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{builder}}); err != nil {
		t.Fatal(err)
	}

	if r := bake(t, "promote", "web", "v2", "--kind", "amazon-ebs", "--channel", "prod"); r.code != 0 || !strings.Contains(r.stdout, "us-east-1: channel prod now points at v2") {
		t.Fatalf("promote: %s", r)
	}
	p, err := ssm.NewFromConfig(cfg).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/bake/" + job + "/prod")})
	if err != nil || aws.ToString(p.Parameter.Value) != amis[2] || aws.ToString(p.Parameter.DataType) != "aws:ec2:image" {
		t.Fatalf("parameter /bake/%s/prod = %+v (%v), want %s as aws:ec2:image", job, p, err, amis[2])
	}
	if r := bake(t, "images", "web", "--kind", "amazon-ebs", "--channel", "prod"); r.code != 0 || !strings.Contains(r.stdout, "v2 ") {
		t.Fatalf("images --channel prod: %s", r)
	}
	if r := bake(t, "promote", "web", "v9", "--kind", "amazon-ebs", "--channel", "prod"); r.code != 2 || !strings.Contains(r.stderr, `has no version "v9"`) {
		t.Fatalf("promote of an unknown version: %s", r)
	}

	// A group runs v3 from a launch template.
	lt, err := e.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("web"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(amis[3]), InstanceType: ec2types.InstanceTypeT3Micro}})
	if err != nil {
		t.Fatal(err)
	}
	subnets, err := e.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	if err != nil || len(subnets.Subnets) == 0 {
		t.Fatalf("subnets: %v", err)
	}
	as := autoscaling.NewFromConfig(cfg)
	if _, err := as.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("web-blue"), MinSize: aws.Int32(1), MaxSize: aws.Int32(1), DesiredCapacity: aws.Int32(1),
		VPCZoneIdentifier: subnets.Subnets[0].SubnetId,
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateId: lt.LaunchTemplate.LaunchTemplateId, Version: aws.String("$Latest")},
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		as.DeleteAutoScalingGroup(context.Background(), &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("web-blue"), ForceDelete: aws.Bool(true)})
	})

	r := bake(t, "images", "web", "--kind", "amazon-ebs")
	if r.code != 0 || !strings.Contains(r.stdout, "Auto Scaling group web-blue") || !strings.Contains(r.stdout, "prod") {
		t.Fatalf("images: %s", r)
	}

	want := map[string]string{"v6": "keep", "v5": "keep", "v4": "remove", "v3": "keep", "v2": "keep", "v1": "remove"}
	check := func(out string) {
		t.Helper()
		got := map[string]string{}
		for _, f := range table(out) {
			got[f[0]] = f[2]
		}
		for v, a := range want {
			if got[v] != a {
				t.Errorf("plan for %s = %q, want %q:\n%s", v, got[v], a, out)
			}
		}
		if !strings.Contains(out, "channel prod") || !strings.Contains(out, "Auto Scaling group web-blue") {
			t.Errorf("plan does not say why v2 and v3 are kept:\n%s", out)
		}
	}
	r = bake(t, "prune", "web", "--kind", "amazon-ebs", "--keep", "2")
	if r.code != 0 {
		t.Fatalf("prune (plan): %s", r)
	}
	check(r.stdout)
	exists := func(i int) (image, snap bool) {
		out, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{amis[i]}})
		image = err == nil && len(out.Images) == 1
		so, err := e.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{snaps[i]}})
		snap = err == nil && len(so.Snapshots) == 1
		return image, snap
	}
	for i := 1; i <= 6; i++ {
		if im, sn := exists(i); !im || !sn {
			t.Fatalf("prune without --apply removed v%d (image %v, snapshot %v)", i, im, sn)
		}
	}
	r = bake(t, "prune", "web", "--kind", "amazon-ebs", "--keep", "2", "--apply")
	if r.code != 0 {
		t.Fatalf("prune --apply: %s", r)
	}
	check(r.stdout)
	for i := 1; i <= 6; i++ {
		im, sn := exists(i)
		gone := i == 1 || i == 4
		if im == gone || sn == gone {
			t.Errorf("after prune v%d: image exists %v, snapshot exists %v; want removed = %v", i, im, sn, gone)
		}
	}
}

// TestAMINightly bakes an amazon-ebs source on the local cloud with the
// real builder: a nightly right after skips it (its AMI carries the
// fingerprint), and a changed provisioner rebakes it, saying so.
func TestAMINightly(t *testing.T) {
	startSim(t)
	dir := t.TempDir()
	write := func(msg string) {
		t.Helper()
		src := fmt.Sprintf(`source "amazon-ebs" "web" {
  instance_type = "t3.micro"
  source_ami_filter {
    filters     = { name = "debian-12-amd64-*" }
    owners      = ["136693071363"]
    most_recent = true
  }
  ssh_username = "admin"
  ami_name     = "web-${bake.version}"
}
build {
  name    = "site"
  sources = ["source.amazon-ebs.web"]
  provisioner "shell" { inline = ["echo %s | sudo tee /etc/bake-test"] }
}
`, msg)
		if err := os.MkdirAll(filepath.Join(dir, "web"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "web", "web.bake.hcl"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	row := func(version string) []string {
		t.Helper()
		r := bake(t, "rebuild", dir, "--nightly", "--version", version)
		t.Log(r.stdout)
		rows := table(r.stdout)
		if r.code != 0 || len(rows) != 1 {
			t.Fatalf("rebuild --nightly --version %s: %s", version, r)
		}
		return rows[0]
	}
	write("one")
	if got := row("a1"); got[2] != "rebuilt" || got[len(got)-1] != "never baked" {
		t.Fatalf("first nightly: %q", got)
	}
	if got := row("a2"); got[2] != "skipped" || !strings.HasPrefix(got[len(got)-1], "unchanged: web-a1 has fingerprint") {
		t.Fatalf("nightly right after: %q", got)
	}
	write("two")
	if got := row("a3"); got[2] != "rebuilt" || !strings.HasPrefix(got[len(got)-1], "inputs changed since a1") {
		t.Fatalf("nightly after a change: %q", got)
	}
	// bake outdated on AMIs is TestAMIUpdatesAndNewerBase.
	r := bake(t, "images", "site.amazon-ebs.web", "--kind", "amazon-ebs")
	if rows := table(r.stdout); r.code != 0 || len(rows) != 2 || rows[0][0] != "a3" || rows[1][0] != "a1" {
		t.Fatalf("images: %s", r)
	}
}
