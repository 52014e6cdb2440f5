package autoscaling_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	as "github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/bakehq/bake/sim/autoscaling"
	"github.com/bakehq/bake/sim/core"
	"github.com/bakehq/bake/sim/ec2"
	"github.com/bakehq/bake/sim/elbv2"
)

const appPort = 18080

var nextNet atomic.Int32

// fakeFleet is EC2 in memory: each instance is an HTTP app on its own
// loopback address, running a moment after launch.
type fakeFleet struct {
	t    *testing.T
	net  byte
	mu   sync.Mutex
	n    int
	apps map[string]*fakeApp
}

type fakeApp struct {
	info    ec2.InstanceInfo
	srv     *httptest.Server
	health  atomic.Int64
	running time.Time
	tags    map[string]string
}

func newFleet(t *testing.T) *fakeFleet {
	return &fakeFleet{t: t, net: byte(150 + nextNet.Add(1)), apps: map[string]*fakeApp{}}
}

func (f *fakeFleet) LaunchFromTemplate(_ context.Context, r ec2.LaunchRequest) (ec2.InstanceInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.TemplateName == "missing" {
		return ec2.InstanceInfo{}, errors.New("The specified launch template, with template name missing, does not exist.")
	}
	f.n++
	id := fmt.Sprintf("i-%017d", f.n)
	ip := netip.AddrFrom4([4]byte{127, 0, f.net, byte(f.n)}).String()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(appPort)))
	if err != nil {
		return ec2.InstanceInfo{}, err
	}
	a := &fakeApp{running: time.Now().Add(100 * time.Millisecond), tags: r.Tags}
	a.health.Store(200)
	a.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/health" {
			w.WriteHeader(int(a.health.Load()))
			return
		}
		fmt.Fprint(w, id)
	})}}
	a.srv.Start()
	f.t.Cleanup(a.srv.Close)
	az := "us-east-1a"
	if r.SubnetID == "subnet-b" {
		az = "us-east-1b"
	}
	a.info = ec2.InstanceInfo{ID: id, State: "pending", PublicIP: ip, PrivateIP: ip, SubnetID: r.SubnetID, AZ: az,
		LaunchTime: time.Now(), ImageID: "ami-1", Template: "lt-1", Version: "1"}
	f.apps[id] = a
	return a.info, nil
}

func (f *fakeFleet) TerminateInstance(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a := f.apps[id]; a != nil && a.info.State != "terminated" {
		a.info.State = "terminated"
		a.srv.Close()
	}
	return nil
}

func (f *fakeFleet) Instance(id string) (ec2.InstanceInfo, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.apps[id]
	if a == nil {
		return ec2.InstanceInfo{}, false
	}
	if a.info.State == "pending" && time.Now().After(a.running) {
		a.info.State = "running"
	}
	return a.info, true
}

func (f *fakeFleet) InstanceTarget(id string) (string, string, bool) {
	i, ok := f.Instance(id)
	return i.PublicIP, i.State, ok
}

func (f *fakeFleet) Subnets() []ec2.SubnetInfo {
	return []ec2.SubnetInfo{{ID: "subnet-a", AZ: "us-east-1a"}, {ID: "subnet-b", AZ: "us-east-1b"}}
}

func (f *fakeFleet) Subnet(id string) (string, string, bool) {
	for _, s := range f.Subnets() {
		if s.ID == id {
			return s.AZ, "vpc-1", true
		}
	}
	return "", "", false
}

func (f *fakeFleet) app(id string) *fakeApp {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.apps[id]
}

type env struct {
	as    *as.Client
	elb   *elb.Client
	fleet *fakeFleet
	srv   *core.Server
}

func newEnv(t *testing.T) *env { return newEnvWith(t, newFleet(t), nil) }

func newEnvWith(t *testing.T, fleet *fakeFleet, store *core.Store) *env {
	t.Helper()
	srv := core.NewServer(core.Config{Store: store, Loopback: core.NewLoopback(
		netip.AddrFrom4([4]byte{127, 0, fleet.net, 200}), netip.AddrFrom4([4]byte{127, 0, fleet.net, 254}))})
	e, esvc, err := elbv2.New(elbv2.Config{Server: srv, Instances: fleet, Subnets: fleet})
	if err != nil {
		t.Fatal(err)
	}
	_, asvc, err := autoscaling.New(autoscaling.Config{Server: srv, Fleet: fleet, TargetGroups: e, Interval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*core.Service{esvc, asvc} {
		if err := srv.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	creds := credentials.NewStaticCredentialsProvider("AKIDSIM", "secret", "")
	return &env{
		as:    as.New(as.Options{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), Credentials: creds}),
		elb:   elb.New(elb.Options{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), Credentials: creds}),
		fleet: fleet, srv: srv,
	}
}

type result[T any] struct {
	v   T
	err error
}

func do[T any](v T, err error) result[T] { return result[T]{v, err} }

func (r result[T]) must(t *testing.T) T {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.v
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// balancer makes a target group in use by a listener and returns the
// target group's ARN and the listener's URL.
func (e *env) balancer(t *testing.T, ctx context.Context) (string, string) {
	t.Helper()
	tg := do(e.elb.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("app"), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(appPort), VpcId: aws.String("vpc-1"), HealthCheckPath: aws.String("/health"),
		HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2),
		HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2)})).must(t).TargetGroups[0]
	do(e.elb.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn,
		Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("1")}}})).must(t)
	lb := do(e.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("app"), Subnets: []string{"subnet-a", "subnet-b"}})).must(t).LoadBalancers[0]
	do(e.elb.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Port: aws.Int32(8080), Protocol: elbtypes.ProtocolEnumHttp,
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: tg.TargetGroupArn}}})).must(t)
	ip := netip.AddrFrom4([4]byte{127, 0, e.fleet.net, 200}).String()
	return aws.ToString(tg.TargetGroupArn), "http://" + net.JoinHostPort(ip, "8080") + "/"
}

func (e *env) group(t *testing.T, ctx context.Context, name string) astypes.AutoScalingGroup {
	t.Helper()
	out := do(e.as.DescribeAutoScalingGroups(ctx, &as.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})).must(t)
	if len(out.AutoScalingGroups) != 1 {
		t.Fatalf("group %s: %d groups described", name, len(out.AutoScalingGroups))
	}
	return out.AutoScalingGroups[0]
}

// waitFor polls cond every 100ms for up to limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func inService(g astypes.AutoScalingGroup) []string {
	var ids []string
	for _, i := range g.Instances {
		if i.LifecycleState == astypes.LifecycleStateInService {
			ids = append(ids, aws.ToString(i.InstanceId))
		}
	}
	return ids
}

func (e *env) healthy(t *testing.T, ctx context.Context, tgArn string) []string {
	t.Helper()
	h := do(e.elb.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(tgArn)})).must(t)
	var ids []string
	for _, d := range h.TargetHealthDescriptions {
		if d.TargetHealth.State == elbtypes.TargetHealthStateEnumHealthy {
			ids = append(ids, aws.ToString(d.Target.Id))
		}
	}
	return ids
}

// TestGroupBehindALoadBalancer: a group of 2 registers with its target
// group, traffic reaches both, an instance whose app fails its health
// check is replaced, and scale-in drains then terminates.
func TestGroupBehindALoadBalancer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	tgArn, url := e.balancer(t, ctx)
	do(e.as.CreateAutoScalingGroup(ctx, &as.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("web"), MinSize: aws.Int32(1), MaxSize: aws.Int32(4), DesiredCapacity: aws.Int32(2),
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("web"), Version: aws.String("$Latest")},
		VPCZoneIdentifier: aws.String("subnet-a,subnet-b"), TargetGroupARNs: []string{tgArn},
		HealthCheckType: aws.String("ELB"), HealthCheckGracePeriod: aws.Int32(0),
		Tags: []astypes.Tag{{Key: aws.String("team"), Value: aws.String("sre"), PropagateAtLaunch: aws.Bool(true)}},
	})).must(t)

	var first []string
	waitFor(t, 20*time.Second, "two healthy targets", func() bool {
		first = e.healthy(t, ctx, tgArn)
		return len(first) == 2
	})
	g := e.group(t, ctx, "web")
	if len(inService(g)) != 2 || len(g.AvailabilityZones) != 2 || aws.ToString(g.HealthCheckType) != "ELB" {
		t.Errorf("group %+v", g)
	}
	if azs := []string{aws.ToString(g.Instances[0].AvailabilityZone), aws.ToString(g.Instances[1].AvailabilityZone)}; azs[0] == azs[1] {
		t.Errorf("both instances in %s; the group should spread across AZs", azs[0])
	}
	if tags := e.fleet.app(first[0]).tags; tags["team"] != "sre" || tags["aws:autoscaling:groupName"] != "web" {
		t.Errorf("launch tags %v", tags)
	}
	seen := map[string]bool{}
	for range 6 {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		seen[string(b)] = true
	}
	if len(seen) != 2 {
		t.Errorf("requests through the load balancer reached %v, want both instances", seen)
	}

	sick := first[0]
	e.fleet.app(sick).health.Store(500)
	waitFor(t, 30*time.Second, "the unhealthy instance to be replaced", func() bool {
		g := e.group(t, ctx, "web")
		ids := inService(g)
		return len(ids) == 2 && !slices.Contains(ids, sick) && len(g.Instances) == 2
	})
	if i, _ := e.fleet.Instance(sick); i.State != "terminated" {
		t.Errorf("replaced instance is %s, want terminated", i.State)
	}
	acts := do(e.as.DescribeScalingActivities(ctx, &as.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("web")})).must(t).Activities
	var terminated bool
	for _, a := range acts {
		if aws.ToString(a.Description) == "Terminating EC2 instance: "+sick {
			terminated = strings.Contains(aws.ToString(a.Cause), "ELB system health check failure") && a.StatusCode == astypes.ScalingActivityStatusCodeSuccessful
		}
	}
	if !terminated || len(acts) < 4 {
		t.Errorf("activities do not show the health replacement: %+v", acts)
	}
	waitFor(t, 20*time.Second, "the replacement to turn healthy", func() bool { return len(e.healthy(t, ctx, tgArn)) == 2 })

	do(e.as.SetDesiredCapacity(ctx, &as.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("web"), DesiredCapacity: aws.Int32(1)})).must(t)
	waitFor(t, 20*time.Second, "scale-in to 1", func() bool {
		g := e.group(t, ctx, "web")
		return len(g.Instances) == 1 && len(e.healthy(t, ctx, tgArn)) == 1
	})

	one := e.group(t, ctx, "web").Instances[0].InstanceId
	out := do(e.as.TerminateInstanceInAutoScalingGroup(ctx, &as.TerminateInstanceInAutoScalingGroupInput{InstanceId: one,
		ShouldDecrementDesiredCapacity: aws.Bool(false)})).must(t)
	if !strings.Contains(aws.ToString(out.Activity.Description), aws.ToString(one)) {
		t.Errorf("terminate activity %+v", out.Activity)
	}
	waitFor(t, 20*time.Second, "a replacement after TerminateInstanceInAutoScalingGroup", func() bool {
		ids := inService(e.group(t, ctx, "web"))
		return len(ids) == 1 && ids[0] != aws.ToString(one)
	})

	if _, err := e.as.DeleteAutoScalingGroup(ctx, &as.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("web")}); code(err) != "ResourceInUse" {
		t.Errorf("delete a group with instances: %v", err)
	}
	do(e.as.DeleteAutoScalingGroup(ctx, &as.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("web"), ForceDelete: aws.Bool(true)})).must(t)
	waitFor(t, 20*time.Second, "the force-deleted group to go", func() bool {
		out := do(e.as.DescribeAutoScalingGroups(ctx, &as.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"web"}})).must(t)
		return len(out.AutoScalingGroups) == 0
	})
	for id := range e.fleet.apps {
		if i, _ := e.fleet.Instance(id); i.State != "terminated" {
			t.Errorf("instance %s is %s after the group was deleted", id, i.State)
		}
	}
}

func TestGroupAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	tgArn, _ := e.balancer(t, ctx)
	create := func(name string, min, max, desired int32) error {
		_, err := e.as.CreateAutoScalingGroup(ctx, &as.CreateAutoScalingGroupInput{
			AutoScalingGroupName: aws.String(name), MinSize: aws.Int32(min), MaxSize: aws.Int32(max), DesiredCapacity: aws.Int32(desired),
			LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String("lt-1")},
			AvailabilityZones: []string{"us-east-1a"},
		})
		return err
	}
	if err := create("api", 0, 2, 0); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"duplicate", create("api", 0, 2, 0), "AlreadyExists"},
		{"desired over max", create("x", 0, 1, 3), "ValidationError"},
		{"min over max", create("y", 3, 1, 1), "ValidationError"},
		{"no template", func() error {
			_, err := e.as.CreateAutoScalingGroup(ctx, &as.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("z"),
				MinSize: aws.Int32(0), MaxSize: aws.Int32(1), AvailabilityZones: []string{"us-east-1a"}})
			return err
		}(), "ValidationError"},
		{"unknown subnet", func() error {
			_, err := e.as.CreateAutoScalingGroup(ctx, &as.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("s"),
				MinSize: aws.Int32(0), MaxSize: aws.Int32(1), VPCZoneIdentifier: aws.String("subnet-zz"),
				LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String("lt-1")}})
			return err
		}(), "ValidationError"},
		{"unknown target group", func() error {
			_, err := e.as.AttachLoadBalancerTargetGroups(ctx, &as.AttachLoadBalancerTargetGroupsInput{AutoScalingGroupName: aws.String("api"),
				TargetGroupARNs: []string{"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/none/0123456789abcdef"}})
			return err
		}(), "ValidationError"},
		{"desired over max later", func() error {
			_, err := e.as.SetDesiredCapacity(ctx, &as.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("api"), DesiredCapacity: aws.Int32(5)})
			return err
		}(), "ValidationError"},
		{"unknown group", func() error {
			_, err := e.as.SetDesiredCapacity(ctx, &as.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("nope"), DesiredCapacity: aws.Int32(1)})
			return err
		}(), "ValidationError"},
		{"unknown instance", func() error {
			_, err := e.as.TerminateInstanceInAutoScalingGroup(ctx, &as.TerminateInstanceInAutoScalingGroupInput{InstanceId: aws.String("i-nope"),
				ShouldDecrementDesiredCapacity: aws.Bool(true)})
			return err
		}(), "ValidationError"},
	} {
		if code(tc.err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, tc.err, tc.want)
		}
	}

	do(e.as.UpdateAutoScalingGroup(ctx, &as.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("api"), MaxSize: aws.Int32(3),
		HealthCheckGracePeriod: aws.Int32(60), LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String("lt-1"), Version: aws.String("2")}})).must(t)
	do(e.as.AttachLoadBalancerTargetGroups(ctx, &as.AttachLoadBalancerTargetGroupsInput{AutoScalingGroupName: aws.String("api"), TargetGroupARNs: []string{tgArn}})).must(t)
	g := e.group(t, ctx, "api")
	if aws.ToInt32(g.MaxSize) != 3 || aws.ToInt32(g.HealthCheckGracePeriod) != 60 || aws.ToString(g.LaunchTemplate.Version) != "2" ||
		len(g.TargetGroupARNs) != 1 {
		t.Errorf("updated group %+v", g)
	}
	tgs := do(e.as.DescribeLoadBalancerTargetGroups(ctx, &as.DescribeLoadBalancerTargetGroupsInput{AutoScalingGroupName: aws.String("api")})).must(t)
	if len(tgs.LoadBalancerTargetGroups) != 1 {
		t.Errorf("target groups %+v", tgs.LoadBalancerTargetGroups)
	}
	do(e.as.DetachLoadBalancerTargetGroups(ctx, &as.DetachLoadBalancerTargetGroupsInput{AutoScalingGroupName: aws.String("api"), TargetGroupARNs: []string{tgArn}})).must(t)

	do(e.as.CreateOrUpdateTags(ctx, &as.CreateOrUpdateTagsInput{Tags: []astypes.Tag{
		{ResourceId: aws.String("api"), ResourceType: aws.String("auto-scaling-group"), Key: aws.String("env"), Value: aws.String("prod"), PropagateAtLaunch: aws.Bool(true)},
		{ResourceId: aws.String("api"), ResourceType: aws.String("auto-scaling-group"), Key: aws.String("tier"), Value: aws.String("web")},
	}})).must(t)
	tags := do(e.as.DescribeTags(ctx, &as.DescribeTagsInput{Filters: []astypes.Filter{{Name: aws.String("key"), Values: []string{"env"}}}})).must(t).Tags
	if len(tags) != 1 || aws.ToString(tags[0].Value) != "prod" || !aws.ToBool(tags[0].PropagateAtLaunch) {
		t.Errorf("tags %+v", tags)
	}
	do(e.as.DeleteTags(ctx, &as.DeleteTagsInput{Tags: []astypes.Tag{{ResourceId: aws.String("api"), ResourceType: aws.String("auto-scaling-group"), Key: aws.String("env")}}})).must(t)
	if g := e.group(t, ctx, "api"); len(g.Tags) != 1 || aws.ToString(g.Tags[0].Key) != "tier" {
		t.Errorf("group tags after delete %+v", g.Tags)
	}
	filtered := do(e.as.DescribeAutoScalingGroups(ctx, &as.DescribeAutoScalingGroupsInput{Filters: []astypes.Filter{{Name: aws.String("tag:tier"), Values: []string{"web"}}}})).must(t)
	if len(filtered.AutoScalingGroups) != 1 {
		t.Errorf("tag filter found %d groups", len(filtered.AutoScalingGroups))
	}
	do(e.as.DeleteAutoScalingGroup(ctx, &as.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("api")})).must(t)
}

func TestLaunchFailureIsAFailedActivity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	do(e.as.CreateAutoScalingGroup(ctx, &as.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("broken"), MinSize: aws.Int32(1), MaxSize: aws.Int32(1),
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("missing")},
		AvailabilityZones: []string{"us-east-1a"},
	})).must(t)
	waitFor(t, 5*time.Second, "a failed launch activity", func() bool {
		acts := do(e.as.DescribeScalingActivities(ctx, &as.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("broken")})).must(t).Activities
		return len(acts) > 0 && acts[0].StatusCode == astypes.ScalingActivityStatusCodeFailed &&
			strings.Contains(aws.ToString(acts[0].StatusMessage), "does not exist")
	})
	e.srv.Faults().SetFail("autoscaling:CreateAutoScalingGroup", "")
	_, err := e.as.CreateAutoScalingGroup(ctx, &as.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("f"), MinSize: aws.Int32(0), MaxSize: aws.Int32(0),
		LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String("lt-1")}, AvailabilityZones: []string{"us-east-1a"}})
	if code(err) != "InternalError" {
		t.Errorf("injected failure: %v", err)
	}
}

func TestGroupsPersistAcrossRestarts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	fleet := newFleet(t)
	e := newEnvWith(t, fleet, &core.Store{Dir: dir})
	do(e.as.CreateAutoScalingGroup(ctx, &as.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("keep"), MinSize: aws.Int32(1), MaxSize: aws.Int32(1),
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String("lt-1")},
		AvailabilityZones: []string{"us-east-1a"},
	})).must(t)
	var id string
	waitFor(t, 10*time.Second, "the instance in service", func() bool {
		ids := inService(e.group(t, ctx, "keep"))
		if len(ids) == 1 {
			id = ids[0]
		}
		return id != ""
	})
	if err := e.srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	e2 := newEnvWith(t, fleet, &core.Store{Dir: dir})
	time.Sleep(500 * time.Millisecond) // a few reconciler rounds: nothing to do
	if ids := inService(e2.group(t, ctx, "keep")); len(ids) != 1 || ids[0] != id {
		t.Errorf("after a restart the group has %v, want just %s", ids, id)
	}
}
