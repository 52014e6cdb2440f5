package sim_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	as "github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/miekg/dns"

	"github.com/bakehq/bake/sim"
)

// TestAWSCLITraffic drives every ELBv2, Route53 and Auto Scaling operation
// the sim serves with Debian's awscli v2 and checks its parsed output and
// error codes; then every captured response is checked under botocore's
// models.
func TestAWSCLITraffic(t *testing.T) {
	t.Parallel()
	s := startSim(t, sim.Options{DNSAddr: "127.0.0.1:0"})
	rec := &recorder{h: s.Server}
	hs := httptest.NewServer(rec)
	t.Cleanup(hs.Close)
	newAWSCLI(t, hs.URL) // skips without the CLI

	t.Run("services", func(t *testing.T) {
		t.Run("elbv2", func(t *testing.T) {
			t.Parallel()
			testELBv2WithCLI(t, s, newAWSCLI(t, hs.URL))
		})
		t.Run("route53", func(t *testing.T) {
			t.Parallel()
			testRoute53WithCLI(t, s, newAWSCLI(t, hs.URL))
		})
		t.Run("autoscaling", func(t *testing.T) {
			t.Parallel()
			testAutoScalingWithCLI(t, s, newAWSCLI(t, hs.URL))
		})
	})
	if t.Failed() {
		return
	}
	calls := filepath.Join(t.TempDir(), "calls.jsonl")
	rec.write(t, calls)
	validateWithBotocore(t, calls)
}

func defaultSubnets(t *testing.T, aws *awsCLI) (vpc string, subnets []string) {
	t.Helper()
	out := aws.ok("ec2", "describe-subnets")
	for i := 0; i < length(out, "Subnets"); i++ {
		subnets = append(subnets, str(out, "Subnets", i, "SubnetId"))
	}
	return str(out, "Subnets", 0, "VpcId"), subnets
}

func testELBv2WithCLI(t *testing.T, s *sim.Sim, aws *awsCLI) {
	vpc, subnets := defaultSubnets(t, aws)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "app") }))
	t.Cleanup(app.Close)
	_, port, _ := net.SplitHostPort(app.Listener.Addr().String())

	lb := aws.ok("elbv2", "create-load-balancer", "--name", "cli-lb", "--subnets", subnets[0], subnets[1],
		"--tags", "Key=team,Value=sre")
	lbArn := str(lb, "LoadBalancers", 0, "LoadBalancerArn")
	dnsName := str(lb, "LoadBalancers", 0, "DNSName")
	if str(lb, "LoadBalancers", 0, "State", "Code") != "provisioning" || str(lb, "LoadBalancers", 0, "Type") != "application" ||
		length(lb, "LoadBalancers", 0, "AvailabilityZones") != 2 || str(lb, "LoadBalancers", 0, "VpcId") != vpc {
		t.Fatalf("create-load-balancer = %v", lb)
	}
	aws.fails("ValidationError", "elbv2", "create-load-balancer", "--name=-bad-", "--subnets", subnets[0], subnets[1])
	aws.fails("ValidationError", "elbv2", "create-load-balancer", "--name", "one-subnet", "--subnets", subnets[0])
	aws.fails("SubnetNotFound", "elbv2", "create-load-balancer", "--name", "no-subnet", "--subnets", subnets[0], "subnet-00000000000000000")
	if got := str(aws.ok("elbv2", "describe-load-balancers", "--names", "cli-lb"), "LoadBalancers", 0, "State", "Code"); got != "active" {
		t.Fatalf("state = %q", got)
	}
	aws.fails("LoadBalancerNotFound", "elbv2", "describe-load-balancers", "--names", "nope")
	attrs := aws.ok("elbv2", "modify-load-balancer-attributes", "--load-balancer-arn", lbArn, "--attributes", "Key=idle_timeout.timeout_seconds,Value=120")
	if length(attrs, "Attributes") < 3 {
		t.Fatalf("modify-load-balancer-attributes = %v", attrs)
	}
	if n := length(aws.ok("elbv2", "describe-load-balancer-attributes", "--load-balancer-arn", lbArn), "Attributes"); n < 3 {
		t.Fatalf("%d load balancer attributes", n)
	}

	tg := aws.ok("elbv2", "create-target-group", "--name", "cli-tg", "--protocol", "HTTP", "--port", port, "--vpc-id", vpc,
		"--target-type", "ip", "--health-check-path", "/", "--health-check-interval-seconds", "5", "--health-check-timeout-seconds", "2",
		"--healthy-threshold-count", "2", "--matcher", "HttpCode=200-299")
	tgArn := str(tg, "TargetGroups", 0, "TargetGroupArn")
	if str(tg, "TargetGroups", 0, "TargetType") != "ip" || str(tg, "TargetGroups", 0, "Matcher", "HttpCode") != "200-299" {
		t.Fatalf("create-target-group = %v", tg)
	}
	aws.fails("ValidationError", "elbv2", "create-target-group", "--name", "bad-hc", "--protocol", "HTTP", "--port", "80", "--vpc-id", vpc,
		"--health-check-interval-seconds", "5", "--health-check-timeout-seconds", "10")
	mod := aws.ok("elbv2", "modify-target-group", "--target-group-arn", tgArn, "--health-check-path", "/healthz", "--unhealthy-threshold-count", "3")
	if str(mod, "TargetGroups", 0, "HealthCheckPath") != "/healthz" {
		t.Fatalf("modify-target-group = %v", mod)
	}
	aws.ok("elbv2", "modify-target-group", "--target-group-arn", tgArn, "--health-check-path", "/")
	tga := aws.ok("elbv2", "modify-target-group-attributes", "--target-group-arn", tgArn, "--attributes", "Key=deregistration_delay.timeout_seconds,Value=1")
	if length(tga, "Attributes") < 3 {
		t.Fatalf("modify-target-group-attributes = %v", tga)
	}
	aws.fails("ValidationError", "elbv2", "modify-target-group-attributes", "--target-group-arn", tgArn, "--attributes", "Key=deregistration_delay.timeout_seconds,Value=-1")
	if n := length(aws.ok("elbv2", "describe-target-group-attributes", "--target-group-arn", tgArn), "Attributes"); n < 3 {
		t.Fatalf("%d target group attributes", n)
	}
	aws.ok("elbv2", "register-targets", "--target-group-arn", tgArn, "--targets", "Id=127.0.0.1,Port="+port)
	aws.fails("InvalidTarget", "elbv2", "register-targets", "--target-group-arn", tgArn, "--targets", "Id=not-an-ip")
	h := aws.ok("elbv2", "describe-target-health", "--target-group-arn", tgArn)
	if str(h, "TargetHealthDescriptions", 0, "TargetHealth", "State") != "unused" || str(h, "TargetHealthDescriptions", 0, "TargetHealth", "Reason") != "Target.NotInUse" {
		t.Fatalf("describe-target-health before a listener = %v", h)
	}

	ln := aws.ok("elbv2", "create-listener", "--load-balancer-arn", lbArn, "--protocol", "HTTP", "--port", "8080",
		"--default-actions", "Type=forward,TargetGroupArn="+tgArn)
	lnArn := str(ln, "Listeners", 0, "ListenerArn")
	if str(ln, "Listeners", 0, "DefaultActions", 0, "ForwardConfig", "TargetGroups", 0, "TargetGroupArn") != tgArn {
		t.Fatalf("create-listener = %v", ln)
	}
	aws.fails("DuplicateListener", "elbv2", "create-listener", "--load-balancer-arn", lbArn, "--protocol", "HTTP", "--port", "8080",
		"--default-actions", "Type=forward,TargetGroupArn="+tgArn)
	aws.fails("TargetGroupNotFound", "elbv2", "create-listener", "--load-balancer-arn", lbArn, "--protocol", "HTTP", "--port", "8081",
		"--default-actions", "Type=forward,TargetGroupArn="+strings.Replace(tgArn, "cli-tg", "no-tg", 1))
	aws.fails("ResourceInUse", "elbv2", "delete-target-group", "--target-group-arn", tgArn)
	lbc := elb.NewFromConfig(sdkConfig(s.Endpoint())) // waits poll with the SDK: the CLI is slow to start
	waitFor(t, "the ip target to turn healthy", 30*time.Second, func() bool {
		h, err := lbc.DescribeTargetHealth(context.Background(), &elb.DescribeTargetHealthInput{TargetGroupArn: awssdk.String(tgArn)})
		return err == nil && len(h.TargetHealthDescriptions) == 1 && h.TargetHealthDescriptions[0].TargetHealth.State == "healthy"
	})
	if got := str(aws.ok("elbv2", "describe-target-health", "--target-group-arn", tgArn), "TargetHealthDescriptions", 0, "TargetHealth", "State"); got != "healthy" {
		t.Fatalf("target state = %q", got)
	}
	if n := length(aws.ok("elbv2", "describe-listeners", "--load-balancer-arn", lbArn), "Listeners"); n != 1 {
		t.Fatalf("%d listeners", n)
	}
	if n := length(aws.ok("elbv2", "describe-rules", "--listener-arn", lnArn), "Rules"); n != 1 {
		t.Fatalf("%d rules", n)
	}
	if got := get(aws.ok("elbv2", "describe-target-groups", "--load-balancer-arn", lbArn), "TargetGroups", 0, "LoadBalancerArns", 0); got != lbArn {
		t.Fatalf("target group's load balancers = %v", got)
	}

	// The load balancer's DNS name resolves, through the sim's DNS, to where it serves.
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(dnsName), dns.TypeA)
	r, err := dns.Exchange(m, s.DNS.Addr())
	if err != nil || len(r.Answer) != 1 {
		t.Fatalf("resolve %s: %v %v", dnsName, err, r)
	}
	resp, err := http.Get("http://" + net.JoinHostPort(r.Answer[0].(*dns.A).A.String(), "8080") + "/")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET through the load balancer: %v %v", err, resp)
	}
	resp.Body.Close()

	// A second group and a weighted switch.
	tg2 := str(aws.ok("elbv2", "create-target-group", "--name", "cli-tg2", "--protocol", "HTTP", "--port", port, "--vpc-id", vpc,
		"--target-type", "ip"), "TargetGroups", 0, "TargetGroupArn")
	mod = aws.ok("elbv2", "modify-listener", "--listener-arn", lnArn, "--default-actions",
		`[{"Type":"forward","ForwardConfig":{"TargetGroups":[{"TargetGroupArn":"`+tgArn+`","Weight":90},{"TargetGroupArn":"`+tg2+`","Weight":10}]}}]`)
	if length(mod, "Listeners", 0, "DefaultActions", 0, "ForwardConfig", "TargetGroups") != 2 {
		t.Fatalf("modify-listener = %v", mod)
	}
	aws.ok("elbv2", "modify-listener", "--listener-arn", lnArn, "--default-actions", "Type=forward,TargetGroupArn="+tgArn)

	// Listener rules: a host rule forwarding to the second group, by weight.
	rule := aws.ok("elbv2", "create-rule", "--listener-arn", lnArn, "--priority", "10",
		"--conditions", `[{"Field":"host-header","HostHeaderConfig":{"Values":["api.cli.test","*.api.cli.test"]}}]`,
		"--actions", `[{"Type":"forward","ForwardConfig":{"TargetGroups":[{"TargetGroupArn":"`+tgArn+`","Weight":0},{"TargetGroupArn":"`+tg2+`","Weight":1}]}}]`)
	ruleArn := str(rule, "Rules", 0, "RuleArn")
	if str(rule, "Rules", 0, "Priority") != "10" || str(rule, "Rules", 0, "Conditions", 0, "Values", 1) != "*.api.cli.test" {
		t.Fatalf("create-rule = %v", rule)
	}
	aws.fails("PriorityInUse", "elbv2", "create-rule", "--listener-arn", lnArn, "--priority", "10",
		"--conditions", "Field=path-pattern,Values=/x", "--actions", "Type=forward,TargetGroupArn="+tgArn)
	aws.fails("ValidationError", "elbv2", "create-rule", "--listener-arn", lnArn, "--priority", "11",
		"--conditions", "Field=http-request-method,Values=GET", "--actions", "Type=forward,TargetGroupArn="+tgArn)
	rules := aws.ok("elbv2", "describe-rules", "--listener-arn", lnArn)
	if length(rules, "Rules") != 2 || str(rules, "Rules", 0, "RuleArn") != ruleArn || str(rules, "Rules", 1, "Priority") != "default" {
		t.Fatalf("describe-rules = %v", rules)
	}
	if got := str(aws.ok("elbv2", "describe-rules", "--rule-arns", ruleArn), "Rules", 0, "RuleArn"); got != ruleArn {
		t.Fatalf("describe-rules --rule-arns = %v", got)
	}
	aws.fails("OperationNotPermitted", "elbv2", "delete-rule", "--rule-arn", str(rules, "Rules", 1, "RuleArn"))
	aws.fails("ResourceInUse", "elbv2", "delete-target-group", "--target-group-arn", tg2)
	mr := aws.ok("elbv2", "modify-rule", "--rule-arn", ruleArn, "--conditions", "Field=path-pattern,Values=/api/*",
		"--actions", "Type=forward,TargetGroupArn="+tgArn)
	if str(mr, "Rules", 0, "Conditions", 0, "Field") != "path-pattern" || str(mr, "Rules", 0, "Actions", 0, "TargetGroupArn") != tgArn {
		t.Fatalf("modify-rule = %v", mr)
	}
	aws.ok("elbv2", "delete-rule", "--rule-arn", ruleArn)
	aws.fails("RuleNotFound", "elbv2", "describe-rules", "--rule-arns", ruleArn)

	// Tags.
	aws.ok("elbv2", "add-tags", "--resource-arns", lbArn, tgArn, "--tags", "Key=env,Value=test")
	aws.ok("elbv2", "remove-tags", "--resource-arns", lbArn, "--tag-keys", "team")
	tags := aws.ok("elbv2", "describe-tags", "--resource-arns", lbArn, tgArn)
	if length(tags, "TagDescriptions") != 2 || length(tags, "TagDescriptions", 0, "Tags") != 1 || str(tags, "TagDescriptions", 0, "Tags", 0, "Key") != "env" {
		t.Fatalf("describe-tags = %v", tags)
	}
	aws.fails("LoadBalancerNotFound", "elbv2", "add-tags", "--resource-arns", strings.Replace(lbArn, "cli-lb", "no-lb", 1), "--tags", "Key=a,Value=b")

	// Tear down.
	aws.ok("elbv2", "deregister-targets", "--target-group-arn", tgArn, "--targets", "Id=127.0.0.1,Port="+port)
	aws.fails("InvalidTarget", "elbv2", "deregister-targets", "--target-group-arn", tgArn, "--targets", "Id=127.0.0.9,Port="+port)
	aws.ok("elbv2", "delete-listener", "--listener-arn", lnArn)
	aws.fails("ListenerNotFound", "elbv2", "describe-listeners", "--listener-arns", lnArn)
	aws.ok("elbv2", "delete-target-group", "--target-group-arn", tgArn)
	aws.ok("elbv2", "delete-target-group", "--target-group-arn", tg2)
	aws.fails("TargetGroupNotFound", "elbv2", "describe-target-groups", "--target-group-arns", tgArn)
	aws.ok("elbv2", "delete-load-balancer", "--load-balancer-arn", lbArn)
	aws.fails("LoadBalancerNotFound", "elbv2", "describe-load-balancers", "--load-balancer-arns", lbArn)
}

func testRoute53WithCLI(t *testing.T, s *sim.Sim, aws *awsCLI) {
	hz := aws.ok("route53", "create-hosted-zone", "--name", "cli.example.com", "--caller-reference", "cli-1",
		"--hosted-zone-config", "Comment=from the cli")
	id := str(hz, "HostedZone", "Id")
	if !strings.HasPrefix(id, "/hostedzone/Z") || str(hz, "HostedZone", "Name") != "cli.example.com." || length(hz, "DelegationSet", "NameServers") != 4 {
		t.Fatalf("create-hosted-zone = %v", hz)
	}
	aws.fails("HostedZoneAlreadyExists", "route53", "create-hosted-zone", "--name", "cli.example.com", "--caller-reference", "cli-1")
	aws.fails("InvalidDomainName", "route53", "create-hosted-zone", "--name", "bad..name", "--caller-reference", "cli-2")
	if got := str(aws.ok("route53", "get-hosted-zone", "--id", id), "HostedZone", "Config", "Comment"); got != "from the cli" {
		t.Fatalf("comment = %q", got)
	}
	aws.fails("NoSuchHostedZone", "route53", "get-hosted-zone", "--id", "Z0000000000000000000")

	lb := "cli-alias-123.us-east-1.elb.amazonaws.com"
	s.DNS.SetHost(lb, "127.0.99.1")
	batch := `{"Comment":"first","Changes":[
		{"Action":"CREATE","ResourceRecordSet":{"Name":"www.cli.example.com","Type":"A","TTL":300,"ResourceRecords":[{"Value":"127.0.1.1"}]}},
		{"Action":"CREATE","ResourceRecordSet":{"Name":"app.cli.example.com","Type":"CNAME","TTL":60,"ResourceRecords":[{"Value":"www.cli.example.com"}]}},
		{"Action":"CREATE","ResourceRecordSet":{"Name":"canary.cli.example.com","Type":"A","SetIdentifier":"blue","Weight":100,"TTL":10,"ResourceRecords":[{"Value":"127.0.2.1"}]}},
		{"Action":"CREATE","ResourceRecordSet":{"Name":"canary.cli.example.com","Type":"A","SetIdentifier":"green","Weight":0,"TTL":10,"ResourceRecords":[{"Value":"127.0.2.2"}]}},
		{"Action":"CREATE","ResourceRecordSet":{"Name":"lb.cli.example.com","Type":"A","AliasTarget":{"HostedZoneId":"Z35SXDOTRQ7X7K","DNSName":"` + lb + `","EvaluateTargetHealth":true}}}
	]}`
	ch := aws.ok("route53", "change-resource-record-sets", "--hosted-zone-id", id, "--change-batch", batch)
	if str(ch, "ChangeInfo", "Status") != "PENDING" {
		t.Fatalf("change = %v", ch)
	}
	if got := str(aws.ok("route53", "get-change", "--id", str(ch, "ChangeInfo", "Id")), "ChangeInfo", "Status"); got != "INSYNC" {
		t.Fatalf("get-change status = %q", got)
	}
	aws.fails("NoSuchChange", "route53", "get-change", "--id", "C0000000000000")
	aws.fails("InvalidChangeBatch", "route53", "change-resource-record-sets", "--hosted-zone-id", id, "--change-batch",
		`{"Changes":[{"Action":"CREATE","ResourceRecordSet":{"Name":"www.cli.example.com","Type":"A","TTL":300,"ResourceRecords":[{"Value":"127.0.1.1"}]}}]}`)
	aws.fails("InvalidChangeBatch", "route53", "change-resource-record-sets", "--hosted-zone-id", id, "--change-batch",
		`{"Changes":[{"Action":"DELETE","ResourceRecordSet":{"Name":"nope.cli.example.com","Type":"A","TTL":300,"ResourceRecords":[{"Value":"127.0.1.1"}]}}]}`)
	aws.fails("InvalidInput", "route53", "change-resource-record-sets", "--hosted-zone-id", id, "--change-batch",
		`{"Changes":[{"Action":"CREATE","ResourceRecordSet":{"Name":"x.cli.example.com","Type":"A","ResourceRecords":[{"Value":"127.0.1.1"}]}}]}`)
	aws.fails("NoSuchHostedZone", "route53", "change-resource-record-sets", "--hosted-zone-id", "Z0000000000000000000", "--change-batch", batch)

	for name, want := range map[string]string{"www": "127.0.1.1", "app": "127.0.1.1", "canary": "127.0.2.1", "lb": "127.0.99.1"} {
		m := new(dns.Msg)
		m.SetQuestion(name+".cli.example.com.", dns.TypeA)
		r, err := dns.Exchange(m, s.DNS.Addr())
		if err != nil || len(r.Answer) == 0 {
			t.Fatalf("resolve %s: %v %v", name, err, r)
		}
		if a, ok := r.Answer[len(r.Answer)-1].(*dns.A); !ok || a.A.String() != want {
			t.Fatalf("%s answers %v, want %s", name, r.Answer, want)
		}
	}

	aws.ok("route53", "change-resource-record-sets", "--hosted-zone-id", id, "--change-batch",
		`{"Changes":[{"Action":"UPSERT","ResourceRecordSet":{"Name":"www.cli.example.com","Type":"A","TTL":30,"ResourceRecords":[{"Value":"127.0.1.5"}]}}]}`)
	rrs := aws.ok("route53", "list-resource-record-sets", "--hosted-zone-id", id)
	if n := length(rrs, "ResourceRecordSets"); n != 7 {
		t.Fatalf("%d record sets: %v", n, rrs)
	}
	page := aws.ok("route53", "list-resource-record-sets", "--hosted-zone-id", id, "--start-record-name", "www.cli.example.com", "--start-record-type", "A")
	if str(page, "ResourceRecordSets", 0, "ResourceRecords", 0, "Value") != "127.0.1.5" {
		t.Fatalf("record after UPSERT = %v", page)
	}
	if n := length(aws.ok("route53", "list-hosted-zones"), "HostedZones"); n < 1 {
		t.Fatalf("%d hosted zones", n)
	}
	byName := aws.ok("route53", "list-hosted-zones-by-name", "--dns-name", "cli.example.com")
	if str(byName, "HostedZones", 0, "Id") != id {
		t.Fatalf("list-hosted-zones-by-name = %v", byName)
	}
	aws.fails("HostedZoneNotEmpty", "route53", "delete-hosted-zone", "--id", id)
	aws.ok("route53", "change-resource-record-sets", "--hosted-zone-id", id, "--change-batch", `{"Changes":[
		{"Action":"DELETE","ResourceRecordSet":{"Name":"www.cli.example.com","Type":"A","TTL":30,"ResourceRecords":[{"Value":"127.0.1.5"}]}},
		{"Action":"DELETE","ResourceRecordSet":{"Name":"app.cli.example.com","Type":"CNAME","TTL":60,"ResourceRecords":[{"Value":"www.cli.example.com"}]}},
		{"Action":"DELETE","ResourceRecordSet":{"Name":"canary.cli.example.com","Type":"A","SetIdentifier":"blue","Weight":100,"TTL":10,"ResourceRecords":[{"Value":"127.0.2.1"}]}},
		{"Action":"DELETE","ResourceRecordSet":{"Name":"canary.cli.example.com","Type":"A","SetIdentifier":"green","Weight":0,"TTL":10,"ResourceRecords":[{"Value":"127.0.2.2"}]}},
		{"Action":"DELETE","ResourceRecordSet":{"Name":"lb.cli.example.com","Type":"A","AliasTarget":{"HostedZoneId":"Z35SXDOTRQ7X7K","DNSName":"`+lb+`","EvaluateTargetHealth":true}}}]}`)
	aws.ok("route53", "delete-hosted-zone", "--id", id)
	aws.fails("NoSuchHostedZone", "route53", "list-resource-record-sets", "--hosted-zone-id", id)
}

func testAutoScalingWithCLI(t *testing.T, s *sim.Sim, aws *awsCLI) {
	vpc, subnets := defaultSubnets(t, aws)
	debian := str(aws.ok("ec2", "describe-images", "--owners", "136693071363", "--filters", "Name=name,Values=debian-12-amd64-*"), "Images", 0, "ImageId")
	aws.ok("ec2", "create-launch-template", "--launch-template-name", "cli-asg",
		"--launch-template-data", `{"ImageId":"`+debian+`","InstanceType":"t3.micro"}`)
	tgArn := str(aws.ok("elbv2", "create-target-group", "--name", "cli-asg-tg", "--protocol", "HTTP", "--port", "80", "--vpc-id", vpc),
		"TargetGroups", 0, "TargetGroupArn")

	aws.ok("autoscaling", "create-auto-scaling-group", "--auto-scaling-group-name", "cli-asg",
		"--launch-template", "LaunchTemplateName=cli-asg,Version=$Latest", "--min-size", "0", "--max-size", "2", "--desired-capacity", "1",
		"--vpc-zone-identifier", strings.Join(subnets, ","), "--health-check-type", "EC2",
		"--tags", "Key=team,Value=sre,PropagateAtLaunch=true")
	aws.fails("AlreadyExists", "autoscaling", "create-auto-scaling-group", "--auto-scaling-group-name", "cli-asg",
		"--launch-template", "LaunchTemplateName=cli-asg", "--min-size", "0", "--max-size", "1", "--vpc-zone-identifier", subnets[0])
	aws.fails("ValidationError", "autoscaling", "create-auto-scaling-group", "--auto-scaling-group-name", "cli-bad",
		"--launch-template", "LaunchTemplateName=cli-asg", "--min-size", "3", "--max-size", "1", "--vpc-zone-identifier", subnets[0])
	aws.fails("ValidationError", "autoscaling", "create-auto-scaling-group", "--auto-scaling-group-name", "cli-bad",
		"--min-size", "0", "--max-size", "1", "--vpc-zone-identifier", subnets[0])

	asc := as.NewFromConfig(sdkConfig(s.Endpoint())) // waits poll with the SDK: the CLI is slow to start
	instances := func() []astypes.Instance {
		out, err := asc.DescribeAutoScalingGroups(context.Background(), &as.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"cli-asg"}})
		if err != nil || len(out.AutoScalingGroups) == 0 {
			return nil
		}
		return out.AutoScalingGroups[0].Instances
	}
	waitFor(t, "the group's instance to be in service", 90*time.Second, func() bool {
		is := instances()
		return len(is) == 1 && is[0].LifecycleState == astypes.LifecycleStateInService
	})
	g := aws.ok("autoscaling", "describe-auto-scaling-groups", "--auto-scaling-group-names", "cli-asg")
	iid := str(g, "AutoScalingGroups", 0, "Instances", 0, "InstanceId")
	if str(g, "AutoScalingGroups", 0, "Instances", 0, "LifecycleState") != "InService" || str(g, "AutoScalingGroups", 0, "HealthCheckType") != "EC2" {
		t.Fatalf("describe-auto-scaling-groups = %v", g)
	}
	inst := aws.ok("ec2", "describe-instances", "--instance-ids", iid)
	tags := fmt.Sprint(get(inst, "Reservations", 0, "Instances", 0, "Tags"))
	if !strings.Contains(tags, "aws:autoscaling:groupName") || !strings.Contains(tags, "sre") {
		t.Fatalf("instance tags = %s", tags)
	}
	details := aws.ok("autoscaling", "describe-auto-scaling-instances", "--instance-ids", iid)
	if str(details, "AutoScalingInstances", 0, "AutoScalingGroupName") != "cli-asg" || str(details, "AutoScalingInstances", 0, "HealthStatus") != "HEALTHY" {
		t.Fatalf("describe-auto-scaling-instances = %v", details)
	}

	aws.ok("autoscaling", "attach-load-balancer-target-groups", "--auto-scaling-group-name", "cli-asg", "--target-group-arns", tgArn)
	if got := str(aws.ok("autoscaling", "describe-load-balancer-target-groups", "--auto-scaling-group-name", "cli-asg"), "LoadBalancerTargetGroups", 0, "LoadBalancerTargetGroupARN"); got != tgArn {
		t.Fatalf("target group = %q", got)
	}
	if got := str(aws.ok("elbv2", "describe-target-health", "--target-group-arn", tgArn), "TargetHealthDescriptions", 0, "Target", "Id"); got != iid {
		t.Fatalf("registered target = %q, want %s", got, iid)
	}
	aws.fails("ValidationError", "autoscaling", "attach-load-balancer-target-groups", "--auto-scaling-group-name", "cli-asg",
		"--target-group-arns", strings.Replace(tgArn, "cli-asg-tg", "no-tg", 1))
	aws.ok("autoscaling", "detach-load-balancer-target-groups", "--auto-scaling-group-name", "cli-asg", "--target-group-arns", tgArn)

	aws.ok("autoscaling", "update-auto-scaling-group", "--auto-scaling-group-name", "cli-asg", "--max-size", "3", "--health-check-grace-period", "30")
	g = aws.ok("autoscaling", "describe-auto-scaling-groups", "--auto-scaling-group-names", "cli-asg")
	if get(g, "AutoScalingGroups", 0, "MaxSize") != float64(3) || get(g, "AutoScalingGroups", 0, "HealthCheckGracePeriod") != float64(30) {
		t.Fatalf("updated group = %v", g)
	}
	aws.fails("ValidationError", "autoscaling", "set-desired-capacity", "--auto-scaling-group-name", "cli-asg", "--desired-capacity", "9")
	aws.fails("ValidationError", "autoscaling", "set-desired-capacity", "--auto-scaling-group-name", "nope", "--desired-capacity", "1")

	aws.ok("autoscaling", "create-or-update-tags", "--tags", "ResourceId=cli-asg,ResourceType=auto-scaling-group,Key=env,Value=test,PropagateAtLaunch=false")
	if n := length(aws.ok("autoscaling", "describe-tags", "--filters", "Name=auto-scaling-group,Values=cli-asg"), "Tags"); n != 2 {
		t.Fatalf("%d tags", n)
	}
	aws.ok("autoscaling", "delete-tags", "--tags", "ResourceId=cli-asg,ResourceType=auto-scaling-group,Key=env")
	if n := length(aws.ok("autoscaling", "describe-tags", "--filters", "Name=key,Values=env"), "Tags"); n != 0 {
		t.Fatalf("%d env tags after delete", n)
	}

	aws.ok("autoscaling", "set-instance-health", "--instance-id", iid, "--health-status", "Healthy")
	aws.fails("ValidationError", "autoscaling", "terminate-instance-in-auto-scaling-group", "--instance-id", "i-00000000000000000", "--should-decrement-desired-capacity")
	term := aws.ok("autoscaling", "terminate-instance-in-auto-scaling-group", "--instance-id", iid, "--should-decrement-desired-capacity")
	if !strings.Contains(str(term, "Activity", "Description"), iid) {
		t.Fatalf("terminate = %v", term)
	}
	waitFor(t, "the group to be empty", 60*time.Second, func() bool { return len(instances()) == 0 })
	acts := aws.ok("autoscaling", "describe-scaling-activities", "--auto-scaling-group-name", "cli-asg")
	if n := length(acts, "Activities"); n < 2 || !strings.HasPrefix(str(acts, "Activities", 0, "Description"), "Terminating EC2 instance: ") {
		t.Fatalf("activities = %v", acts)
	}
	aws.ok("autoscaling", "set-desired-capacity", "--auto-scaling-group-name", "cli-asg", "--desired-capacity", "1")
	waitFor(t, "a new instance", 60*time.Second, func() bool { return len(instances()) == 1 })
	aws.fails("ResourceInUse", "autoscaling", "delete-auto-scaling-group", "--auto-scaling-group-name", "cli-asg")
	aws.ok("autoscaling", "delete-auto-scaling-group", "--auto-scaling-group-name", "cli-asg", "--force-delete")
	waitFor(t, "the group to go", 60*time.Second, func() bool {
		out, err := asc.DescribeAutoScalingGroups(context.Background(), &as.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"cli-asg"}})
		return err == nil && len(out.AutoScalingGroups) == 0
	})
	if n := length(aws.ok("autoscaling", "describe-auto-scaling-groups", "--auto-scaling-group-names", "cli-asg"), "AutoScalingGroups"); n != 0 {
		t.Fatalf("%d groups after the delete", n)
	}
	aws.fails("ValidationError", "autoscaling", "delete-auto-scaling-group", "--auto-scaling-group-name", "cli-asg")

}
