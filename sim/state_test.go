package sim_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/bakehq/bake/sim"
	"github.com/bakehq/bake/sim/core"
)

// TestStatePersists restarts a sim on the same --state directory: key
// pairs, security groups, launch templates, tags and parameters are kept;
// instances, whose containers went with the first sim, are terminated.
func TestStatePersists(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()

	first, _ := startFakeSim(t, sim.Options{StateDir: dir})
	c := ec2.NewFromConfig(sdkConfig(first.Endpoint()))
	p := ssm.NewFromConfig(sdkConfig(first.Endpoint()))
	if _, err := c.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("kept")}); err != nil {
		t.Fatal(err)
	}
	sg, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("kept"), Description: aws.String("d")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{*sg.GroupId}, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("kept"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{InstanceType: types.InstanceTypeT3Micro}}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/kept"), Value: aws.String("1"), Type: ssmtypes.ParameterTypeString}); err != nil {
		t.Fatal(err)
	}
	imgs, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"136693071363"}})
	if err != nil {
		t.Fatal(err)
	}
	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: imgs.Images[0].ImageId, MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	id := *run.Instances[0].InstanceId
	if err := first.EC2.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := first.Close(cctx); err != nil {
		t.Fatal(err)
	}

	second, _ := startFakeSim(t, sim.Options{StateDir: dir})
	c = ec2.NewFromConfig(sdkConfig(second.Endpoint()))
	p = ssm.NewFromConfig(sdkConfig(second.Endpoint()))
	if _, err := c.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{KeyNames: []string{"kept"}}); err != nil {
		t.Fatalf("key pair: %v", err)
	}
	sgs, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{*sg.GroupId}})
	if err != nil || len(sgs.SecurityGroups[0].Tags) != 1 {
		t.Fatalf("security group: %v %+v", err, sgs)
	}
	if _, err := c.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"kept"}}); err != nil {
		t.Fatalf("launch template: %v", err)
	}
	if out, err := p.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/kept")}); err != nil || *out.Parameter.Value != "1" {
		t.Fatalf("parameter: %v", err)
	}
	d, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	if st := d.Reservations[0].Instances[0].State.Name; st != types.InstanceStateNameTerminated {
		t.Fatalf("instance after a restart is %s, want terminated", st)
	}
	if _, err := c.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("kept")}); apiCode(err) != "InvalidKeyPair.Duplicate" {
		t.Fatalf("duplicate key pair: %v", err)
	}
}

// TestFaultInjection: --latency delays a named call, --fail makes it fail
// with a code, and a test can mark an instance's app unhealthy.
func TestFaultInjection(t *testing.T) {
	t.Parallel()
	faults := core.NewFaults()
	key, d, err := core.ParseLatency("ec2:DescribeVpcs=300ms")
	if err != nil {
		t.Fatal(err)
	}
	faults.SetLatency(key, d)
	key, code, err := core.ParseFail("ec2:CreateKeyPair=RequestLimitExceeded")
	if err != nil {
		t.Fatal(err)
	}
	faults.SetFail(key, code)
	s, _ := startFakeSim(t, sim.Options{Faults: faults})
	ctx := context.Background()
	c := ec2.NewFromConfig(sdkConfig(s.Endpoint()), func(o *ec2.Options) { o.RetryMaxAttempts = 1 })

	start := time.Now()
	if _, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}); err != nil {
		t.Fatal(err)
	}
	if e := time.Since(start); e < 300*time.Millisecond {
		t.Fatalf("DescribeVpcs took %s, want the injected 300ms", e)
	}
	if _, err := c.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("k")}); apiCode(err) != "RequestLimitExceeded" {
		t.Fatalf("CreateKeyPair: %v, want RequestLimitExceeded", err)
	}

	// At run time, through the sim's own endpoint.
	post := func(path string) {
		t.Helper()
		resp, err := http.Post(s.Endpoint()+path, "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("POST %s: %s", path, resp.Status)
		}
	}
	post("/_sim/faults?clear=1")
	if _, err := c.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("k")}); err != nil {
		t.Fatalf("after clearing: %v", err)
	}
	post("/_sim/faults?fail=ec2:DescribeRegions")
	_, err = c.DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	var re interface{ HTTPStatusCode() int }
	if apiCode(err) != "InternalError" || !errors.As(err, &re) || re.HTTPStatusCode() != 500 {
		t.Fatalf("DescribeRegions: %v, want InternalError 500", err)
	}
	post("/_sim/instances/i-0123456789abcdef0/unhealthy?value=true")
	if !s.Server.Faults().Unhealthy("i-0123456789abcdef0") {
		t.Fatal("the instance is not marked unhealthy")
	}
}

// TestRunInstancesIdempotent: a RunInstances retried with its ClientToken
// returns the first reservation instead of launching again.
func TestRunInstancesIdempotent(t *testing.T) {
	t.Parallel()
	s, rt := startFakeSim(t, sim.Options{})
	ctx := context.Background()
	c := ec2.NewFromConfig(sdkConfig(s.Endpoint()))
	imgs, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"136693071363"}})
	if err != nil {
		t.Fatal(err)
	}
	in := &ec2.RunInstancesInput{ImageId: imgs.Images[0].ImageId, MinCount: aws.Int32(2), MaxCount: aws.Int32(2), ClientToken: aws.String("retry-me")}
	a, err := c.RunInstances(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.RunInstances(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if *a.ReservationId != *b.ReservationId || len(b.Instances) != 2 || *a.Instances[0].InstanceId != *b.Instances[0].InstanceId {
		t.Fatalf("second call: %s %d, want the first reservation %s", *b.ReservationId, len(b.Instances), *a.ReservationId)
	}
	if err := s.EC2.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if n := rt.count(); n != 2 {
		t.Fatalf("%d machines, want 2", n)
	}
}
