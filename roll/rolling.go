package roll

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/bakehq/bake/bake"
)

// rolling replaces the serving group's instances in place, batch by
// batch, in the style of an instance refresh with surge: each batch of new
// instances is launched beside the old ones and must be healthy behind the
// load balancer before as many old ones are terminated, so the healthy
// count never drops below the group's desired capacity (above any
// min_healthy_percent). Traffic weights are not touched.
func (r *Roller) rolling(ctx context.Context, id, image string, start time.Time) (*Summary, error) {
	st, err := r.st.State(ctx)
	if err != nil {
		return nil, err
	}
	groups, err := r.groups(ctx)
	if err != nil {
		return nil, err
	}
	w, err := r.rt.Weights(ctx)
	if err != nil {
		return nil, err
	}
	var g *astypes.AutoScalingGroup
	for i := range groups {
		if g == nil || w[tagOf(groups[i], TagSlot)] > w[tagOf(*g, TagSlot)] {
			g = &groups[i]
		}
	}
	if g == nil {
		return nil, bake.BadInputf("strategy rolling replaces the instances of a running group, and service %s has none: deploy it first with --strategy bluegreen", r.svc.Name)
	}
	side := sideOf(*g)
	sum := &Summary{Service: r.svc.Name, Strategy: Rolling, From: side.Image, To: image, Group: side.Group}
	resume := st != nil && !st.Terminal() && st.Strategy == Rolling && st.Canary != nil && st.Canary.Image == image && st.Canary.Group == side.Group
	if !resume && side.Image == image {
		sum.Outcome, sum.Total = "unchanged", time.Since(start)
		return sum, nil
	}
	if !resume {
		v, err := r.newTemplateVersion(ctx, image, id)
		if err != nil {
			return nil, err
		}
		next := *side
		next.Image, next.Template = image, v
		st = &State{ID: id, Service: r.svc.Name, Strategy: Rolling, Stable: side, Canary: &next, Started: time.Now().UTC()}
		if err := r.save(ctx, st, PhaseShifting); err != nil {
			return nil, err
		}
	}
	sum.ID = st.ID
	desired := aws32(g.DesiredCapacity)
	batch := int32(r.svc.Strategy.BatchSize)
	done := r.step("switch template")
	_, err = r.c.Groups.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(side.Group),
		LaunchTemplate:       &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String(r.svc.LaunchTemplate), Version: aws.String(st.Canary.Template)},
		MaxSize:              aws.Int32(max(aws32(g.MaxSize), desired+batch)),
	})
	if err == nil {
		_, err = r.c.Groups.CreateOrUpdateTags(ctx, &autoscaling.CreateOrUpdateTagsInput{Tags: []astypes.Tag{{Key: aws.String(TagImage), Value: aws.String(image),
			ResourceId: aws.String(side.Group), ResourceType: aws.String("auto-scaling-group"), PropagateAtLaunch: aws.Bool(true)}}})
	}
	if done(err) != nil {
		return nil, fmt.Errorf("point group %s at launch template version %s: %w", side.Group, st.Canary.Template, err)
	}
	tg := r.tg(side.Slot)
	for i := 0; i < 1000; i++ {
		g, err := r.group(ctx, side.Group)
		if err != nil || g == nil {
			return nil, fmt.Errorf("group %s: %v", side.Group, err)
		}
		var old []astypes.Instance
		for _, in := range g.Instances {
			if in.LifecycleState == astypes.LifecycleStateInService && (in.LaunchTemplate == nil || aws.ToString(in.LaunchTemplate.Version) != st.Canary.Template) {
				old = append(old, in)
			}
		}
		if len(old) == 0 {
			break
		}
		n := min(batch, int32(len(old)))
		done := r.step(fmt.Sprintf("batch %d (%d of %d old instances)", i+1, n, len(old)))
		if _, err := r.c.Groups.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String(side.Group), DesiredCapacity: aws.Int32(desired + n)}); err != nil {
			return nil, done(fmt.Errorf("surge group %s to %d: %w", side.Group, desired+n, err))
		}
		want := int(desired) - len(old) + int(n)
		if err := r.waitNew(ctx, side.Group, tg, st.Canary.Template, want); err != nil {
			done(err)
			return r.rollingBack(ctx, st, sum, desired, err)
		}
		sort.Slice(old, func(a, b int) bool { return aws.ToString(old[a].InstanceId) < aws.ToString(old[b].InstanceId) })
		for _, in := range old[:n] {
			if _, err := r.c.Groups.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
				InstanceId: in.InstanceId, ShouldDecrementDesiredCapacity: aws.Bool(true)}); err != nil {
				return nil, done(fmt.Errorf("terminate old instance %s of %s: %w", aws.ToString(in.InstanceId), side.Group, err))
			}
		}
		done(nil)
	}
	if err := r.save(ctx, st, PhaseDone); err != nil {
		return nil, err
	}
	sum.Outcome, sum.Total = PhaseDone, time.Since(start)
	return sum, r.st.AddHistory(ctx, HistoryEntry{ID: st.ID, Strategy: Rolling, From: st.Stable.Image, To: image, Outcome: PhaseDone, Started: st.Started, Ended: time.Now().UTC()})
}

// waitNew waits until want instances of the group launched from template
// version v are healthy in the target group for the configured checks.
func (r *Roller) waitNew(ctx context.Context, group, tg, v string, want int) error {
	deadline := time.Now().Add(r.svc.Health.WaitTimeout)
	run := 0
	for time.Now().Before(deadline) {
		g, err := r.group(ctx, group)
		if err != nil || g == nil {
			return fmt.Errorf("group %s: %v", group, err)
		}
		var targets []elbtypes.TargetDescription
		for _, in := range g.Instances {
			if in.LifecycleState == astypes.LifecycleStateInService && in.LaunchTemplate != nil && aws.ToString(in.LaunchTemplate.Version) == v {
				targets = append(targets, elbtypes.TargetDescription{Id: in.InstanceId})
			}
		}
		healthy := 0
		if len(targets) > 0 {
			th, err := r.c.LoadBalancers.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg), Targets: targets})
			if err != nil {
				return fmt.Errorf("describe target health in %s: %w", tg, err)
			}
			for _, d := range th.TargetHealthDescriptions {
				if d.TargetHealth != nil && d.TargetHealth.State == elbtypes.TargetHealthStateEnumHealthy {
					healthy++
				}
			}
		}
		if healthy >= want {
			if run++; run >= r.svc.Health.Consecutive {
				return nil
			}
		} else {
			run = 0
		}
		if err := sleep(ctx, r.svc.Health.Interval); err != nil {
			return err
		}
	}
	return fmt.Errorf("new instances not healthy after %s", r.svc.Health.WaitTimeout)
}

// rollingBack points the group back at its old template version and
// replaces the new instances with old ones.
func (r *Roller) rollingBack(ctx context.Context, st *State, sum *Summary, desired int32, cause error) (*Summary, error) {
	done := r.step("rollback")
	side := st.Stable
	_, err := r.c.Groups.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(side.Group), DesiredCapacity: aws.Int32(desired),
		LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String(r.svc.LaunchTemplate), Version: aws.String(side.Template)},
	})
	if err == nil {
		_, err = r.c.Groups.CreateOrUpdateTags(ctx, &autoscaling.CreateOrUpdateTagsInput{Tags: []astypes.Tag{{Key: aws.String(TagImage), Value: aws.String(side.Image),
			ResourceId: aws.String(side.Group), ResourceType: aws.String("auto-scaling-group"), PropagateAtLaunch: aws.Bool(true)}}})
	}
	if err == nil {
		if g, gerr := r.group(ctx, side.Group); gerr == nil && g != nil {
			for _, in := range g.Instances {
				if in.LaunchTemplate != nil && aws.ToString(in.LaunchTemplate.Version) == st.Canary.Template && in.LifecycleState == astypes.LifecycleStateInService {
					_, err = r.c.Groups.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
						InstanceId: in.InstanceId, ShouldDecrementDesiredCapacity: aws.Bool(false)})
				}
			}
		}
	}
	st.Reason = cause.Error()
	if serr := r.save(ctx, st, PhaseRolledBack); err == nil {
		err = serr
	}
	done(err)
	sum.Outcome, sum.Reason = PhaseRolledBack, cause.Error()
	if herr := r.st.AddHistory(ctx, HistoryEntry{ID: st.ID, Strategy: Rolling, From: side.Image, To: st.Canary.Image, Outcome: PhaseRolledBack, Reason: cause.Error(), Started: st.Started, Ended: time.Now().UTC()}); err == nil {
		err = herr
	}
	if err != nil {
		return sum, fmt.Errorf("roll back group %s after %v: %w", side.Group, cause, err)
	}
	return sum, &errRollback{reason: "rolled back to " + side.Image + ": " + cause.Error()}
}
