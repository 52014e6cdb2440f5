package elbv2_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/bakehq/bake/sim/core"
)

func fwd(tg *string) []types.Action {
	return []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: tg}}
}

func hostIs(v ...string) []types.RuleCondition {
	return []types.RuleCondition{{Field: aws.String("host-header"), Values: v}}
}

// getHost GETs path through the load balancer at addr with Host: host and
// returns the answering app's name.
func getHost(t *testing.T, addr, host, path string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s%s (Host %s): %d %s", addr, path, host, resp.StatusCode, b)
	}
	return string(b)
}

func TestListenerRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	apps := map[string]*app{}
	for _, id := range []string{"i-dddd", "i-hhhh", "i-pppp"} {
		apps[id] = e.newApp(t, id)
	}
	lb := e.lb(t, ctx, "shared")
	groups := map[string]types.TargetGroup{}
	for name, id := range map[string]string{"dflt": "i-dddd", "host": "i-hhhh", "path": "i-pppp"} {
		groups[name] = e.tg(t, ctx, name)
		do(e.c.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: groups[name].TargetGroupArn,
			Targets: []types.TargetDescription{{Id: aws.String(id), Port: aws.Int32(apps[id].port())}}})).must(t)
	}
	ln := do(e.c.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Port: aws.Int32(8080),
		Protocol: types.ProtocolEnumHttp, DefaultActions: fwd(groups["dflt"].TargetGroupArn)})).must(t).Listeners[0]

	// Create: a host rule (Values) and a path rule (PathPatternConfig).
	hostRule := do(e.c.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: ln.ListenerArn, Priority: aws.Int32(20),
		Conditions: hostIs("a.test", "*.a.test"), Actions: fwd(groups["host"].TargetGroupArn)})).must(t).Rules[0]
	if aws.ToString(hostRule.Priority) != "20" || aws.ToBool(hostRule.IsDefault) || len(hostRule.Conditions) != 1 ||
		hostRule.Conditions[0].HostHeaderConfig == nil || len(hostRule.Conditions[0].HostHeaderConfig.Values) != 2 ||
		!strings.Contains(aws.ToString(hostRule.RuleArn), ":listener-rule/app/shared/") {
		t.Errorf("created rule %+v", hostRule)
	}
	pathRule := do(e.c.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: ln.ListenerArn, Priority: aws.Int32(10),
		Conditions: []types.RuleCondition{{Field: aws.String("path-pattern"), PathPatternConfig: &types.PathPatternConditionConfig{Values: []string{"/api/*", "/v?/x"}}}},
		Actions:    []types.Action{{Type: types.ActionTypeEnumForward, ForwardConfig: &types.ForwardActionConfig{TargetGroups: []types.TargetGroupTuple{{TargetGroupArn: groups["path"].TargetGroupArn, Weight: aws.Int32(5)}}}}},
	})).must(t).Rules[0]

	// Describe: by priority, the default rule last; or by ARN.
	rules := do(e.c.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: ln.ListenerArn})).must(t).Rules
	if len(rules) != 3 || aws.ToString(rules[0].Priority) != "10" || aws.ToString(rules[1].Priority) != "20" ||
		!aws.ToBool(rules[2].IsDefault) || aws.ToString(rules[2].Priority) != "default" {
		t.Fatalf("rules %+v", rules)
	}
	byArn := do(e.c.DescribeRules(ctx, &elb.DescribeRulesInput{RuleArns: []string{aws.ToString(hostRule.RuleArn), aws.ToString(rules[2].RuleArn)}})).must(t).Rules
	if len(byArn) != 2 || aws.ToString(byArn[0].RuleArn) != aws.ToString(hostRule.RuleArn) || !aws.ToBool(byArn[1].IsDefault) {
		t.Errorf("rules by ARN %+v", byArn)
	}

	// A rule's target groups are in use by the load balancer.
	tgs := do(e.c.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{aws.ToString(groups["host"].TargetGroupArn)}})).must(t)
	if got := tgs.TargetGroups[0].LoadBalancerArns; len(got) != 1 || got[0] != aws.ToString(lb.LoadBalancerArn) {
		t.Errorf("a rule's target group's load balancers: %v", got)
	}
	if _, err := e.c.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: groups["host"].TargetGroupArn}); apiCode(err) != "ResourceInUse" {
		t.Errorf("delete a target group a rule uses: %v", err)
	}

	for id, name := range map[string]string{"i-dddd": "dflt", "i-hhhh": "host", "i-pppp": "path"} {
		e.waitHealth(t, ctx, aws.ToString(groups[name].TargetGroupArn), id, types.TargetHealthStateEnumHealthy)
	}
	addr := net.JoinHostPort(e.resolve(t, aws.ToString(lb.DNSName)), "8080")
	for _, c := range []struct{ host, path, want string }{
		{"a.test", "/", "i-hhhh"},
		{"A.Test:8080", "/x", "i-hhhh"},        // case-insensitive, port ignored
		{"www.a.test", "/", "i-hhhh"},          // wildcard
		{"a.test", "/api/users", "i-pppp"},     // priority 10 before 20
		{"other.test", "/api/", "i-pppp"},      // any host
		{"other.test", "/v2/x", "i-pppp"},      // ?
		{"other.test", "/API/users", "i-dddd"}, // paths are case-sensitive
		{"other.test", "/v22/x", "i-dddd"},
		{"b.test", "/", "i-dddd"},
		{"xa.test", "/", "i-dddd"},
	} {
		if got := getHost(t, addr, c.host, c.path); got != c.want {
			t.Errorf("Host %s path %s reached %s, want %s", c.host, c.path, got, c.want)
		}
	}

	// Modify: the host rule now also needs a path, and forwards elsewhere.
	mod := do(e.c.ModifyRule(ctx, &elb.ModifyRuleInput{RuleArn: hostRule.RuleArn,
		Conditions: append(hostIs("a.test"), types.RuleCondition{Field: aws.String("path-pattern"), Values: []string{"/only"}}),
		Actions:    fwd(groups["dflt"].TargetGroupArn)})).must(t).Rules[0]
	if len(mod.Conditions) != 2 || aws.ToString(mod.Priority) != "20" {
		t.Errorf("modified rule %+v", mod)
	}
	if got := getHost(t, addr, "a.test", "/"); got != "i-dddd" {
		t.Errorf("after modify, a.test / reached %s", got)
	}
	do(e.c.ModifyRule(ctx, &elb.ModifyRuleInput{RuleArn: hostRule.RuleArn, Actions: fwd(groups["host"].TargetGroupArn)})).must(t)
	// Out of use for a moment, the group checks its target afresh, as on ELB.
	e.waitHealth(t, ctx, aws.ToString(groups["host"].TargetGroupArn), "i-hhhh", types.TargetHealthStateEnumHealthy)
	if got := getHost(t, addr, "a.test", "/only"); got != "i-hhhh" {
		t.Errorf("after modify, a.test /only reached %s", got)
	}

	// Delete: the default rule cannot go; a deleted rule stops routing.
	if _, err := e.c.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: rules[2].RuleArn}); apiCode(err) != "OperationNotPermitted" {
		t.Errorf("delete the default rule: %v", err)
	}
	do(e.c.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: pathRule.RuleArn})).must(t)
	if got := getHost(t, addr, "other.test", "/api/users"); got != "i-dddd" {
		t.Errorf("after delete, /api/users reached %s", got)
	}
	if _, err := e.c.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: pathRule.RuleArn}); apiCode(err) != "RuleNotFound" {
		t.Errorf("delete a deleted rule: %v", err)
	}
	do(e.c.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: groups["path"].TargetGroupArn})).must(t)

	// Deleting the listener takes its rules.
	do(e.c.DeleteListener(ctx, &elb.DeleteListenerInput{ListenerArn: ln.ListenerArn})).must(t)
	if _, err := e.c.DescribeRules(ctx, &elb.DescribeRulesInput{RuleArns: []string{aws.ToString(hostRule.RuleArn)}}); apiCode(err) != "RuleNotFound" {
		t.Errorf("a deleted listener's rule: %v", err)
	}
	do(e.c.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: groups["host"].TargetGroupArn})).must(t)
}

func TestListenerRuleBadInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	lb := e.lb(t, ctx, "bad")
	tg := e.tg(t, ctx, "bad")
	ln := do(e.c.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Port: aws.Int32(8080),
		Protocol: types.ProtocolEnumHttp, DefaultActions: fwd(tg.TargetGroupArn)})).must(t).Listeners[0]
	do(e.c.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: ln.ListenerArn, Priority: aws.Int32(1),
		Conditions: hostIs("a.test"), Actions: fwd(tg.TargetGroupArn)})).must(t)
	missingTG := strings.Replace(aws.ToString(tg.TargetGroupArn), "/bad/", "/nope/", 1)
	for _, c := range []struct {
		name string
		in   elb.CreateRuleInput
		code string
	}{
		{"priority in use", elb.CreateRuleInput{Priority: aws.Int32(1), Conditions: hostIs("b.test")}, "PriorityInUse"},
		{"priority 0", elb.CreateRuleInput{Priority: aws.Int32(0), Conditions: hostIs("b.test")}, "ValidationError"},
		{"priority too high", elb.CreateRuleInput{Priority: aws.Int32(50001), Conditions: hostIs("b.test")}, "ValidationError"},
		{"unsupported field", elb.CreateRuleInput{Priority: aws.Int32(2), Conditions: []types.RuleCondition{{Field: aws.String("http-request-method"), Values: []string{"GET"}}}}, "ValidationError"},
		{"unsupported config", elb.CreateRuleInput{Priority: aws.Int32(2), Conditions: []types.RuleCondition{{Field: aws.String("host-header"), Values: []string{"a"},
			SourceIpConfig: &types.SourceIpConditionConfig{Values: []string{"10.0.0.0/8"}}}}}, "ValidationError"},
		{"six values", elb.CreateRuleInput{Priority: aws.Int32(2), Conditions: hostIs("a", "b", "c", "d", "e", "f")}, "ValidationError"},
		{"no values", elb.CreateRuleInput{Priority: aws.Int32(2), Conditions: hostIs()}, "ValidationError"},
		{"bad character", elb.CreateRuleInput{Priority: aws.Int32(2), Conditions: hostIs("a b")}, "ValidationError"},
		{"two host conditions", elb.CreateRuleInput{Priority: aws.Int32(2), Conditions: append(hostIs("a"), hostIs("b")...)}, "ValidationError"},
		{"no such target group", elb.CreateRuleInput{Priority: aws.Int32(2), Conditions: hostIs("b.test"), Actions: fwd(aws.String(missingTG))}, "TargetGroupNotFound"},
		{"no such listener", elb.CreateRuleInput{ListenerArn: aws.String(aws.ToString(ln.ListenerArn) + "0"), Priority: aws.Int32(2), Conditions: hostIs("b.test")}, "ListenerNotFound"},
	} {
		in := c.in
		if in.ListenerArn == nil {
			in.ListenerArn = ln.ListenerArn
		}
		if in.Actions == nil {
			in.Actions = fwd(tg.TargetGroupArn)
		}
		if _, err := e.c.CreateRule(ctx, &in); apiCode(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
	if _, err := e.c.DescribeRules(ctx, &elb.DescribeRulesInput{}); apiCode(err) != "ValidationError" {
		t.Errorf("describe rules of nothing: %v", err)
	}
	def := do(e.c.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: ln.ListenerArn})).must(t).Rules[1]
	if _, err := e.c.ModifyRule(ctx, &elb.ModifyRuleInput{RuleArn: def.RuleArn, Conditions: hostIs("x")}); apiCode(err) != "OperationNotPermitted" {
		t.Errorf("modify the default rule: %v", err)
	}
	// Deleting the load balancer takes the listener and its rules.
	do(e.c.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: lb.LoadBalancerArn})).must(t)
	do(e.c.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: tg.TargetGroupArn})).must(t)
}

func TestRulesPersistAcrossRestarts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	e := newEnv(t, &core.Store{Dir: dir})
	a := e.newApp(t, "i-aaaa")
	lb := e.lb(t, ctx, "keeprules")
	none, tg := e.tg(t, ctx, "none"), e.tg(t, ctx, "hosted")
	do(e.c.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn,
		Targets: []types.TargetDescription{{Id: aws.String("i-aaaa"), Port: aws.Int32(a.port())}}})).must(t)
	ln := do(e.c.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Port: aws.Int32(8080),
		Protocol: types.ProtocolEnumHttp, DefaultActions: fwd(none.TargetGroupArn)})).must(t).Listeners[0]
	rule := do(e.c.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: ln.ListenerArn, Priority: aws.Int32(7),
		Conditions: hostIs("h.test"), Actions: fwd(tg.TargetGroupArn)})).must(t).Rules[0]
	if err := e.srv.Close(ctx); err != nil {
		t.Fatal(err)
	}

	e2 := newEnv(t, &core.Store{Dir: dir})
	e2.ec2.instances["i-aaaa"] = "127.0.0.1"
	rules := do(e2.c.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: ln.ListenerArn})).must(t).Rules
	if len(rules) != 2 || aws.ToString(rules[0].RuleArn) != aws.ToString(rule.RuleArn) || aws.ToString(rules[0].Priority) != "7" {
		t.Fatalf("restored rules %+v", rules)
	}
	e2.waitHealth(t, ctx, aws.ToString(tg.TargetGroupArn), "i-aaaa", types.TargetHealthStateEnumHealthy)
	if got := getHost(t, net.JoinHostPort(e2.resolve(t, aws.ToString(lb.DNSName)), "8080"), "h.test", "/"); got != "i-aaaa" {
		t.Errorf("restored rule routed to %q", got)
	}
}
