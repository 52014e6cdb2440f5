package autoscaling

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"github.com/bakehq/bake/sim/ec2"
)

// launchBackoff is how long a group waits after a failed launch before it
// tries again, so a broken launch template does not spin.
const launchBackoff = 10 * time.Second

func (a *AutoScaling) run() {
	defer close(a.done)
	t := time.NewTicker(a.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
		case <-a.kick:
		}
		a.reconcileAll()
	}
}

func (a *AutoScaling) reconcileAll() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a.mu.Lock()
	defer a.mu.Unlock()
	changed := false
	for _, name := range sortedNames(a.groups) {
		if a.reconcile(ctx, a.groups[name]) {
			changed = true
		}
	}
	if changed {
		a.save()
	}
}

// reconcile moves one group a step toward its desired state: it follows
// its instances' lifecycle, marks and replaces unhealthy ones, finishes
// drained terminations and launches or terminates to the desired
// capacity. It reports whether anything changed. Called with a.mu held.
func (a *AutoScaling) reconcile(ctx context.Context, g *group) bool {
	changed := false
	name := aws.ToString(g.G.AutoScalingGroupName)
	for _, id := range sortedMembers(g) {
		m := g.Members[id]
		info, ok := a.cfg.Fleet.Instance(id)
		if m.Instance.LifecycleState == types.LifecycleStateTerminating {
			if a.drained(g, id) || !ok || info.State == "terminated" {
				if err := a.cfg.Fleet.TerminateInstance(ctx, id); err != nil {
					a.log.Warn("terminate an auto scaling instance", "group", name, "instance", id, "err", err)
					continue
				}
				delete(g.Members, id)
				a.finish(m.Activity, types.ScalingActivityStatusCodeSuccessful, "")
				changed = true
			}
			continue
		}
		switch {
		case !ok || info.State == "terminated" || info.State == "shutting-down" || info.State == "stopping" || info.State == "stopped":
			if aws.ToString(m.Instance.HealthStatus) != "Unhealthy" {
				m.Instance.HealthStatus = aws.String("Unhealthy")
				m.Cause = "an instance was taken out of service in response to an EC2 health check indicating it has been terminated or stopped."
				changed = true
				if m.Instance.LifecycleState == types.LifecycleStatePending {
					// it never ran: a launch that fails, so back off as for one
					a.finish(m.Activity, types.ScalingActivityStatusCodeFailed, "Instance "+id+" stopped before it was running ("+info.State+")")
					g.LastFailed = time.Now()
				}
			}
		case m.Instance.LifecycleState == types.LifecycleStatePending && info.State == "running":
			m.Instance.LifecycleState = types.LifecycleStateInService
			for _, arn := range g.G.TargetGroupARNs {
				if err := a.cfg.TargetGroups.RegisterInstance(arn, id); err != nil {
					a.log.Warn("register an auto scaling instance", "group", name, "instance", id, "err", err)
				}
			}
			m.Registered = true
			a.finish(m.Activity, types.ScalingActivityStatusCodeSuccessful, "")
			changed = true
		case m.Instance.LifecycleState == types.LifecycleStateInService && aws.ToString(g.G.HealthCheckType) == "ELB" && !a.inGrace(g, m):
			for _, arn := range g.G.TargetGroupARNs {
				if st, ok := a.cfg.TargetGroups.InstanceHealth(arn, id); ok && st == "unhealthy" {
					m.Instance.HealthStatus = aws.String("Unhealthy")
					m.Cause = "an instance was taken out of service in response to an ELB system health check failure."
					changed = true
					break
				}
			}
		}
		if aws.ToString(m.Instance.HealthStatus) == "Unhealthy" {
			a.beginTerminate(g, m, "At "+stamp(time.Now())+" "+m.Cause)
			changed = true
		}
	}
	active := a.active(g)
	desired := int(aws.ToInt32(g.G.DesiredCapacity))
	switch {
	case len(active) < desired && !g.Deleting && time.Since(g.LastFailed) > launchBackoff:
		for n := len(active); n < desired; n++ {
			if !a.launch(ctx, g, n, desired) {
				break
			}
			changed = true
		}
	case len(active) > desired:
		for _, m := range a.victims(g, active, len(active)-desired) {
			a.beginTerminate(g, m, fmt.Sprintf("At %s an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from %d to %d.",
				stamp(time.Now()), len(active), desired))
			changed = true
		}
	}
	if g.Deleting && len(g.Members) == 0 {
		a.forget(name)
		changed = true
	}
	return changed
}

// active lists the members that count toward capacity (not terminating).
func (a *AutoScaling) active(g *group) []*member {
	var out []*member
	for _, id := range sortedMembers(g) {
		if m := g.Members[id]; m.Instance.LifecycleState != types.LifecycleStateTerminating {
			out = append(out, m)
		}
	}
	return out
}

// drained reports whether instance id has left every target group of g
// (its deregistration delay, or its last in-flight request, is over).
func (a *AutoScaling) drained(g *group, id string) bool {
	for _, arn := range g.G.TargetGroupARNs {
		if _, still := a.cfg.TargetGroups.InstanceHealth(arn, id); still {
			return false
		}
	}
	return true
}

// beginTerminate takes m out of service: it deregisters it from the target
// groups, and the reconciler terminates it once it has drained.
func (a *AutoScaling) beginTerminate(g *group, m *member, cause string) {
	id := aws.ToString(m.Instance.InstanceId)
	m.Instance.LifecycleState = types.LifecycleStateTerminating
	m.Activity = a.activity(g, "Terminating EC2 instance: "+id, cause, types.ScalingActivityStatusCodeInProgress, "")
	for _, arn := range g.G.TargetGroupARNs {
		if err := a.cfg.TargetGroups.DeregisterInstance(arn, id); err != nil {
			a.log.Warn("deregister an auto scaling instance", "group", aws.ToString(g.G.AutoScalingGroupName), "instance", id, "err", err)
		}
	}
}

// launch starts one instance in the subnet with the fewest of the group's
// instances. It reports whether it launched.
func (a *AutoScaling) launch(ctx context.Context, g *group, have, desired int) bool {
	name := aws.ToString(g.G.AutoScalingGroupName)
	subnet := a.leastUsedSubnet(g)
	tags := map[string]string{"aws:autoscaling:groupName": name}
	for _, t := range a.tags {
		if aws.ToString(t.ResourceId) == name && aws.ToBool(t.PropagateAtLaunch) {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	lt := g.G.LaunchTemplate
	cause := fmt.Sprintf("At %s an instance was started in response to a difference between desired and actual capacity, increasing the capacity from %d to %d.",
		stamp(time.Now()), have, desired)
	info, err := a.cfg.Fleet.LaunchFromTemplate(ctx, ec2.LaunchRequest{
		TemplateID: aws.ToString(lt.LaunchTemplateId), TemplateName: aws.ToString(lt.LaunchTemplateName),
		Version: aws.ToString(lt.Version), SubnetID: subnet, Tags: tags,
	})
	if err != nil {
		a.activity(g, "Launching a new EC2 instance.  Status Reason: "+err.Error(), cause, types.ScalingActivityStatusCodeFailed, err.Error())
		g.LastFailed = time.Now()
		a.log.Warn("launch an auto scaling instance", "group", name, "err", err)
		return false
	}
	spec := &types.LaunchTemplateSpecification{LaunchTemplateId: lt.LaunchTemplateId, LaunchTemplateName: lt.LaunchTemplateName, Version: aws.String(info.Version)}
	if info.Version == "" {
		spec.Version = lt.Version
	}
	if info.Template != "" {
		spec.LaunchTemplateId = aws.String(info.Template)
	}
	m := &member{
		Instance: types.Instance{
			InstanceId:           aws.String(info.ID),
			AvailabilityZone:     aws.String(info.AZ),
			HealthStatus:         aws.String("Healthy"),
			LifecycleState:       types.LifecycleStatePending,
			LaunchTemplate:       spec,
			ProtectedFromScaleIn: aws.Bool(aws.ToBool(g.G.NewInstancesProtectedFromScaleIn)),
			ImageId:              aws.String(info.ImageID),
		},
		LaunchTime: time.Now(),
	}
	m.Activity = a.activity(g, "Launching a new EC2 instance: "+info.ID, cause, types.ScalingActivityStatusCodeInProgress, "")
	g.Members[info.ID] = m
	return true
}

func (a *AutoScaling) leastUsedSubnet(g *group) string {
	var subnets []string
	for _, s := range splitComma(aws.ToString(g.G.VPCZoneIdentifier)) {
		subnets = append(subnets, s)
	}
	if len(subnets) == 0 {
		return ""
	}
	azOf := map[string]string{}
	for _, s := range a.cfg.Fleet.Subnets() {
		azOf[s.ID] = s.AZ
	}
	count := map[string]int{}
	for _, m := range a.active(g) {
		count[aws.ToString(m.Instance.AvailabilityZone)]++
	}
	best := subnets[0]
	for _, s := range subnets[1:] {
		if count[azOf[s]] < count[azOf[best]] {
			best = s
		}
	}
	return best
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}

// victims picks n members to terminate on scale-in, as the Default
// termination policy does: from the AZ with the most instances, those
// launched from a template other than the group's current one first, then
// the oldest. OldestInstance and NewestInstance policies are honoured;
// instances protected from scale-in are never picked.
func (a *AutoScaling) victims(g *group, active []*member, n int) []*member {
	pool := slices.DeleteFunc(slices.Clone(active), func(m *member) bool { return aws.ToBool(m.Instance.ProtectedFromScaleIn) })
	var out []*member
	policy := "Default"
	if len(g.G.TerminationPolicies) > 0 {
		policy = g.G.TerminationPolicies[0]
	}
	for len(out) < n && len(pool) > 0 {
		perAZ := map[string]int{}
		for _, m := range pool {
			perAZ[aws.ToString(m.Instance.AvailabilityZone)]++
		}
		sort.SliceStable(pool, func(i, j int) bool {
			mi, mj := pool[i], pool[j]
			if ai, aj := perAZ[aws.ToString(mi.Instance.AvailabilityZone)], perAZ[aws.ToString(mj.Instance.AvailabilityZone)]; ai != aj {
				return ai > aj
			}
			switch policy {
			case "NewestInstance":
				return mi.LaunchTime.After(mj.LaunchTime)
			case "OldestInstance":
				return mi.LaunchTime.Before(mj.LaunchTime)
			}
			if oi, oj := a.outdated(g, mi), a.outdated(g, mj); oi != oj {
				return oi
			}
			return mi.LaunchTime.Before(mj.LaunchTime)
		})
		out = append(out, pool[0])
		pool = pool[1:]
	}
	return out
}

// outdated reports whether m was launched from another template, or
// another numbered version, than the group's current one.
func (a *AutoScaling) outdated(g *group, m *member) bool {
	want, have := g.G.LaunchTemplate, m.Instance.LaunchTemplate
	if want == nil || have == nil {
		return false
	}
	if want.LaunchTemplateName != nil && have.LaunchTemplateName != nil && *want.LaunchTemplateName != *have.LaunchTemplateName {
		return true
	}
	if _, err := strconv.Atoi(aws.ToString(want.Version)); err == nil {
		return aws.ToString(want.Version) != aws.ToString(have.Version)
	}
	return false
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }
