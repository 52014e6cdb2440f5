package elbv2_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
	"github.com/miekg/dns"

	"github.com/bakehq/bake/sim/core"
	"github.com/bakehq/bake/sim/elbv2"
	"github.com/bakehq/bake/sim/route53/dnsserver"
)

var nextRange atomic.Int32

// loopbackRange gives each test server its own /24 of loopback addresses,
// so parallel tests never bind the same address.
func loopbackRange() *core.Loopback {
	n := 200 + nextRange.Add(1)
	return core.NewLoopback(netip.AddrFrom4([4]byte{127, 0, byte(n), 1}), netip.AddrFrom4([4]byte{127, 0, byte(n), 254}))
}

// fakeEC2 is the two things ELBv2 asks EC2: instances and subnets.
type fakeEC2 struct {
	mu        sync.Mutex
	instances map[string]string // id -> address
	states    map[string]string
}

func (f *fakeEC2) InstanceTarget(id string) (string, string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.instances[id]
	st := f.states[id]
	if st == "" {
		st = "running"
	}
	return a, st, ok
}

func (f *fakeEC2) Subnet(id string) (string, string, bool) {
	az, ok := map[string]string{"subnet-a": "us-east-1a", "subnet-b": "us-east-1b", "subnet-c": "us-east-1b"}[id]
	return az, "vpc-1", ok
}

type env struct {
	c    *elb.Client
	ec2  *fakeEC2
	dns  *dnsserver.Server
	srv  *core.Server
	url  string
	elbv *elbv2.ELBv2
}

func newEnv(t *testing.T, store *core.Store) *env {
	t.Helper()
	d := dnsserver.New()
	if err := d.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	srv := core.NewServer(core.Config{Store: store, Loopback: loopbackRange()})
	f := &fakeEC2{instances: map[string]string{}, states: map[string]string{}}
	e, svc, err := elbv2.New(elbv2.Config{Server: srv, Instances: f, Subnets: f, DNS: d})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Add(svc); err != nil {
		t.Fatal(err)
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
	c := elb.New(elb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(hs.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDSIM", "secret", ""),
	})
	return &env{c: c, ec2: f, dns: d, srv: srv, url: hs.URL, elbv: e}
}

// app is an instance's HTTP app: it names itself; /health answers code.
type app struct {
	*httptest.Server
	id   string
	mu   sync.Mutex
	code int
}

func (e *env) newApp(t *testing.T, id string) *app {
	t.Helper()
	a := &app{id: id, code: 200}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			a.mu.Lock()
			w.WriteHeader(a.code)
			a.mu.Unlock()
			return
		}
		fmt.Fprint(w, a.id)
	}))
	t.Cleanup(a.Close)
	host, _, _ := net.SplitHostPort(a.Listener.Addr().String())
	e.ec2.mu.Lock()
	e.ec2.instances[id] = host
	e.ec2.mu.Unlock()
	return a
}

func (a *app) port() int32 {
	_, p, _ := net.SplitHostPort(a.Listener.Addr().String())
	n, _ := strconv.Atoi(p)
	return int32(n)
}

func (a *app) setCode(c int) {
	a.mu.Lock()
	a.code = c
	a.mu.Unlock()
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
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

func (e *env) lb(t *testing.T, ctx context.Context, name string) types.LoadBalancer {
	t.Helper()
	out := do(e.c.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{
		Name: aws.String(name), Subnets: []string{"subnet-a", "subnet-b"},
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("sre")}},
	})).must(t)
	return out.LoadBalancers[0]
}

func (e *env) tg(t *testing.T, ctx context.Context, name string) types.TargetGroup {
	t.Helper()
	out := do(e.c.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{
		Name: aws.String(name), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: aws.String("vpc-1"),
		HealthCheckPath: aws.String("/health"), HealthCheckIntervalSeconds: aws.Int32(5),
		HealthCheckTimeoutSeconds: aws.Int32(2), HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2),
		Matcher: &types.Matcher{HttpCode: aws.String("200-299")},
	})).must(t)
	return out.TargetGroups[0]
}

func (e *env) waitHealth(t *testing.T, ctx context.Context, tgArn, id string, want types.TargetHealthStateEnum) types.TargetHealthDescription {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last []types.TargetHealthDescription
	for time.Now().Before(deadline) {
		out := do(e.c.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(tgArn)})).must(t)
		last = out.TargetHealthDescriptions
		for _, d := range last {
			if aws.ToString(d.Target.Id) == id && d.TargetHealth.State == want {
				return d
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("target %s never became %s: %+v", id, want, last)
	return types.TargetHealthDescription{}
}

// resolve asks the sim's DNS for name's A record.
func (e *env) resolve(t *testing.T, name string) string {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeA)
	r, err := dns.Exchange(m, e.dns.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Answer) == 0 {
		t.Fatalf("%s does not resolve: %v", name, r)
	}
	return r.Answer[0].(*dns.A).A.String()
}

func TestLoadBalancerLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	lb := e.lb(t, ctx, "web")
	if lb.State.Code != types.LoadBalancerStateEnumProvisioning || lb.Type != types.LoadBalancerTypeEnumApplication ||
		!strings.HasPrefix(aws.ToString(lb.DNSName), "web-") || !strings.HasSuffix(aws.ToString(lb.DNSName), ".us-east-1.elb.amazonaws.com") ||
		!strings.HasPrefix(aws.ToString(lb.LoadBalancerArn), "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/") {
		t.Errorf("created load balancer %+v", lb)
	}
	again := e.lb(t, ctx, "web")
	if aws.ToString(again.LoadBalancerArn) != aws.ToString(lb.LoadBalancerArn) {
		t.Errorf("an identical create made a second load balancer")
	}
	desc := do(e.c.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{"web"}})).must(t)
	if len(desc.LoadBalancers) != 1 || desc.LoadBalancers[0].State.Code != types.LoadBalancerStateEnumActive ||
		len(desc.LoadBalancers[0].AvailabilityZones) != 2 {
		t.Errorf("described %+v", desc.LoadBalancers)
	}
	if ip := e.resolve(t, aws.ToString(lb.DNSName)); !strings.HasPrefix(ip, "127.") {
		t.Errorf("DNS name resolves to %s, want a loopback address", ip)
	}
	tags := do(e.c.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: []string{aws.ToString(lb.LoadBalancerArn)}})).must(t)
	if len(tags.TagDescriptions) != 1 || len(tags.TagDescriptions[0].Tags) != 1 || aws.ToString(tags.TagDescriptions[0].Tags[0].Value) != "sre" {
		t.Errorf("tags %+v", tags.TagDescriptions)
	}
	do(e.c.AddTags(ctx, &elb.AddTagsInput{ResourceArns: []string{aws.ToString(lb.LoadBalancerArn)},
		Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}})).must(t)
	do(e.c.RemoveTags(ctx, &elb.RemoveTagsInput{ResourceArns: []string{aws.ToString(lb.LoadBalancerArn)}, TagKeys: []string{"team"}})).must(t)
	tags = do(e.c.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: []string{aws.ToString(lb.LoadBalancerArn)}})).must(t)
	if got := tags.TagDescriptions[0].Tags; len(got) != 1 || aws.ToString(got[0].Key) != "env" {
		t.Errorf("tags after add/remove %+v", got)
	}
	attrs := do(e.c.ModifyLoadBalancerAttributes(ctx, &elb.ModifyLoadBalancerAttributesInput{
		LoadBalancerArn: lb.LoadBalancerArn,
		Attributes:      []types.LoadBalancerAttribute{{Key: aws.String("deletion_protection.enabled"), Value: aws.String("true")}}})).must(t)
	if len(attrs.Attributes) < 3 {
		t.Errorf("attributes %+v", attrs.Attributes)
	}
	if _, err := e.c.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: lb.LoadBalancerArn}); apiCode(err) != "OperationNotPermitted" {
		t.Errorf("delete with deletion protection: %v", err)
	}
	do(e.c.ModifyLoadBalancerAttributes(ctx, &elb.ModifyLoadBalancerAttributesInput{
		LoadBalancerArn: lb.LoadBalancerArn,
		Attributes:      []types.LoadBalancerAttribute{{Key: aws.String("deletion_protection.enabled"), Value: aws.String("false")}}})).must(t)
	do(e.c.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: lb.LoadBalancerArn})).must(t)
	if _, err := e.c.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{aws.ToString(lb.LoadBalancerArn)}}); apiCode(err) != "LoadBalancerNotFound" {
		t.Errorf("describe deleted: %v", err)
	}
}

// TestMissingRequiredField posts a call the SDKs would refuse to send.
func TestMissingRequiredField(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	resp, err := http.PostForm(e.url, url.Values{"Action": {"CreateListener"}, "Version": {"2015-12-01"},
		"LoadBalancerArn": {"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x/1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "<Code>ValidationError</Code>") {
		t.Errorf("missing DefaultActions: %d %s", resp.StatusCode, body)
	}
	resp, err = http.PostForm(e.url, url.Values{"Action": {"CreateLoadBalancerz"}, "Version": {"2015-12-01"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "<Code>InvalidAction</Code>") {
		t.Errorf("unknown action: %d %s", resp.StatusCode, body)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	tg := e.tg(t, ctx, "tg")
	lb := e.lb(t, ctx, "lb")
	for _, tc := range []struct {
		name string
		call func() error
		code string
	}{
		{"lb name too long", func() error {
			_, err := e.c.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String(strings.Repeat("a", 33)), Subnets: []string{"subnet-a", "subnet-b"}})
			return err
		}, "ValidationError"},
		{"lb one subnet", func() error {
			_, err := e.c.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("one"), Subnets: []string{"subnet-a"}})
			return err
		}, "ValidationError"},
		{"lb same az", func() error {
			_, err := e.c.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("same"), Subnets: []string{"subnet-b", "subnet-c"}})
			return err
		}, "InvalidConfigurationRequest"},
		{"lb unknown subnet", func() error {
			_, err := e.c.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("x"), Subnets: []string{"subnet-a", "subnet-zz"}})
			return err
		}, "SubnetNotFound"},
		{"unknown lb", func() error {
			_, err := e.c.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{"nope"}})
			return err
		}, "LoadBalancerNotFound"},
		{"unknown tg", func() error {
			_, err := e.c.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/x/0123456789abcdef")})
			return err
		}, "TargetGroupNotFound"},
		{"tg bad matcher", func() error {
			_, err := e.c.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("m"), Protocol: types.ProtocolEnumHttp,
				Port: aws.Int32(80), VpcId: aws.String("vpc-1"), Matcher: &types.Matcher{HttpCode: aws.String("600")}})
			return err
		}, "ValidationError"},
		{"tg timeout over interval", func() error {
			_, err := e.c.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("i"), Protocol: types.ProtocolEnumHttp,
				Port: aws.Int32(80), VpcId: aws.String("vpc-1"), HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(6)})
			return err
		}, "ValidationError"},
		{"tg duplicate name", func() error {
			_, err := e.c.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("tg"), Protocol: types.ProtocolEnumHttp,
				Port: aws.Int32(8080), VpcId: aws.String("vpc-1")})
			return err
		}, "DuplicateTargetGroupName"},
		{"tg missing vpc", func() error {
			_, err := e.c.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("v"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80)})
			return err
		}, "ValidationError"},
		{"register unknown instance", func() error {
			_, err := e.c.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn, Targets: []types.TargetDescription{{Id: aws.String("i-nope")}}})
			return err
		}, "InvalidTarget"},
		{"deregister unregistered", func() error {
			_, err := e.c.DeregisterTargets(ctx, &elb.DeregisterTargetsInput{TargetGroupArn: tg.TargetGroupArn, Targets: []types.TargetDescription{{Id: aws.String("i-nope")}}})
			return err
		}, "InvalidTarget"},
		{"listener unknown tg", func() error {
			_, err := e.c.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Port: aws.Int32(8081), Protocol: types.ProtocolEnumHttp,
				DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/x/0123456789abcdef")}}})
			return err
		}, "TargetGroupNotFound"},
		{"listener https", func() error {
			_, err := e.c.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Port: aws.Int32(443), Protocol: types.ProtocolEnumHttps,
				DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: tg.TargetGroupArn}}})
			return err
		}, "UnsupportedProtocol"},
		{"unknown listener", func() error {
			_, err := e.c.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{"arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/x/1/2"}})
			return err
		}, "ListenerNotFound"},
		{"tags on unknown", func() error {
			_, err := e.c.AddTags(ctx, &elb.AddTagsInput{ResourceArns: []string{"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x/1"},
				Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}})
			return err
		}, "LoadBalancerNotFound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if apiCode(err) != tc.code {
				t.Errorf("error %v, want code %s", err, tc.code)
			}
			var re interface{ HTTPStatusCode() int }
			if errors.As(err, &re) && re.HTTPStatusCode() != 400 {
				t.Errorf("HTTP status %d, want 400", re.HTTPStatusCode())
			}
		})
	}
}

// TestTrafficThroughTheLoadBalancer drives the whole API with the Go SDK:
// targets turn healthy under real checks, requests through the load
// balancer's DNS name reach every healthy target, an unhealthy one leaves
// the rotation, and a weighted listener switch moves traffic.
func TestTrafficThroughTheLoadBalancer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	a, b := e.newApp(t, "i-aaaa"), e.newApp(t, "i-bbbb")
	lb := e.lb(t, ctx, "app")
	blue := e.tg(t, ctx, "blue")
	do(e.c.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: blue.TargetGroupArn, Targets: []types.TargetDescription{
		{Id: aws.String("i-aaaa"), Port: aws.Int32(a.port())}, {Id: aws.String("i-bbbb"), Port: aws.Int32(b.port())}}})).must(t)
	h := do(e.c.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: blue.TargetGroupArn})).must(t)
	if len(h.TargetHealthDescriptions) != 2 || h.TargetHealthDescriptions[0].TargetHealth.State != types.TargetHealthStateEnumUnused ||
		h.TargetHealthDescriptions[0].TargetHealth.Reason != types.TargetHealthReasonEnumNotInUse {
		t.Errorf("targets of a group no listener uses: %+v", h.TargetHealthDescriptions)
	}
	ln := do(e.c.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Port: aws.Int32(8080),
		Protocol: types.ProtocolEnumHttp, DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: blue.TargetGroupArn}}})).must(t).Listeners[0]
	if _, err := e.c.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Port: aws.Int32(8080),
		Protocol: types.ProtocolEnumHttp, DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: blue.TargetGroupArn}}}); apiCode(err) != "DuplicateListener" {
		t.Errorf("second listener on 8080: %v", err)
	}
	if _, err := e.c.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: blue.TargetGroupArn}); apiCode(err) != "ResourceInUse" {
		t.Errorf("delete a target group in use: %v", err)
	}
	e.waitHealth(t, ctx, aws.ToString(blue.TargetGroupArn), "i-aaaa", types.TargetHealthStateEnumHealthy)
	e.waitHealth(t, ctx, aws.ToString(blue.TargetGroupArn), "i-bbbb", types.TargetHealthStateEnumHealthy)

	url := "http://" + net.JoinHostPort(e.resolve(t, aws.ToString(lb.DNSName)), "8080") + "/"
	seen := map[string]int{}
	for range 10 {
		seen[getBody(t, url)]++
	}
	if seen["i-aaaa"] != 5 || seen["i-bbbb"] != 5 {
		t.Errorf("round robin over two healthy targets: %v", seen)
	}

	b.setCode(500)
	d := e.waitHealth(t, ctx, aws.ToString(blue.TargetGroupArn), "i-bbbb", types.TargetHealthStateEnumUnhealthy)
	if d.TargetHealth.Reason != types.TargetHealthReasonEnumResponseCodeMismatch ||
		aws.ToString(d.TargetHealth.Description) != "Health checks failed with these codes: [500]" {
		t.Errorf("unhealthy target %+v", d.TargetHealth)
	}
	for range 6 {
		if got := getBody(t, url); got != "i-aaaa" {
			t.Fatalf("request reached %q with i-bbbb unhealthy", got)
		}
	}

	// weighted switch to a green group
	c := e.newApp(t, "i-cccc")
	green := e.tg(t, ctx, "green")
	do(e.c.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: green.TargetGroupArn,
		Targets: []types.TargetDescription{{Id: aws.String("i-cccc"), Port: aws.Int32(c.port())}}})).must(t)
	mod := do(e.c.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: ln.ListenerArn, DefaultActions: []types.Action{{
		Type: types.ActionTypeEnumForward, ForwardConfig: &types.ForwardActionConfig{TargetGroups: []types.TargetGroupTuple{
			{TargetGroupArn: blue.TargetGroupArn, Weight: aws.Int32(0)}, {TargetGroupArn: green.TargetGroupArn, Weight: aws.Int32(1)}}}}}})).must(t)
	if tgs := mod.Listeners[0].DefaultActions[0].ForwardConfig.TargetGroups; len(tgs) != 2 {
		t.Errorf("modified listener forwards to %+v", tgs)
	}
	e.waitHealth(t, ctx, aws.ToString(green.TargetGroupArn), "i-cccc", types.TargetHealthStateEnumHealthy)
	for range 6 {
		if got := getBody(t, url); got != "i-cccc" {
			t.Fatalf("after the switch a request reached %q", got)
		}
	}
	dtg := do(e.c.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{LoadBalancerArn: lb.LoadBalancerArn})).must(t)
	if len(dtg.TargetGroups) != 2 || len(dtg.TargetGroups[0].LoadBalancerArns) != 1 {
		t.Errorf("target groups of the load balancer: %+v", dtg.TargetGroups)
	}

	// deregistration drains, then the target is gone
	do(e.c.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: green.TargetGroupArn,
		Attributes: []types.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("1")}}})).must(t)
	do(e.c.DeregisterTargets(ctx, &elb.DeregisterTargetsInput{TargetGroupArn: green.TargetGroupArn,
		Targets: []types.TargetDescription{{Id: aws.String("i-cccc"), Port: aws.Int32(c.port())}}})).must(t)
	deadline := time.Now().Add(5 * time.Second)
	for {
		h := do(e.c.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: green.TargetGroupArn})).must(t)
		if len(h.TargetHealthDescriptions) == 0 {
			break
		}
		if s := h.TargetHealthDescriptions[0].TargetHealth.State; s != types.TargetHealthStateEnumDraining {
			t.Fatalf("deregistered target is %s, want draining", s)
		}
		if time.Now().After(deadline) {
			t.Fatal("deregistered target never left the group")
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("no healthy target anywhere: status %d, want 503", resp.StatusCode)
	}

	rules := do(e.c.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: ln.ListenerArn})).must(t)
	if len(rules.Rules) != 1 || !aws.ToBool(rules.Rules[0].IsDefault) {
		t.Errorf("rules %+v", rules.Rules)
	}
	do(e.c.DeleteListener(ctx, &elb.DeleteListenerInput{ListenerArn: ln.ListenerArn})).must(t)
	do(e.c.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: blue.TargetGroupArn})).must(t)
	if _, err := http.Get(url); err == nil {
		t.Error("the deleted listener still answers")
	}
}

func TestStatePersistsAcrossRestarts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	e := newEnv(t, &core.Store{Dir: dir})
	a := e.newApp(t, "i-aaaa")
	lb := e.lb(t, ctx, "keep")
	tg := e.tg(t, ctx, "keep")
	do(e.c.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn,
		Targets: []types.TargetDescription{{Id: aws.String("i-aaaa"), Port: aws.Int32(a.port())}}})).must(t)
	do(e.c.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Port: aws.Int32(8080),
		Protocol: types.ProtocolEnumHttp, DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: tg.TargetGroupArn}}})).must(t)
	if err := e.srv.Close(ctx); err != nil {
		t.Fatal(err)
	}

	e2 := newEnv(t, &core.Store{Dir: dir})
	e2.ec2.instances["i-aaaa"] = "127.0.0.1"
	out := do(e2.c.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{"keep"}})).must(t)
	if aws.ToString(out.LoadBalancers[0].LoadBalancerArn) != aws.ToString(lb.LoadBalancerArn) {
		t.Fatalf("restored load balancer %+v", out.LoadBalancers[0])
	}
	e2.waitHealth(t, ctx, aws.ToString(tg.TargetGroupArn), "i-aaaa", types.TargetHealthStateEnumHealthy)
	url := "http://" + net.JoinHostPort(e2.resolve(t, aws.ToString(lb.DNSName)), "8080") + "/"
	if got := getBody(t, url); got != "i-aaaa" {
		t.Errorf("restored listener answered %q", got)
	}
}

func getBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

func TestTerminatedInstancesLeaveTheirTargetGroups(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	a := e.newApp(t, "i-gone")
	tg := e.tg(t, ctx, "gone")
	do(e.c.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn,
		Targets: []types.TargetDescription{{Id: aws.String("i-gone"), Port: aws.Int32(a.port())}}})).must(t)
	e.ec2.mu.Lock()
	e.ec2.states["i-gone"] = "terminated"
	e.ec2.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h := do(e.c.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: tg.TargetGroupArn})).must(t)
		if len(h.TargetHealthDescriptions) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a terminated instance is still registered: %+v", h.TargetHealthDescriptions)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := e.c.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn,
		Targets: []types.TargetDescription{{Id: aws.String("i-gone"), Port: aws.Int32(a.port())}}}); apiCode(err) != "InvalidTarget" {
		t.Errorf("register a terminated instance: %v", err)
	}
}

// TestModifyListenerLosesNoRequests switches a listener between two target
// groups through the API while clients keep requesting, moves it to
// another port, and marks an instance's app unhealthy with the sim's fault
// injection.
func TestModifyListenerLosesNoRequests(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	blueApp, greenApp := e.newApp(t, "i-blue"), e.newApp(t, "i-green")
	lb := e.lb(t, ctx, "switch")
	blue, green := e.tg(t, ctx, "blue"), e.tg(t, ctx, "green")
	do(e.c.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: blue.TargetGroupArn,
		Targets: []types.TargetDescription{{Id: aws.String("i-blue"), Port: aws.Int32(blueApp.port())}}})).must(t)
	do(e.c.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: green.TargetGroupArn,
		Targets: []types.TargetDescription{{Id: aws.String("i-green"), Port: aws.Int32(greenApp.port())}}})).must(t)
	weighted := func(b, g int32) []types.Action {
		return []types.Action{{Type: types.ActionTypeEnumForward, ForwardConfig: &types.ForwardActionConfig{TargetGroups: []types.TargetGroupTuple{
			{TargetGroupArn: blue.TargetGroupArn, Weight: aws.Int32(b)}, {TargetGroupArn: green.TargetGroupArn, Weight: aws.Int32(g)}}}}}
	}
	ln := do(e.c.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Port: aws.Int32(8080),
		Protocol: types.ProtocolEnumHttp, DefaultActions: weighted(1, 0)})).must(t).Listeners[0]
	e.waitHealth(t, ctx, aws.ToString(blue.TargetGroupArn), "i-blue", types.TargetHealthStateEnumHealthy)
	e.waitHealth(t, ctx, aws.ToString(green.TargetGroupArn), "i-green", types.TargetHealthStateEnumHealthy)
	url := "http://" + net.JoinHostPort(e.resolve(t, aws.ToString(lb.DNSName)), "8080") + "/"

	var failed, total atomic.Int64
	seen := sync.Map{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for range 3 {
		wg.Go(func() {
			for range 3000 { // bounded: at most 3000 requests each
				select {
				case <-stop:
					return
				default:
				}
				total.Add(1)
				resp, err := client.Get(url)
				if err != nil {
					failed.Add(1)
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
				}
				seen.Store(string(b), true)
			}
		})
	}
	for i := range 10 {
		w := weighted(0, 1)
		if i%2 == 1 {
			w = weighted(1, 0)
		}
		do(e.c.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: ln.ListenerArn, DefaultActions: w})).must(t)
		time.Sleep(30 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		t.Errorf("%d of %d requests failed across 10 ModifyListener switches", failed.Load(), total.Load())
	}
	for _, id := range []string{"i-blue", "i-green"} {
		if _, ok := seen.Load(id); !ok {
			t.Errorf("%s never answered during the switches", id)
		}
	}

	// another port: the old one stops answering, the new one serves
	do(e.c.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: ln.ListenerArn, Port: aws.Int32(8081), DefaultActions: weighted(1, 0)})).must(t)
	moved := "http://" + net.JoinHostPort(e.resolve(t, aws.ToString(lb.DNSName)), "8081") + "/"
	if got := getBody(t, moved); got != "i-blue" {
		t.Errorf("the moved listener answered %q", got)
	}
	if _, err := http.Get(url); err == nil {
		t.Error("the old port still answers after the listener moved")
	}

	// the sim's fault injection: the instance's app is unhealthy whatever it answers
	e.srv.Faults().SetUnhealthy("i-blue", true)
	d := e.waitHealth(t, ctx, aws.ToString(blue.TargetGroupArn), "i-blue", types.TargetHealthStateEnumUnhealthy)
	if d.TargetHealth.Reason != types.TargetHealthReasonEnumFailedHealthChecks {
		t.Errorf("forced unhealthy reason %q", d.TargetHealth.Reason)
	}
	e.srv.Faults().SetUnhealthy("i-blue", false)
	e.waitHealth(t, ctx, aws.ToString(blue.TargetGroupArn), "i-blue", types.TargetHealthStateEnumHealthy)
}
