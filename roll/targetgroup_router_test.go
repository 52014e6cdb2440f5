package roll

// Unit tests of the single target group router over in-memory fakes of
// Auto Scaling and ELBv2: the order of its calls and the groups it may
// touch.

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/bakehq/bake/bake"
)

// attachments is Auto Scaling's groups and their target groups, and ELB's
// view of their targets, in memory; calls records what was changed, in
// order.
type attachments struct {
	noGroups
	mu      sync.Mutex
	groups  []astypes.AutoScalingGroup
	healthy func(group string) bool
	calls   []string
}

func (a *attachments) group(name string) *astypes.AutoScalingGroup {
	for i := range a.groups {
		if aws.ToString(a.groups[i].AutoScalingGroupName) == name {
			return &a.groups[i]
		}
	}
	return nil
}

func (a *attachments) DescribeAutoScalingGroups(_ context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := &autoscaling.DescribeAutoScalingGroupsOutput{}
	for _, g := range a.groups {
		if len(in.AutoScalingGroupNames) > 0 && !slices.Contains(in.AutoScalingGroupNames, aws.ToString(g.AutoScalingGroupName)) {
			continue
		}
		ok := true
		for _, f := range in.Filters {
			if k, isTag := strings.CutPrefix(aws.ToString(f.Name), "tag:"); isTag && !slices.Contains(f.Values, tagOf(g, k)) {
				ok = false
			}
		}
		if ok {
			g.TargetGroupARNs = slices.Clone(g.TargetGroupARNs)
			out.AutoScalingGroups = append(out.AutoScalingGroups, g)
		}
	}
	return out, nil
}

func (a *attachments) AttachLoadBalancerTargetGroups(_ context.Context, in *autoscaling.AttachLoadBalancerTargetGroupsInput, _ ...func(*autoscaling.Options)) (*autoscaling.AttachLoadBalancerTargetGroupsOutput, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	g := a.group(aws.ToString(in.AutoScalingGroupName))
	g.TargetGroupARNs = append(g.TargetGroupARNs, in.TargetGroupARNs...)
	a.calls = append(a.calls, "attach "+aws.ToString(in.AutoScalingGroupName))
	return &autoscaling.AttachLoadBalancerTargetGroupsOutput{}, nil
}

func (a *attachments) DetachLoadBalancerTargetGroups(_ context.Context, in *autoscaling.DetachLoadBalancerTargetGroupsInput, _ ...func(*autoscaling.Options)) (*autoscaling.DetachLoadBalancerTargetGroupsOutput, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	g := a.group(aws.ToString(in.AutoScalingGroupName))
	g.TargetGroupARNs = slices.DeleteFunc(g.TargetGroupARNs, func(s string) bool { return slices.Contains(in.TargetGroupARNs, s) })
	a.calls = append(a.calls, "detach "+aws.ToString(in.AutoScalingGroupName))
	return &autoscaling.DetachLoadBalancerTargetGroupsOutput{}, nil
}

// The ELBv2 half: the target group "tg" exists behind a load balancer,
// and a group's instances are healthy in it when healthy says so.
func (a *attachments) DescribeListeners(context.Context, *elb.DescribeListenersInput, ...func(*elb.Options)) (*elb.DescribeListenersOutput, error) {
	return nil, errors.New("not in this fake")
}

func (a *attachments) ModifyListener(context.Context, *elb.ModifyListenerInput, ...func(*elb.Options)) (*elb.ModifyListenerOutput, error) {
	return nil, errors.New("not in this fake")
}

func (a *attachments) DescribeTargetGroups(_ context.Context, in *elb.DescribeTargetGroupsInput, _ ...func(*elb.Options)) (*elb.DescribeTargetGroupsOutput, error) {
	if !slices.Equal(in.TargetGroupArns, []string{"tg"}) {
		return nil, &smithy.GenericAPIError{Code: "TargetGroupNotFound", Message: "One or more target groups not found"}
	}
	return &elb.DescribeTargetGroupsOutput{TargetGroups: []elbtypes.TargetGroup{{TargetGroupArn: aws.String("tg"), LoadBalancerArns: []string{"lb"}}}}, nil
}

func (a *attachments) DescribeTargetHealth(_ context.Context, in *elb.DescribeTargetHealthInput, _ ...func(*elb.Options)) (*elb.DescribeTargetHealthOutput, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := &elb.DescribeTargetHealthOutput{}
	for _, t := range in.Targets {
		state := elbtypes.TargetHealthStateEnumUnused
		for _, g := range a.groups {
			for _, i := range g.Instances {
				if aws.ToString(i.InstanceId) == aws.ToString(t.Id) && slices.Contains(g.TargetGroupARNs, aws.ToString(in.TargetGroupArn)) {
					state = elbtypes.TargetHealthStateEnumInitial
					if a.healthy(aws.ToString(g.AutoScalingGroupName)) {
						state = elbtypes.TargetHealthStateEnumHealthy
					}
				}
			}
		}
		out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, elbtypes.TargetHealthDescription{Target: &elbtypes.TargetDescription{Id: t.Id},
			TargetHealth: &elbtypes.TargetHealth{State: state}})
	}
	return out, nil
}

func (a *attachments) Calls() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.calls)
}

func asGroup(name, service, slot string, tgs ...string) astypes.AutoScalingGroup {
	g := astypes.AutoScalingGroup{AutoScalingGroupName: aws.String(name), DesiredCapacity: aws.Int32(1), TargetGroupARNs: tgs,
		Instances: []astypes.Instance{{InstanceId: aws.String("i-" + name), LifecycleState: astypes.LifecycleStateInService}}}
	if service != "" {
		g.Tags = []astypes.TagDescription{{Key: aws.String(TagService), Value: aws.String(service)}, {Key: aws.String(TagSlot), Value: aws.String(slot)}}
	}
	return g
}

// newAttachments: blue (slot a) attached, green (slot b) not, and a group
// of another service attached to the same target group.
func newAttachments(healthy func(string) bool) (*attachments, *groupRouter) {
	a := &attachments{healthy: healthy, groups: []astypes.AutoScalingGroup{
		asGroup("blue", "svc", "a", "tg"), asGroup("green", "svc", "b"), asGroup("other", "", "", "tg"),
	}}
	return a, &groupRouter{groups: a, lbs: a, tg: "tg", service: "svc", wait: 300 * time.Millisecond, every: 10 * time.Millisecond}
}

// TestGroupRouterSwitch: green is attached, waited for, and only then is
// blue detached; the other service's group is never touched; weights
// follow the attachments; undo is the reverse.
func TestGroupRouterSwitch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	looks := 0
	var mu sync.Mutex
	a, g := newAttachments(func(group string) bool {
		mu.Lock()
		defer mu.Unlock()
		if group == "green" {
			looks++
			return looks > 3 // initial for the first three looks
		}
		return true
	})
	if w, err := g.Weights(ctx); err != nil || w["a"] != 100 || w["b"] != 0 {
		t.Fatalf("weights before %v %v", w, err)
	}
	if err := g.Set(ctx, map[string]int{"a": 0, "b": 100}); err != nil {
		t.Fatal(err)
	}
	if c := a.Calls(); !slices.Equal(c, []string{"attach green", "detach blue"}) {
		t.Errorf("calls %v, want attach green, detach blue", c)
	}
	if looks < 4 {
		t.Errorf("blue detached after %d looks at green, before green was healthy", looks)
	}
	if w, err := g.Weights(ctx); err != nil || w["a"] != 0 || w["b"] != 100 {
		t.Errorf("weights after %v %v", w, err)
	}
	if err := g.Set(ctx, map[string]int{"a": 100, "b": 0}); err != nil {
		t.Fatal(err)
	}
	if c := a.Calls(); !slices.Equal(c, []string{"attach green", "detach blue", "attach blue", "detach green"}) {
		t.Errorf("calls %v, want the switch then attach blue, detach green", c)
	}
	if tgs := a.group("other").TargetGroupARNs; !slices.Equal(tgs, []string{"tg"}) {
		t.Errorf("the other service's group was detached: %v", tgs)
	}
	// Nothing to change: no call, no wait.
	if err := g.Set(ctx, map[string]int{"a": 100, "b": 0}); err != nil || len(a.Calls()) != 4 {
		t.Errorf("a Set that changes nothing: %v, calls %v", err, a.Calls())
	}
}

// TestGroupRouterGreenNeverHealthy: a green that is not healthy in the
// target group within the wait is a rollback, and blue stays attached.
func TestGroupRouterGreenNeverHealthy(t *testing.T) {
	t.Parallel()
	a, g := newAttachments(func(group string) bool { return group != "green" })
	err := g.Set(context.Background(), map[string]int{"a": 0, "b": 100})
	var rb *errRollback
	if !errors.As(err, &rb) || !strings.Contains(err.Error(), "group green was not healthy in target group tg") || !strings.Contains(err.Error(), "health.wait_timeout") {
		t.Fatalf("Set to a never-healthy green: %v", err)
	}
	if c := a.Calls(); !slices.Equal(c, []string{"attach green"}) {
		t.Errorf("calls %v, want only attach green (blue kept)", c)
	}
}

// TestGroupRouterRefuses: no group in the slot given traffic is an error
// that detaches nothing; a missing target group is bad input.
func TestGroupRouterRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, g := newAttachments(func(string) bool { return true })
	if err := g.Set(ctx, map[string]int{"a": 0, "c": 100}); err == nil || !strings.Contains(err.Error(), "no group in a slot given traffic") {
		t.Errorf("Set to an empty slot: %v", err)
	}
	if c := a.Calls(); len(c) != 0 {
		t.Errorf("calls %v, want none", c)
	}
	if err := g.Check(ctx); err != nil {
		t.Errorf("check: %v", err)
	}
	g.tg = "tg-gone"
	if err := g.Check(ctx); !bake.IsBadInput(err) || !strings.Contains(err.Error(), "target group tg-gone of service svc does not exist") {
		t.Errorf("check of a missing target group: %v", err)
	}
}
