package roll_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/roll"
)

// TestListenerRule rolls two services that share one ALB listener, each
// through its own host-header rule, under load on both hosts at once: a
// blue/green roll of a moves a.test to green with no failed request while
// b.test stays on blue throughout; then a canary roll of b moves b.test
// while a.test stays on green.
func TestListenerRule(t *testing.T) {
	t.Parallel()
	needCloud(t)
	shared := newSharedListener(t, "shared")
	a := newService(t, "rulea", serviceOpts{via: viaRule, shared: shared, host: "a.test", priority: 10})
	b := newService(t, "ruleb", serviceOpts{via: viaRule, shared: shared, host: "b.test", priority: 20, extra: `
  canary {
    steps             = [50, 100]
    pause             = "1s"
    analysis_requests = 10
  }`})
	deploy(t, a, "blue")
	deploy(t, b, "blue")

	la, lb := startLoad(t, a), startLoad(t, b)
	waitFor(t, "traffic on blue on both hosts", 30*time.Second, func() bool { return la.Stats().allOn("blue") && lb.Stats().allOn("blue") })
	sum, err := rollTo(t, a, roll.BlueGreen, "green")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	la.Stop()
	lb.Stop()
	sa, sb := la.Stats(), lb.Stats()
	t.Logf("load on a.test: %s", sa)
	t.Logf("load on b.test: %s", sb)
	if sa.Failed != 0 || sb.Failed != 0 {
		t.Errorf("requests failed during the roll of a: a.test %d, b.test %d", sa.Failed, sb.Failed)
	}
	if !sa.allOn("green") || sa.Versions["blue"] == 0 {
		t.Errorf("a.test did not move from blue to green: %s", sa)
	}
	if sb.Versions["green"] != 0 || sb.Versions["blue"] == 0 {
		t.Errorf("b.test left blue while a rolled: %s", sb)
	}
	if g := groupsOf(t, a.name, true); len(g) != 1 || g[0] != sum.Group {
		t.Errorf("a's groups left %v, want only %s", g, sum.Group)
	}

	la, lb = startLoad(t, a), startLoad(t, b)
	waitFor(t, "traffic on both hosts", 30*time.Second, func() bool { return la.Stats().allOn("green") && lb.Stats().allOn("blue") })
	if _, err := rollTo(t, b, roll.Canary, "green"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	la.Stop()
	lb.Stop()
	sa, sb = la.Stats(), lb.Stats()
	t.Logf("load on a.test: %s", sa)
	t.Logf("load on b.test: %s", sb)
	if sa.Failed != 0 || sb.Failed != 0 {
		t.Errorf("requests failed during the canary of b: a.test %d, b.test %d", sa.Failed, sb.Failed)
	}
	if !sb.allOn("green") || sb.Versions["blue"] == 0 {
		t.Errorf("b.test did not move from blue to green: %s", sb)
	}
	if sa.Versions["blue"] != 0 {
		t.Errorf("a.test left green while b rolled: %s", sa)
	}
}

// TestListenerRuleRolling replaces the instances of a service behind a
// rule of a shared listener with no failed request on its host.
func TestListenerRuleRolling(t *testing.T) {
	t.Parallel()
	needCloud(t)
	shared := newSharedListener(t, "sharedroll")
	s := newService(t, "ruleroll", serviceOpts{via: viaRule, shared: shared, host: "roll.test", priority: 5, desired: 2})
	deploy(t, s, "blue")
	rollingUnderLoad(t, s, "blue", "green")
}

// TestListenerRuleBadInput: a rule that does not exist, a listener's
// default rule and another service's rule are refused before anything
// changes.
func TestListenerRuleBadInput(t *testing.T) {
	t.Parallel()
	needCloud(t)
	shared := newSharedListener(t, "sharedbad")
	s := newService(t, "rulebad", serviceOpts{via: viaRule, shared: shared, host: "bad.test", priority: 1})
	other := newService(t, "ruleother", serviceOpts{via: viaRule, shared: shared, host: "other.test", priority: 2})
	rules, err := cloud.elb.DescribeRules(context.Background(), &elb.DescribeRulesInput{ListenerArn: aws.String(shared.arn)})
	must(t, err)
	def := aws.ToString(rules.Rules[len(rules.Rules)-1].RuleArn)
	src, err := os.ReadFile(s.file)
	must(t, err)
	missing := s.rule[:len(s.rule)-4] + "0000"
	for _, c := range []struct {
		name  string
		rule  string
		wants []string
	}{
		{"rule does not exist", missing, []string{"listener rule " + missing + " does not exist", "traffic.listener_rule"}},
		{"default rule", def, []string{"default rule", "traffic.listener"}},
		{"another service's rule", other.rule, []string{"does not belong to the service", other.tgs[0]}},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := strings.TrimSuffix(s.file, roll.FileSuffix) + "-" + strings.ReplaceAll(c.name, " ", "-") + roll.FileSuffix
			must(t, os.WriteFile(file, bytes.Replace(src, []byte(s.rule), []byte(c.rule), 1), 0o644))
			bad := *s
			bad.file = file
			_, err := rollTo(t, &bad, roll.BlueGreen, "blue")
			if !bake.IsBadInput(err) {
				t.Fatalf("err %v, want bad input", err)
			}
			for _, w := range c.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q: %v", w, err)
				}
			}
		})
	}
	if g := groupsOf(t, s.name, true); len(g) != 0 {
		t.Errorf("bad input created groups %v", g)
	}
}
