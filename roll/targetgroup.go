package roll

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/internal/awserr"
)

// groupRouter is a single target group that the service's groups are
// attached to in turn: a colour takes traffic when its group is attached.
// There are no weights, only 100/0, so a switch is "attach green, wait
// until every green target is healthy in the target group, detach blue"
// (blue's targets drain). It only ever detaches the service's own groups
// (tagged roll:service): green, which roll attached, or blue.
type groupRouter struct {
	groups  GroupsAPI
	lbs     LoadBalancerAPI
	tg      string
	service string
	wait    time.Duration // health.wait_timeout: how long attached targets may take to be healthy
	every   time.Duration // health.interval
	log     bake.Log
}

func (g *groupRouter) String() string { return "target group " + g.tg }

// Allow: one target group is all or nothing, so no strategy that moves
// traffic by weight.
func (g *groupRouter) Allow(strategy string) error {
	switch strategy {
	case Canary, Route53:
		return bake.BadInputf("strategy %s moves traffic by weight, and service %s has a single target group (traffic.target_group = %s), which is all or nothing: use bluegreen or rolling, or give the service a listener with two target_groups", strategy, g.service, g.tg)
	}
	return nil
}

// CreateIn: none; Set attaches a group once it is healthy on its own.
func (g *groupRouter) CreateIn(string) []string { return nil }
func (g *groupRouter) Linger() time.Duration    { return 0 }

// slotGroups are the service's live groups by slot.
func (g *groupRouter) slotGroups(ctx context.Context) (map[string][]astypes.AutoScalingGroup, error) {
	gs, err := serviceGroups(ctx, g.groups, g.service)
	if err != nil {
		return nil, err
	}
	out := map[string][]astypes.AutoScalingGroup{}
	for _, grp := range gs {
		out[tagOf(grp, TagSlot)] = append(out[tagOf(grp, TagSlot)], grp)
	}
	return out, nil
}

// Weights: the slots whose group is attached share the traffic equally
// (100/0, or 50/50 in the middle of a switch).
func (g *groupRouter) Weights(ctx context.Context) (map[string]int, error) {
	bySlot, err := g.slotGroups(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]int{"a": 0, "b": 0}
	var on []string
	for slot, gs := range bySlot {
		for _, grp := range gs {
			if slices.Contains(grp.TargetGroupARNs, g.tg) {
				on = append(on, slot)
				break
			}
		}
	}
	for _, slot := range on {
		out[slot] = 100 / len(on)
	}
	return out, nil
}

// Set attaches the groups of the slots given traffic, waits until every
// one of their targets is healthy in the target group, and only then
// detaches the groups of the slots given none. When nothing needs
// attaching or detaching it changes nothing and does not wait.
func (g *groupRouter) Set(ctx context.Context, w map[string]int) error {
	bySlot, err := g.slotGroups(ctx)
	if err != nil {
		return err
	}
	var on, off []astypes.AutoScalingGroup
	attached := false
	for slot, gs := range bySlot {
		for _, grp := range gs {
			has := slices.Contains(grp.TargetGroupARNs, g.tg)
			switch {
			case w[slot] > 0:
				on = append(on, grp)
				if !has {
					name := aws.ToString(grp.AutoScalingGroupName)
					if _, err := g.groups.AttachLoadBalancerTargetGroups(ctx, &autoscaling.AttachLoadBalancerTargetGroupsInput{
						AutoScalingGroupName: aws.String(name), TargetGroupARNs: []string{g.tg}}); err != nil {
						return fmt.Errorf("attach group %s to target group %s: %w", name, g.tg, err)
					}
					g.log.Info(fmt.Sprintf("attached group %s to target group %s", name, g.tg))
					attached = true
				}
			case has:
				off = append(off, grp)
			}
		}
	}
	if len(on) == 0 {
		return fmt.Errorf("set target group %s to %s: the service has no group in a slot given traffic, so detaching the others would leave it with none", g.tg, weightString(w))
	}
	if !attached && len(off) == 0 {
		return nil
	}
	for _, grp := range on {
		if err := g.waitHealthy(ctx, aws.ToString(grp.AutoScalingGroupName)); err != nil {
			return err
		}
	}
	for _, grp := range off {
		name := aws.ToString(grp.AutoScalingGroupName)
		if _, err := g.groups.DetachLoadBalancerTargetGroups(ctx, &autoscaling.DetachLoadBalancerTargetGroupsInput{
			AutoScalingGroupName: aws.String(name), TargetGroupARNs: []string{g.tg}}); err != nil {
			return fmt.Errorf("detach group %s from target group %s: %w", name, g.tg, err)
		}
		g.log.Info(fmt.Sprintf("detached group %s from target group %s: its targets drain", name, g.tg))
	}
	return nil
}

// waitHealthy waits until the group has its desired capacity in service
// and every one of those instances is healthy in the target group. A group
// that does not get there within the wait is a failed switch: the caller
// rolls back (attaching blue again, if it was detached, and detaching
// green).
func (g *groupRouter) waitHealthy(ctx context.Context, name string) error {
	deadline := time.Now().Add(g.wait)
	last := ""
	for {
		why, err := g.unhealthy(ctx, name)
		if err != nil {
			return err
		}
		if why == "" {
			g.log.Info(fmt.Sprintf("group %s: every target healthy in target group %s", name, g.tg))
			return nil
		}
		if why != last {
			g.log.Info(fmt.Sprintf("group %s in target group %s: %s", name, g.tg, why))
			last = why
		}
		if time.Now().After(deadline) {
			return &errRollback{reason: fmt.Sprintf("group %s was not healthy in target group %s after %s (health.wait_timeout): %s", name, g.tg, g.wait, why)}
		}
		if err := sleep(ctx, g.every); err != nil {
			return err
		}
	}
}

// unhealthy says why the group is not fully healthy in the target group,
// or "" when it is.
func (g *groupRouter) unhealthy(ctx context.Context, name string) (string, error) {
	out, err := g.groups.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil {
		return "", fmt.Errorf("describe auto scaling group %s: %w", name, err)
	}
	if len(out.AutoScalingGroups) == 0 {
		return "", fmt.Errorf("auto scaling group %s is gone while traffic moves to it: run roll again to resume, or roll abort", name)
	}
	grp := out.AutoScalingGroups[0]
	ids := inService(grp)
	want := int(aws.ToInt32(grp.DesiredCapacity))
	if len(ids) == 0 {
		return fmt.Sprintf("0 of %d instances in service", want), nil
	}
	ok, why, err := targetHealth(ctx, g.lbs, name, g.tg, ids)
	if err != nil {
		return "", err
	}
	healthy := len(ok)
	if healthy >= want && len(why) == 0 {
		return "", nil
	}
	return fmt.Sprintf("%d/%d healthy %s", healthy, want, strings.Join(why, "; ")), nil
}

// Check: the target group exists and a load balancer uses it (a target
// group no listener forwards to never has a healthy target).
func (g *groupRouter) Check(ctx context.Context) error {
	out, err := g.lbs.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{g.tg}})
	if err != nil {
		if awserr.Code(err) == "TargetGroupNotFound" {
			return bake.BadInputf("target group %s of service %s does not exist: check traffic.target_group", g.tg, g.service)
		}
		return fmt.Errorf("describe target group %s: %w", g.tg, err)
	}
	if len(out.TargetGroups) != 1 {
		return bake.BadInputf("target group %s of service %s does not exist: check traffic.target_group", g.tg, g.service)
	}
	if len(out.TargetGroups[0].LoadBalancerArns) == 0 {
		return bake.BadInputf("target group %s of service %s is not used by any load balancer, so its targets never become healthy: add a listener rule that forwards to it", g.tg, g.service)
	}
	return nil
}
