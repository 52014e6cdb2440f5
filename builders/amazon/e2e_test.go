package amazon_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/bakehq/bake/bake"
)

const webBake = `
variable "apt_proxy" {
  type    = string
  default = ""
}

source "amazon-ebs" "web" {
  instance_type = "t3.micro"
  source_ami_filter {
    filters     = { name = "debian-12-amd64-*", virtualization-type = "hvm" }
    owners      = ["136693071363"]
    most_recent = true
  }
  ssh_username = "admin"
  ami_name     = "web-${bake.version}"
  ami_regions  = ["us-west-2"]
  encrypt_boot = true
  deprecate_at = "2031-01-01T00:00:00Z"
  tags          = { app = "web" }
  snapshot_tags = { backup = "no" }
  run_tags      = { purpose = "bake-e2e" }
}

build {
  sources = ["source.amazon-ebs.web"]
  provisioner "recipe" {
    name   = "nginx"
    params = { index_html = "<h1>baked ${bake.version}</h1>\n" }
    env    = var.apt_proxy == "" ? {} : { http_proxy = var.apt_proxy }
  }
}
`

// TestBakeNginxAMI bakes the nginx recipe into an AMI from the sim's
// Debian AMI over SSH with pinned host keys, copies it to us-west-2,
// launches an instance of the copy and fetches its page.
func TestBakeNginxAMI(t *testing.T) {
	c := startCloud(t)
	r := plan(t, writeBake(t, webBake), []string{"apt_proxy=" + aptProxy(t)}, "")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	res := r.run(ctx, t)
	if res.Err != nil {
		t.Fatalf("bake: %v\n%s", res.Err, r.events)
	}
	a := res.Artifact
	t.Logf("baked %s in %s: %+v", a.ID, res.Elapsed.Round(time.Millisecond), a.Extra)
	log := r.events.String()
	for _, want := range []string{"pinned from its console", "through sudo -n", "admits tcp/22 from 127.0.0.1/32 only", "encrypted copy"} {
		if !strings.Contains(log, want) {
			t.Errorf("the bake's log does not say %q:\n%s", want, log)
		}
	}

	if want := []string{"web-" + r.Version, "us-east-1:" + a.ID, a.Extra["ami_regions"]}; strings.Join(a.Names, " ") != strings.Join(want, " ") {
		t.Errorf("artifact names %v, want %v", a.Names, want)
	}

	// The AMI: private, tagged with its lineage.
	east := c.ec2In("us-east-1")
	imgs, err := east.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{a.ID}})
	if err != nil || len(imgs.Images) != 1 {
		t.Fatalf("describe %s: %v", a.ID, err)
	}
	im := imgs.Images[0]
	if aws.ToBool(im.Public) {
		t.Errorf("AMI %s is public", a.ID)
	}
	if got := aws.ToString(im.DeprecationTime); !strings.HasPrefix(got, "2031-01-01T00:00:00") {
		t.Errorf("AMI deprecation time %q, want deprecate_at 2031-01-01T00:00:00Z", got)
	}
	if got := aws.ToString(im.Name); got != "web-"+r.Version {
		t.Errorf("AMI name %q, want web-%s", got, r.Version)
	}
	tags := map[string]string{}
	for _, tg := range im.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	for k, want := range map[string]string{
		bake.LabelVersion: r.Version, bake.LabelRevision: "0123456789abcdef", bake.LabelFingerprint: a.Fingerprint,
		"dev.bake.source-ami": a.Parent, bake.LabelName: "amazon-ebs.web", "app": "web", bake.LabelRun: r.UUID,
	} {
		if tags[k] != want {
			t.Errorf("AMI tag %s = %q, want %q (tags %v)", k, tags[k], want, tags)
		}
	}
	if tags[bake.LabelCreated] == "" {
		t.Errorf("AMI has no build time tag %s: %v", bake.LabelCreated, tags)
	}

	// Nothing temporary is left; the AMIs and their snapshots are.
	left := c.leftovers(t, r.UUID, "us-east-1", "us-west-2")
	for _, l := range left {
		if !strings.Contains(l, "image") && !strings.Contains(l, "snapshot") {
			t.Errorf("left after a finished bake: %s", l)
		}
	}

	// An instance of the copy in us-west-2 serves the baked page.
	copyID := strings.TrimPrefix(a.Extra["ami_regions"], "us-west-2:")
	if !strings.HasPrefix(copyID, "ami-") {
		t.Fatalf("no copy in us-west-2: %v", a.Extra)
	}
	west := c.ec2In("us-west-2")
	run, err := west.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(copyID), InstanceType: types.InstanceTypeT3Micro,
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		t.Fatalf("launch the baked AMI: %v", err)
	}
	id := aws.ToString(run.Instances[0].InstanceId)
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer ccancel()
		if _, err := west.TerminateInstances(cctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
			t.Errorf("terminate %s: %v", id, err)
		}
	})
	var ip string
	waitUntil(t, "instance "+id+" running", time.Minute, func() bool {
		out, err := west.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
		if err != nil || len(out.Reservations) == 0 {
			return false
		}
		i := out.Reservations[0].Instances[0]
		ip = aws.ToString(i.PublicIpAddress)
		return i.State.Name == types.InstanceStateNameRunning
	})
	want := fmt.Sprintf("<h1>baked %s</h1>", r.Version)
	var body string
	waitUntil(t, "the page of "+id, time.Minute, func() bool {
		resp, err := http.Get("http://" + ip + "/")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		body = string(b)
		return resp.StatusCode == 200 && strings.Contains(body, want)
	})
	t.Logf("instance %s of %s serves %q", id, copyID, strings.TrimSpace(body))
}

func waitUntil(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
