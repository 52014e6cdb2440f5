package amazon

import (
	"context"
	"encoding/base64"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/bakehq/bake/bake"
)

func testState() *state {
	return &state{
		cfg: &Config{name: "web", runUUID: "0123456789-run", InstanceType: "t3.micro", SSHPort: 22,
			RunTags: map[string]string{"team": "sre", TagRun: "spoofed"}, UserData: "#!/bin/sh\necho hi\n",
			Tags: map[string]string{"app": "web", bake.LabelVersion: "spoofed"}},
		bakeID: "abcd1234", sourceAMI: "ami-1", launchAMI: "ami-1", keyName: "bake-web-01234567-abcd1234", groupID: "sg-1",
		meta: bake.ArtifactMeta{Labels: map[string]string{bake.LabelVersion: "1.2.3", bake.LabelFingerprint: "sha256:f"}},
	}
}

// The build instance requires IMDSv2, uses the temporary key pair and
// group, and carries the run's tags, which run_tags cannot override.
func TestRunInstancesInput(t *testing.T) {
	t.Parallel()
	s := testState()
	in, _ := runInstancesInput(s)
	if in.MetadataOptions == nil || in.MetadataOptions.HttpTokens != types.HttpTokensStateRequired {
		t.Errorf("IMDSv2 is not required: %+v", in.MetadataOptions)
	}
	if aws.ToString(in.KeyName) != s.keyName || len(in.SecurityGroupIds) != 1 || in.SecurityGroupIds[0] != "sg-1" {
		t.Errorf("key %q groups %v, want the temporary ones", aws.ToString(in.KeyName), in.SecurityGroupIds)
	}
	if aws.ToString(in.ClientToken) == "" {
		t.Error("no client token: a retried RunInstances could launch twice")
	}
	if ud, _ := base64.StdEncoding.DecodeString(aws.ToString(in.UserData)); string(ud) != s.cfg.UserData {
		t.Errorf("user data %q", ud)
	}
	tags := map[string]string{}
	for _, tg := range in.TagSpecifications[0].Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if tags[TagRun] != s.cfg.runUUID || tags[TagBake] != s.bakeID || tags["team"] != "sre" {
		t.Errorf("instance tags %v", tags)
	}

	// associate_public_ip_address moves the network settings to an interface.
	s.cfg.AssociatePublicIPAddress = aws.Bool(false)
	s.subnetID = "subnet-1"
	in, _ = runInstancesInput(s)
	if len(in.SecurityGroupIds) != 0 || in.SubnetId != nil || len(in.NetworkInterfaces) != 1 ||
		aws.ToBool(in.NetworkInterfaces[0].AssociatePublicIpAddress) || aws.ToString(in.NetworkInterfaces[0].SubnetId) != "subnet-1" {
		t.Errorf("network interface %+v, groups %v", in.NetworkInterfaces, in.SecurityGroupIds)
	}
}

// The AMI's tags carry the lineage, which the user's tags cannot override.
func TestImageTags(t *testing.T) {
	t.Parallel()
	s := testState()
	s.cl = &clients{}
	s.cl.cfg.Region = "us-east-1"
	tags := s.imageTags()
	for k, want := range map[string]string{"app": "web", bake.LabelVersion: "1.2.3", bake.LabelFingerprint: "sha256:f",
		"dev.bake.source-ami": "ami-1", TagRun: s.cfg.runUUID, TagBake: s.bakeID} {
		if tags[k] != want {
			t.Errorf("tag %s = %q, want %q", k, tags[k], want)
		}
	}
}

// The temporary group admits only the given sources, never 0.0.0.0/0 by
// default: the default source is the address EC2 is reached from.
func TestSSHPermission(t *testing.T) {
	t.Parallel()
	cidr, err := callerCIDR(context.Background(), "127.0.0.1:4566")
	if err != nil {
		t.Fatal(err)
	}
	if cidr != "127.0.0.1/32" {
		t.Errorf("caller cidr towards 127.0.0.1 is %s", cidr)
	}
	p := sshPermission(22, []string{cidr, "2001:db8::1/128"})
	if aws.ToInt32(p.FromPort) != 22 || aws.ToInt32(p.ToPort) != 22 || aws.ToString(p.IpProtocol) != "tcp" {
		t.Errorf("permission %+v", p)
	}
	if len(p.IpRanges) != 1 || aws.ToString(p.IpRanges[0].CidrIp) != "127.0.0.1/32" || len(p.Ipv6Ranges) != 1 {
		t.Errorf("ranges %+v %+v", p.IpRanges, p.Ipv6Ranges)
	}
}

func TestSSHHost(t *testing.T) {
	t.Parallel()
	i := types.Instance{InstanceId: aws.String("i-1"), PrivateIpAddress: aws.String("10.0.0.5")}
	if h, err := sshHost("", i); err != nil || h != "10.0.0.5" {
		t.Errorf("default without a public ip: %q %v", h, err)
	}
	if _, err := sshHost("public_ip", i); err == nil || !bake.IsBadInput(err) {
		t.Errorf("public_ip without one: %v", err)
	}
	i.PublicIpAddress = aws.String("203.0.113.9")
	if h, _ := sshHost("", i); h != "203.0.113.9" {
		t.Errorf("default with a public ip: %q", h)
	}
}
