package roll_test

// The harness of roll's integration tests: the local cloud (sim/) run in
// this process with EC2 on the real Docker engine, ELBv2 proxies, Auto
// Scaling, Route53 with its DNS server, and SSM; app images that report
// their version; and a bounded load generator on loopback.

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/docker/docker/api/types/build"
	dimage "github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/miekg/dns"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/internal/testenv"
	"github.com/bakehq/bake/roll"
	simautoscaling "github.com/bakehq/bake/sim/autoscaling"
	"github.com/bakehq/bake/sim/core"
	simec2 "github.com/bakehq/bake/sim/ec2"
	simelb "github.com/bakehq/bake/sim/elbv2"
	simr53 "github.com/bakehq/bake/sim/route53"
	simssm "github.com/bakehq/bake/sim/ssm"
	"github.com/bakehq/bake/sim/sts"
)

var (
	skipWhy string
	cloud   *simCloud
	rollBin string
	bakeBin string // bake, for bake promote before roll --channel
	appBin  string // the test app, for bakes of it
	binErr  string
	repo    string
)

// Versions of the app image; "bad" never becomes healthy, "slow" answers
// every request (health checks included) slowDelay late.
var versions = []string{"blue", "green", "bad", "slow"}

// slowDelay is how late the "slow" version answers: above the canary
// analysis's 200ms floor, well under the health checks' 1s timeout.
const slowDelay = "400ms"

// bakeName is the bake (BUILD.TYPE.NAME) the test AMIs say they came from.
const bakeName = "roll-test"

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	flag.Parse()
	_, file, _, _ := runtime.Caller(0)
	repo = filepath.Join(filepath.Dir(file), "..")
	if testing.Short() || os.Getenv("ROLL_SKIP_SIM") != "" {
		skipWhy = "the local cloud is skipped with -short"
		return m.Run()
	}
	ctx := context.Background()
	dc, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err == nil {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err = dc.Ping(pctx)
		cancel()
	}
	if err != nil {
		skipWhy = "docker engine not reachable: " + err.Error()
		return m.Run()
	}
	defer dc.Close()
	if _, err := dc.ImageInspect(ctx, simec2.DefaultDebianImage); err != nil {
		skipWhy = fmt.Sprintf("the sim's systemd image %s is missing (run hack/setup-sim.sh): %v", simec2.DefaultDebianImage, err)
		return m.Run()
	}
	tmp, err := os.MkdirTemp("", "roll-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	tag := fmt.Sprintf("t%d", os.Getpid())
	images, err := buildImages(ctx, dc, tmp, tag)
	defer func() {
		for _, ref := range images {
			if _, err := dc.ImageRemove(context.Background(), ref, dimage.RemoveOptions{Force: true, PruneChildren: true}); err != nil {
				fmt.Fprintf(os.Stderr, "remove test image %s: %v\n", ref, err)
			}
		}
	}()
	if err != nil {
		fmt.Fprintln(os.Stderr, "build the app images:", err)
		return 1
	}
	rollBin = filepath.Join(tmp, "roll")
	bakeBin = filepath.Join(tmp, "bake")
	for bin, pkg := range map[string]string{rollBin: "../cmd/roll", bakeBin: "../cmd/bake"} {
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			binErr = fmt.Sprintf("build %s: %v\n%s", pkg, err, out)
		}
	}
	c, stop, err := startCloud(ctx, images, filepath.Join(tmp, "sim.log"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "start the local cloud:", err)
		return 1
	}
	cloud = c
	code := m.Run()
	if err := stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop the local cloud:", err)
		code = 1
	}
	if code != 0 {
		if b, err := os.ReadFile(filepath.Join(tmp, "sim.log")); err == nil {
			lines := strings.Split(string(b), "\n")
			fmt.Fprintf(os.Stderr, "--- last lines of the sim's log\n%s\n", strings.Join(lines[max(0, len(lines)-40):], "\n"))
		}
	}
	return code
}

func needCloud(t *testing.T) {
	t.Helper()
	if skipWhy != "" {
		if testing.Short() {
			t.Skip(skipWhy)
		}
		testenv.SkipOrFail(t, "%s", skipWhy)
	}
}

// buildImages builds the app and one image per version from the sim's
// systemd image, labelled for cleanup.
func buildImages(ctx context.Context, dc *client.Client, dir, tag string) (map[string]string, error) {
	bin := filepath.Join(dir, "app")
	appBin = bin
	cmd := exec.Command("go", "build", "-o", bin, "./testdata/app")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build the app: %v\n%s", err, out)
	}
	app, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	unit := `[Unit]
Description=roll test app
After=network.target
[Service]
ExecStart=/usr/local/bin/roll-app
Restart=always
RestartSec=200ms
[Install]
WantedBy=multi-user.target
`
	images := map[string]string{}
	for _, v := range versions {
		healthy, delay := "yes", "0s"
		switch v {
		case "bad":
			healthy = "no"
		case "slow":
			delay = slowDelay
		}
		// The versions share every layer but the last.
		dockerfile := fmt.Sprintf(`FROM %s
COPY roll-app /usr/local/bin/roll-app
COPY roll-app.service /etc/systemd/system/roll-app.service
RUN mkdir -p /etc/roll-app && systemctl enable roll-app.service
RUN echo %s >/etc/roll-app/version && echo %s >/etc/roll-app/healthy && echo %s >/etc/roll-app/delay
EXPOSE 80
`, simec2.DefaultDebianImage, v, healthy, delay)
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		for _, f := range []struct {
			name string
			mode int64
			data []byte
		}{{"Dockerfile", 0o644, []byte(dockerfile)}, {"roll-app", 0o755, app}, {"roll-app.service", 0o644, []byte(unit)}} {
			if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data))}); err != nil {
				return images, err
			}
			if _, err := tw.Write(f.data); err != nil {
				return images, err
			}
		}
		if err := tw.Close(); err != nil {
			return images, err
		}
		ref := "bake-roll-test/app:" + v + "-" + tag
		resp, err := dc.ImageBuild(ctx, &b, build.ImageBuildOptions{Tags: []string{ref}, Remove: true, ForceRemove: true,
			Labels: map[string]string{"dev.bake.test": "roll"}, Version: build.BuilderV1})
		if err != nil {
			return images, fmt.Errorf("build image %s: %w", ref, err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if bytes.Contains(out, []byte(`"error"`)) {
			return images, fmt.Errorf("build image %s: %s", ref, out)
		}
		images[v] = ref
	}
	return images, nil
}

// simCloud is the local cloud and clients of it.
type simCloud struct {
	endpoint string
	dnsAddr  string
	faults   *core.Faults
	amis     map[string]string // version -> AMI id
	cfg      aws.Config
	c        roll.Clients
	asg      *autoscaling.Client
	elb      *elb.Client
	ec2      *ec2.Client
	r53      *route53.Client
	ssm      *ssm.Client
}

func startCloud(ctx context.Context, images map[string]string, logPath string) (*simCloud, func() error, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, nil, err
	}
	// Addresses of their own, apart from other sims run on this machine.
	lb := core.NewLoopback(netip.MustParseAddr("127.0.200.1"), netip.MustParseAddr("127.0.223.254"))
	faults := core.NewFaults()
	srv := core.NewServer(core.Config{Region: "us-east-1", Faults: faults, Log: slog.New(slog.NewTextHandler(logf, nil)), Store: &core.Store{}, Loopback: lb})
	fail := func(err error) (*simCloud, func() error, error) {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		return nil, nil, errorsJoin(err, srv.Close(cctx), logf.Close())
	}
	amis := map[string]string{}
	for v, ref := range images {
		amis["roll-"+v] = ref
	}
	e, err := simec2.New(ctx, srv, simec2.Options{DebianImage: simec2.DefaultDebianImage, AMIs: amis})
	if err != nil {
		return fail(err)
	}
	dnsIP, err := lb.Next()
	if err != nil {
		return fail(err)
	}
	dnsAddr := net.JoinHostPort(dnsIP.String(), "53")
	d, err := simr53.StartDNS(srv, dnsAddr)
	if err != nil {
		return fail(err)
	}
	el, elSvc, err := simelb.New(simelb.Config{Server: srv, Instances: e, Subnets: e, DNS: d})
	if err != nil {
		return fail(err)
	}
	_, asSvc, err := simautoscaling.New(simautoscaling.Config{Server: srv, Fleet: e, TargetGroups: el, Interval: 250 * time.Millisecond})
	if err != nil {
		return fail(err)
	}
	_, r53Svc, err := simr53.New(simr53.Config{Server: srv, DNS: d})
	if err != nil {
		return fail(err)
	}
	_, ssmSvc, err := simssm.New(srv)
	if err != nil {
		return fail(err)
	}
	for _, svc := range []*core.Service{e.Service(), elSvc, asSvc, r53Svc, ssmSvc, sts.New()} {
		if err := srv.Add(svc); err != nil {
			return fail(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()
	endpoint := "http://" + ln.Addr().String()
	for k, v := range map[string]string{"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"} {
		os.Setenv(k, v)
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
	if err != nil {
		cancel()
		return fail(err)
	}
	c := &simCloud{endpoint: endpoint, dnsAddr: dnsAddr, faults: faults, cfg: cfg, c: roll.NewClients(cfg),
		asg: autoscaling.NewFromConfig(cfg), elb: elb.NewFromConfig(cfg), ec2: ec2.NewFromConfig(cfg),
		r53: route53.NewFromConfig(cfg), ssm: ssm.NewFromConfig(cfg), amis: map[string]string{}}
	out, err := c.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}})
	if err != nil {
		cancel()
		return fail(err)
	}
	for _, im := range out.Images {
		v := strings.TrimPrefix(aws.ToString(im.Name), "roll-")
		c.amis[v] = aws.ToString(im.ImageId)
		// As bake tags the AMIs it bakes: the bake's name and the version.
		// Channels are made by the tests with the real `bake promote`.
		if _, err := c.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{aws.ToString(im.ImageId)},
			Tags: []ec2types.Tag{{Key: aws.String(bake.LabelVersion), Value: aws.String(v)}, {Key: aws.String(bake.LabelName), Value: aws.String(bakeName)}}}); err != nil {
			cancel()
			return fail(err)
		}
	}
	stop := func() error {
		cancel()
		serr := <-served
		cctx, ccancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer ccancel()
		return errorsJoin(serr, srv.Close(cctx), logf.Close())
	}
	return c, stop, nil
}

func errorsJoin(errs ...error) error {
	var msgs []string
	for _, e := range errs {
		if e != nil {
			msgs = append(msgs, e.Error())
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(msgs, "; "))
}

// Traffic layers a test service can have.
const (
	viaListener    = "listener"
	viaDNS         = "route53"
	viaTargetGroup = "target_group"  // one target group, the colours attached in turn
	viaRule        = "listener_rule" // a host-header rule of a listener shared with other services (serviceOpts.shared)
)

// service is a test service: its traffic layer made in the sim, its
// launch template, and its .roll.hcl file.
type service struct {
	name   string
	file   string
	lbIP   []string // listener address(es)
	record string   // route53
	tgs    []string
	lis    []string
	host   string // the Host header the load sends, when not ""
	rule   string // viaRule: the service's listener rule
}

// serviceOpts shape the .roll.hcl of a test service.
type serviceOpts struct {
	via      string
	desired  int
	extra    string // more HCL inside the service block
	bgWindow string // post_promotion_window
	bgDelay  string // scale_down_delay
	wait     string // health wait_timeout

	// viaRule: the shared listener, the host the service's rule matches
	// and the rule's priority.
	shared   *sharedListener
	host     string
	priority int32
}

// newService makes the launch template, load balancer(s), target groups
// and listener(s) of a service named name, and writes its .roll.hcl. It
// does not deploy it.
func newService(t *testing.T, name string, o serviceOpts) *service {
	t.Helper()
	ctx := context.Background()
	c := cloud
	if o.desired == 0 {
		o.desired = 1
	}
	if o.bgWindow == "" {
		o.bgWindow = "2s"
	}
	if o.bgDelay == "" {
		o.bgDelay = "3s"
	}
	if o.wait == "" {
		o.wait = "90s"
	}
	must(t, func() error {
		_, err := c.ec2.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(name),
			LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(c.amis["blue"]), InstanceType: ec2types.InstanceTypeT3Micro}})
		return err
	}())
	subnets, err := c.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	must(t, err)
	var subnetIDs []string
	for _, s := range subnets.Subnets {
		subnetIDs = append(subnetIDs, aws.ToString(s.SubnetId))
	}
	s := &service{name: name}
	nLB := 1
	if o.via == viaDNS {
		nLB = 2
	}
	if o.via == viaRule {
		nLB = 0 // the shared listener's load balancer; the rule is made below
	}
	var dnsNames []string
	for i := 0; i < nLB; i++ {
		lbName := fmt.Sprintf("%s-%d", name, i)
		lbo, err := c.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String(lbName), Subnets: subnetIDs})
		must(t, err)
		lbArn := aws.ToString(lbo.LoadBalancers[0].LoadBalancerArn)
		dnsNames = append(dnsNames, aws.ToString(lbo.LoadBalancers[0].DNSName))
		t.Cleanup(func() {
			c.elb.DeleteLoadBalancer(context.Background(), &elb.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(lbArn)})
		})
		nTG := 2
		if o.via == viaDNS || o.via == viaTargetGroup {
			nTG = 1
		}
		var tgs []string
		for j := 0; j < nTG; j++ {
			tgo, err := c.elb.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{
				Name: aws.String(fmt.Sprintf("%s-%d%c", name, i, 'a'+j)), Protocol: "HTTP", Port: aws.Int32(80), VpcId: subnets.Subnets[0].VpcId,
				HealthCheckPath: aws.String("/health"), HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2),
				HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2),
			})
			must(t, err)
			arn := aws.ToString(tgo.TargetGroups[0].TargetGroupArn)
			_, err = c.elb.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(arn),
				Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("1")}}})
			must(t, err)
			tgs = append(tgs, arn)
			s.tgs = append(s.tgs, arn)
		}
		fwd := []elbtypes.TargetGroupTuple{{TargetGroupArn: aws.String(tgs[0]), Weight: aws.Int32(100)}}
		if len(tgs) == 2 {
			fwd = append(fwd, elbtypes.TargetGroupTuple{TargetGroupArn: aws.String(tgs[1]), Weight: aws.Int32(0)})
		}
		lo, err := c.elb.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(lbArn), Protocol: "HTTP", Port: aws.Int32(80),
			DefaultActions: []elbtypes.Action{{Type: "forward", ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: fwd}}}})
		must(t, err)
		s.lis = append(s.lis, aws.ToString(lo.Listeners[0].ListenerArn))
		s.lbIP = append(s.lbIP, lookupA(t, aws.ToString(lbo.LoadBalancers[0].DNSName)))
	}
	if o.via == viaRule {
		s.newRule(t, o)
	}
	var traffic string
	if o.via == viaRule {
		traffic = fmt.Sprintf(`
  traffic {
    listener_rule = %q
    target_groups = [%q, %q]
  }`, s.rule, s.tgs[0], s.tgs[1])
	} else if o.via == viaDNS {
		zone := name + ".test"
		zo, err := c.r53.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String(zone), CallerReference: aws.String(name)})
		must(t, err)
		s.record = "www." + zone
		traffic = fmt.Sprintf(`
  traffic {
    route53 {
      zone_id = %q
      record  = %q
      ttl     = 1
      load_balancer "a" {
        dns_name     = %q
        target_group = %q
      }
      load_balancer "b" {
        dns_name     = %q
        target_group = %q
      }
    }
  }`, strings.TrimPrefix(aws.ToString(zo.HostedZone.Id), "/hostedzone/"), s.record, dnsNames[0], s.tgs[0], dnsNames[1], s.tgs[1])
	} else if o.via == viaTargetGroup {
		traffic = fmt.Sprintf(`
  traffic {
    target_group = %q
  }`, s.tgs[0])
	} else {
		traffic = fmt.Sprintf(`
  traffic {
    listener      = %q
    target_groups = [%q, %q]
  }`, s.lis[0], s.tgs[0], s.tgs[1])
	}
	hcl := fmt.Sprintf(`service %q {
  region             = "us-east-1"
  launch_template    = %q
  health_check_grace = "60s"
  lock_ttl           = "20s"
  capacity {
    min     = %d
    max     = %d
    desired = %d
  }
%s
  health {
    path         = "/health"
    consecutive  = 2
    interval     = "500ms"
    timeout      = "1s"
    wait_timeout = %q
  }
  bluegreen {
    scale_down_delay      = %q
    post_promotion_window = %q
  }
%s
}
`, name, name, o.desired, o.desired*2, o.desired, traffic, o.wait, o.bgDelay, o.bgWindow, o.extra)
	s.file = filepath.Join(t.TempDir(), name+roll.FileSuffix)
	must(t, os.WriteFile(s.file, []byte(hcl), 0o644))
	t.Cleanup(func() { cleanupService(t, name) })
	return s
}

// sharedListener is one ALB listener that several test services share,
// each through its own host-header rule. Its default action forwards to a
// target group with no targets: a request no rule matches gets a 503.
type sharedListener struct {
	arn string
	ip  string
}

// newSharedListener makes the load balancer, empty default target group
// and listener on port 80 that services made with viaRule share.
func newSharedListener(t *testing.T, name string) *sharedListener {
	t.Helper()
	ctx := context.Background()
	c := cloud
	subnets, err := c.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	must(t, err)
	var subnetIDs []string
	for _, s := range subnets.Subnets {
		subnetIDs = append(subnetIDs, aws.ToString(s.SubnetId))
	}
	lbo, err := c.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String(name), Subnets: subnetIDs})
	must(t, err)
	lbArn := aws.ToString(lbo.LoadBalancers[0].LoadBalancerArn)
	t.Cleanup(func() {
		c.elb.DeleteLoadBalancer(context.Background(), &elb.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(lbArn)})
	})
	tgo, err := c.elb.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String(name + "-none"), Protocol: "HTTP",
		Port: aws.Int32(80), VpcId: subnets.Subnets[0].VpcId})
	must(t, err)
	lo, err := c.elb.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(lbArn), Protocol: "HTTP", Port: aws.Int32(80),
		DefaultActions: []elbtypes.Action{{Type: "forward", TargetGroupArn: tgo.TargetGroups[0].TargetGroupArn}}})
	must(t, err)
	return &sharedListener{arn: aws.ToString(lo.Listeners[0].ListenerArn), ip: lookupA(t, aws.ToString(lbo.LoadBalancers[0].DNSName))}
}

// newRule makes the service's two target groups and its host-header rule
// on the shared listener, forwarding all to the first group.
func (s *service) newRule(t *testing.T, o serviceOpts) {
	t.Helper()
	ctx := context.Background()
	vpc, err := cloud.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	must(t, err)
	for j := 0; j < 2; j++ {
		tgo, err := cloud.elb.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{
			Name: aws.String(fmt.Sprintf("%s-%c", s.name, 'a'+j)), Protocol: "HTTP", Port: aws.Int32(80), VpcId: vpc.Subnets[0].VpcId,
			HealthCheckPath: aws.String("/health"), HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2),
			HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2),
		})
		must(t, err)
		arn := aws.ToString(tgo.TargetGroups[0].TargetGroupArn)
		_, err = cloud.elb.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(arn),
			Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("1")}}})
		must(t, err)
		s.tgs = append(s.tgs, arn)
	}
	ro, err := cloud.elb.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: aws.String(o.shared.arn), Priority: aws.Int32(o.priority),
		Conditions: []elbtypes.RuleCondition{{Field: aws.String("host-header"), Values: []string{o.host}}},
		Actions: []elbtypes.Action{{Type: "forward", ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: []elbtypes.TargetGroupTuple{
			{TargetGroupArn: aws.String(s.tgs[0]), Weight: aws.Int32(100)}, {TargetGroupArn: aws.String(s.tgs[1]), Weight: aws.Int32(0)}}}}},
	})
	must(t, err)
	s.rule = aws.ToString(ro.Rules[0].RuleArn)
	s.lis = append(s.lis, o.shared.arn)
	s.lbIP = append(s.lbIP, o.shared.ip)
	s.host = o.host
}

// cleanupService deletes the service's groups (whatever a failed test
// left), so their containers go before the sim stops.
func cleanupService(t *testing.T, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := cloud.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
	if err != nil {
		t.Errorf("cleanup: list groups: %v", err)
		return
	}
	for _, g := range out.AutoScalingGroups {
		if strings.HasPrefix(aws.ToString(g.AutoScalingGroupName), name+"-") {
			cloud.asg.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: g.AutoScalingGroupName, ForceDelete: aws.Bool(true)})
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// lookupA resolves name through the sim's DNS (following CNAMEs).
func lookupA(t *testing.T, name string) string {
	t.Helper()
	ip, _, err := resolve(name)
	if err != nil {
		t.Fatalf("resolve %s: %v", name, err)
	}
	return ip
}

func resolve(name string) (ip string, ttl uint32, err error) {
	c := &dns.Client{Timeout: time.Second}
	for i := 0; i < 5; i++ {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(name), dns.TypeA)
		in, _, err := c.Exchange(m, cloud.dnsAddr)
		if err != nil {
			return "", 0, err
		}
		ttl = ^uint32(0)
		var cname string
		for _, rr := range in.Answer {
			ttl = min(ttl, rr.Header().Ttl)
			switch v := rr.(type) {
			case *dns.A:
				return v.A.String(), ttl, nil
			case *dns.CNAME:
				cname = v.Target
			}
		}
		if cname == "" {
			return "", 0, fmt.Errorf("no A record for %s (rcode %s)", name, dns.RcodeToString[in.Rcode])
		}
		name = cname
	}
	return "", 0, fmt.Errorf("CNAME chain too long at %s", name)
}

// load is a bounded load generator: workers sending GET / to the service
// at a fixed total rate, through the listener or through DNS, counting
// versions, failures and latencies.
type load struct {
	mu       sync.Mutex
	versions map[string]int
	timeline []string // version of each response, in order
	failed   int
	fails    []string
	lat      []time.Duration
	stop     chan struct{}
	done     sync.WaitGroup
}

const (
	loadRate    = 100             // requests per second, all workers
	loadMax     = 100 * 60 * 5    // at most five minutes' worth
	loadWorkers = 10              //
	loadLimit   = 5 * time.Minute // and never longer
)

// startLoad sends traffic to s until stop (bounded in count and time).
func startLoad(t *testing.T, s *service) *load {
	l := &load{versions: map[string]int{}, stop: make(chan struct{})}
	deadline := time.Now().Add(loadLimit)
	per := time.Second * loadWorkers / loadRate
	for w := 0; w < loadWorkers; w++ {
		l.done.Add(1)
		go func() {
			defer l.done.Done()
			hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 2}}
			defer hc.CloseIdleConnections()
			var ip string
			var expires time.Time
			tick := time.NewTicker(per)
			defer tick.Stop()
			for i := 0; i < loadMax/loadWorkers && time.Now().Before(deadline); i++ {
				select {
				case <-l.stop:
					return
				case <-tick.C:
				}
				target := ""
				if s.record != "" {
					if time.Now().After(expires) { // a client that honours the TTL
						addr, ttl, err := resolve(s.record)
						if err != nil {
							l.fail("resolve: " + err.Error())
							continue
						}
						ip, expires = addr, time.Now().Add(time.Duration(ttl)*time.Second)
						hc.CloseIdleConnections()
					}
					target = ip
				} else {
					target = s.lbIP[0]
				}
				t0 := time.Now()
				req, err := http.NewRequest(http.MethodGet, "http://"+target+"/", nil)
				if err != nil {
					l.fail(err.Error())
					continue
				}
				if s.host != "" {
					req.Host = s.host
				}
				resp, err := hc.Do(req)
				if err != nil {
					l.fail(err.Error())
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					l.fail(fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(b))))
					continue
				}
				l.ok(strings.TrimSpace(string(b)), time.Since(t0))
			}
		}()
	}
	t.Cleanup(l.Stop)
	return l
}

func (l *load) fail(why string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failed++
	if len(l.fails) < 10 {
		l.fails = append(l.fails, why)
	}
}

func (l *load) ok(version string, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.versions[version]++
	l.timeline = append(l.timeline, version)
	l.lat = append(l.lat, d)
}

// Stop stops the workers (idempotent).
func (l *load) Stop() {
	l.mu.Lock()
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.mu.Unlock()
	l.done.Wait()
}

// stats is what the load saw.
type stats struct {
	Served, Failed int
	P99            time.Duration
	Versions       map[string]int
	Last           []string // versions of the last responses
	Fails          []string
}

func (l *load) Stats() stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	lat := append([]time.Duration(nil), l.lat...)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	s := stats{Served: len(l.timeline), Failed: l.failed, Versions: map[string]int{}, Fails: l.fails}
	if len(lat) > 0 {
		s.P99 = lat[min(len(lat)*99/100, len(lat)-1)]
	}
	for k, v := range l.versions {
		s.Versions[k] = v
	}
	s.Last = append(s.Last, l.timeline[max(0, len(l.timeline)-50):]...)
	return s
}

func (s stats) String() string {
	return fmt.Sprintf("served %d, failed %d, p99 %s, versions %v, first failures %q", s.Served, s.Failed, s.P99.Round(time.Microsecond), s.Versions, s.Fails)
}

// allOn reports whether the last responses all came from version v.
func (s stats) allOn(v string) bool {
	if len(s.Last) == 0 {
		return false
	}
	for _, have := range s.Last {
		if have != v {
			return false
		}
	}
	return true
}

// waitFor polls cond until it holds (bounded).
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// benchRecord appends one measurement to $ROLL_BENCH_OUT (bench/roll.sh).
func benchRecord(t *testing.T, strategy string, st stats, sum *roll.Summary, extra map[string]any) {
	path := os.Getenv("ROLL_BENCH_OUT")
	if path == "" {
		return
	}
	rec := map[string]any{"strategy": strategy, "served": st.Served, "failed": st.Failed, "p99_ms": float64(st.P99.Microseconds()) / 1000}
	if sum != nil {
		rec["cutover_ms"] = float64(sum.Cutover.Microseconds()) / 1000
		rec["rollback_ms"] = float64(sum.Rollback.Microseconds()) / 1000
		rec["green_healthy_ms"] = sum.GreenHealthy.Milliseconds()
		rec["total_ms"] = sum.Total.Milliseconds()
	}
	for k, v := range extra {
		rec[k] = v
	}
	b, err := json.Marshal(rec)
	must(t, err)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	must(t, err)
	defer f.Close()
	_, err = f.Write(append(b, '\n'))
	must(t, err)
}
