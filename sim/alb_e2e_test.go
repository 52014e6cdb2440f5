package sim_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	as "github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/miekg/dns"

	"github.com/bakehq/bake/sim"
)

// appScript is a web app for the image: perl-base (in every Debian) serves
// the instance's hostname — its instance id — on port 80, as a systemd
// service enabled at boot.
const appScript = `set -e
cat >/usr/local/bin/app <<'APP'
#!/usr/bin/perl
use strict;
use IO::Socket::INET;
my $id = ` + "`hostname`" + `;
chomp $id;
my $s = IO::Socket::INET->new(LocalPort => 80, Listen => 128, ReuseAddr => 1, Proto => 'tcp') or die "listen on 80: $!";
while (my $c = $s->accept) {
	my $req = <$c>;
	while (my $l = <$c>) { last if $l =~ /^\r?\n$/; }
	my $body = "$id";
	print $c "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body";
	close $c;
}
APP
chmod 755 /usr/local/bin/app
cat >/etc/systemd/system/app.service <<'UNIT'
[Unit]
Description=the web app
After=network.target
[Service]
ExecStart=/usr/local/bin/app
Restart=no
[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now app
`

// TestSDKAutoScalingGroupBehindALoadBalancer is the whole traffic story
// with the Go SDK: an image whose app serves HTTP at boot, a launch
// template, an ALB and an Auto Scaling group of 2 registered with its
// target group. Requests through the ALB's DNS name, resolved by the sim's
// DNS server, reach both instances; when one instance's app stops, it
// turns unhealthy, leaves the healthy set and the group replaces it.
func TestSDKAutoScalingGroupBehindALoadBalancer(t *testing.T) {
	t.Parallel()
	s := startSim(t, sim.Options{DNSAddr: "127.0.0.1:0"})
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cfg := sdkConfig(s.Endpoint())
	ec := ec2.NewFromConfig(cfg)
	lbc := elb.NewFromConfig(cfg)
	asc := as.NewFromConfig(cfg)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	// An image whose app serves HTTP at boot.
	imgs, err := ec.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"136693071363"},
		Filters: []ec2types.Filter{{Name: aws.String("name"), Values: []string{"debian-12-amd64-*"}}}})
	must(err)
	if len(imgs.Images) != 1 {
		t.Fatalf("debian images: %+v", imgs.Images)
	}
	run, err := ec.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: imgs.Images[0].ImageId, InstanceType: ec2types.InstanceTypeT3Micro,
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	must(err)
	builder := aws.ToString(run.Instances[0].InstanceId)
	waitFor(t, "the builder instance to run its app", 90*time.Second, func() bool {
		_, code, err := s.EC2.Exec(ctx, builder, "sh", "-c", appScript)
		return err == nil && code == 0
	})
	ci, err := ec.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(builder), Name: aws.String("web-app-1")})
	must(err)
	ami := aws.ToString(ci.ImageId)
	waitFor(t, "the app image to be available", 2*time.Minute, func() bool {
		out, err := ec.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{ami}})
		return err == nil && len(out.Images) == 1 && out.Images[0].State == ec2types.ImageStateAvailable
	})
	_, err = ec.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{builder}})
	must(err)
	_, err = ec.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("web"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(ami), InstanceType: ec2types.InstanceTypeT3Micro}})
	must(err)

	// The load balancer in front of the group.
	subnets, err := ec.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	must(err)
	var subnetIDs []string
	for _, sn := range subnets.Subnets {
		subnetIDs = append(subnetIDs, aws.ToString(sn.SubnetId))
	}
	tg, err := lbc.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("web"), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(80), VpcId: subnets.Subnets[0].VpcId, HealthCheckPath: aws.String("/health"),
		HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2),
		HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2)})
	must(err)
	tgArn := tg.TargetGroups[0].TargetGroupArn
	_, err = lbc.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: tgArn,
		Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("5")}}})
	must(err)
	lb, err := lbc.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("web"), Subnets: subnetIDs[:2]})
	must(err)
	_, err = lbc.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn,
		Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(8080),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: tgArn}}})
	must(err)

	// The group of 2.
	_, err = asc.CreateAutoScalingGroup(ctx, &as.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("web"),
		MinSize: aws.Int32(2), MaxSize: aws.Int32(3), DesiredCapacity: aws.Int32(2),
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("web"), Version: aws.String("$Latest")},
		VPCZoneIdentifier: aws.String(strings.Join(subnetIDs, ",")), TargetGroupARNs: []string{aws.ToString(tgArn)},
		HealthCheckType: aws.String("ELB"), HealthCheckGracePeriod: aws.Int32(15)})
	must(err)
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer ccancel()
		if _, err := asc.DeleteAutoScalingGroup(cctx, &as.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("web"), ForceDelete: aws.Bool(true)}); err != nil {
			t.Errorf("delete the group: %v", err)
		}
	})
	healthy := func() []string {
		out, err := lbc.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: tgArn})
		must(err)
		var ids []string
		for _, d := range out.TargetHealthDescriptions {
			if d.TargetHealth.State == elbtypes.TargetHealthStateEnumHealthy {
				ids = append(ids, aws.ToString(d.Target.Id))
			}
		}
		slices.Sort(ids)
		return ids
	}
	var first []string
	waitFor(t, "two healthy instances behind the load balancer", 2*time.Minute, func() bool {
		first = healthy()
		return len(first) == 2
	})

	// Through the ALB's DNS name, resolved by the sim's DNS server.
	ip := resolveA(t, s.DNS.Addr(), aws.ToString(lb.LoadBalancers[0].DNSName))
	url := "http://" + net.JoinHostPort(ip, "8080") + "/"
	if got := reach(t, url, 20); !slices.Equal(got, first) {
		t.Fatalf("requests through %s reached %v, want both instances %v", url, got, first)
	}

	// Stop the app in one instance: it leaves the healthy set and is replaced.
	victim := first[0]
	if out, code, err := s.EC2.Exec(ctx, victim, "systemctl", "stop", "app"); err != nil || code != 0 {
		t.Fatalf("stop the app in %s: %v %d %s", victim, err, code, out)
	}
	waitFor(t, victim+" to leave the healthy set", time.Minute, func() bool { return !slices.Contains(healthy(), victim) })
	if got := reach(t, url, 6); slices.Contains(got, victim) {
		t.Errorf("requests still reach %s after it left the healthy set: %v", victim, got)
	}
	var replaced []string
	waitFor(t, "the group to replace "+victim, 3*time.Minute, func() bool {
		replaced = healthy()
		return len(replaced) == 2 && !slices.Contains(replaced, victim)
	})
	if got := reach(t, url, 20); !slices.Equal(got, replaced) {
		t.Errorf("after the replacement requests reached %v, want %v", got, replaced)
	}
	acts, err := asc.DescribeScalingActivities(ctx, &as.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("web")})
	must(err)
	found := false
	for _, a := range acts.Activities {
		if aws.ToString(a.Description) == "Terminating EC2 instance: "+victim && strings.Contains(aws.ToString(a.Cause), "ELB system health check failure") {
			found = true
		}
	}
	if !found {
		t.Errorf("no activity terminates %s for its ELB health: %+v", victim, acts.Activities)
	}
	waitFor(t, victim+" to be terminated", time.Minute, func() bool {
		in, ok := s.EC2.Instance(victim)
		return ok && in.State == "terminated"
	})
}

// resolveA asks the DNS server at addr for name's address.
func resolveA(t *testing.T, addr, name string) string {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeA)
	r, err := dns.Exchange(m, addr)
	if err != nil {
		t.Fatalf("resolve %s at %s: %v", name, addr, err)
	}
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			return a.A.String()
		}
	}
	t.Fatalf("%s has no A record at %s: %v", name, addr, r)
	return ""
}

// reach sends n requests to url and returns the distinct answers, sorted.
func reach(t *testing.T, url string, n int) []string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		resp, err := c.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s %v", url, resp.StatusCode, b, err)
		}
		seen[string(b)] = true
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
