package autoscaling

import (
	"context"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	as "github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"github.com/bakehq/bake/sim/core"
)

// placement resolves a group's subnets and zones from VPCZoneIdentifier or
// AvailabilityZones against the default VPC's subnets.
func (a *AutoScaling) placement(vpcZones *string, azs []string) (subnets, zones []string, err error) {
	all := a.cfg.Fleet.Subnets()
	byID := map[string]string{}
	for _, s := range all {
		byID[s.ID] = s.AZ
	}
	if ids := strings.TrimSpace(aws.ToString(vpcZones)); ids != "" {
		for id := range strings.SplitSeq(ids, ",") {
			id = strings.TrimSpace(id)
			az, ok := byID[id]
			if !ok {
				return nil, nil, core.Errorf("ValidationError", "The subnet ID '%s' does not exist", id)
			}
			subnets = append(subnets, id)
			if !slices.Contains(zones, az) {
				zones = append(zones, az)
			}
		}
		sort.Strings(zones)
		return subnets, zones, nil
	}
	if len(azs) == 0 {
		return nil, nil, core.Errorf("ValidationError", "At least one Availability Zone or VPC Subnet is required.")
	}
	for _, az := range azs {
		found := false
		for _, s := range all {
			if s.AZ == az {
				subnets = append(subnets, s.ID)
				found = true
			}
		}
		if !found {
			return nil, nil, core.Errorf("ValidationError", "The availability zone '%s' is not legal", az)
		}
		zones = append(zones, az)
	}
	sort.Strings(zones)
	return subnets, zones, nil
}

func checkSizes(min, max, desired int32) error {
	switch {
	case min < 0 || max < 0 || desired < 0:
		return core.Errorf("ValidationError", "Sizes must not be negative")
	case min > max:
		return core.Errorf("ValidationError", "Max bound, %d, must be greater than or equal to min bound, %d", max, min)
	case desired < min || desired > max:
		return core.Errorf("ValidationError", "Desired capacity:%d must be between the specified min size:%d and max size:%d", desired, min, max)
	}
	return nil
}

func checkHealthType(t *string) error {
	if t == nil {
		return nil
	}
	if *t != "EC2" && *t != "ELB" {
		return core.Errorf("ValidationError", "bake sim serves health check types EC2 and ELB, not '%s'", *t)
	}
	return nil
}

func (a *AutoScaling) checkTargetGroups(arns []string) error {
	for _, arn := range arns {
		if a.cfg.TargetGroups == nil || !a.cfg.TargetGroups.TargetGroupExists(arn) {
			return core.Errorf("ValidationError", "Provided Target Groups may not be valid. Please ensure they exist and try again.")
		}
	}
	return nil
}

func checkTemplate(lt *types.LaunchTemplateSpecification) (*types.LaunchTemplateSpecification, error) {
	if lt == nil {
		return nil, nil
	}
	if (lt.LaunchTemplateId == nil) == (lt.LaunchTemplateName == nil) {
		return nil, core.Errorf("ValidationError", "Valid requests must contain either launchTemplateId or launchTemplateName")
	}
	out := *lt
	if out.Version == nil {
		out.Version = aws.String("$Default")
	}
	return &out, nil
}

func (a *AutoScaling) createGroup(_ context.Context, _ *core.Request, in *as.CreateAutoScalingGroupInput) (*as.CreateAutoScalingGroupOutput, error) {
	name := aws.ToString(in.AutoScalingGroupName)
	if name == "" || len(name) > 255 {
		return nil, core.Errorf("ValidationError", "AutoScalingGroupName must be between 1 and 255 characters")
	}
	if in.LaunchConfigurationName != nil || in.InstanceId != nil || in.MixedInstancesPolicy != nil {
		return nil, core.Errorf("ValidationError", "bake sim launches from launch templates only; give LaunchTemplate")
	}
	if in.LaunchTemplate == nil {
		return nil, core.Errorf("ValidationError", "Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy parameter.")
	}
	lt, err := checkTemplate(in.LaunchTemplate)
	if err != nil {
		return nil, err
	}
	min, max := aws.ToInt32(in.MinSize), aws.ToInt32(in.MaxSize)
	desired := min
	if in.DesiredCapacity != nil {
		desired = *in.DesiredCapacity
	}
	if err := checkSizes(min, max, desired); err != nil {
		return nil, err
	}
	if err := checkHealthType(in.HealthCheckType); err != nil {
		return nil, err
	}
	if err := a.checkTargetGroups(in.TargetGroupARNs); err != nil {
		return nil, err
	}
	subnets, zones, err := a.placement(in.VPCZoneIdentifier, in.AvailabilityZones)
	if err != nil {
		return nil, err
	}
	tags, err := groupTags(name, in.Tags)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.groups[name] != nil {
		return nil, core.Errorf("AlreadyExists", "AutoScalingGroup by this name already exists - A group with the name %s already exists", name)
	}
	hct := aws.String("EC2")
	if in.HealthCheckType != nil {
		hct = in.HealthCheckType
	}
	g := &group{
		G: types.AutoScalingGroup{
			AutoScalingGroupName:             aws.String(name),
			AutoScalingGroupARN:              aws.String(a.groupARN(name)),
			LaunchTemplate:                   lt,
			MinSize:                          aws.Int32(min),
			MaxSize:                          aws.Int32(max),
			DesiredCapacity:                  aws.Int32(desired),
			DefaultCooldown:                  aws.Int32(orDefault(in.DefaultCooldown, 300)),
			AvailabilityZones:                zones,
			VPCZoneIdentifier:                aws.String(strings.Join(subnets, ",")),
			HealthCheckType:                  hct,
			HealthCheckGracePeriod:           aws.Int32(orDefault(in.HealthCheckGracePeriod, 0)),
			CreatedTime:                      aws.Time(time.Now().UTC().Truncate(time.Millisecond)),
			TargetGroupARNs:                  append([]string{}, in.TargetGroupARNs...),
			LoadBalancerNames:                []string{},
			TerminationPolicies:              orDefaultList(in.TerminationPolicies, []string{"Default"}),
			NewInstancesProtectedFromScaleIn: aws.Bool(aws.ToBool(in.NewInstancesProtectedFromScaleIn)),
			ServiceLinkedRoleARN:             aws.String("arn:aws:iam::" + a.account + ":role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"),
			SuspendedProcesses:               []types.SuspendedProcess{},
			EnabledMetrics:                   []types.EnabledMetric{},
			CapacityRebalance:                aws.Bool(false),
		},
		Members: map[string]*member{},
	}
	a.groups[name] = g
	a.tags = append(a.tags, tags...)
	a.save()
	a.poke()
	return &as.CreateAutoScalingGroupOutput{}, nil
}

func orDefault(p *int32, d int32) int32 {
	if p == nil {
		return d
	}
	return *p
}

func orDefaultList(l, d []string) []string {
	if len(l) == 0 {
		return d
	}
	return l
}

func (a *AutoScaling) updateGroup(_ context.Context, _ *core.Request, in *as.UpdateAutoScalingGroupInput) (*as.UpdateAutoScalingGroupOutput, error) {
	if in.LaunchConfigurationName != nil || in.MixedInstancesPolicy != nil {
		return nil, core.Errorf("ValidationError", "bake sim launches from launch templates only; give LaunchTemplate")
	}
	lt, err := checkTemplate(in.LaunchTemplate)
	if err != nil {
		return nil, err
	}
	if err := checkHealthType(in.HealthCheckType); err != nil {
		return nil, err
	}
	var subnets, zones []string
	if in.VPCZoneIdentifier != nil || len(in.AvailabilityZones) > 0 {
		if subnets, zones, err = a.placement(in.VPCZoneIdentifier, in.AvailabilityZones); err != nil {
			return nil, err
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	name := aws.ToString(in.AutoScalingGroupName)
	g := a.groups[name]
	if g == nil || g.Deleting {
		return nil, errNoGroup(name)
	}
	min, max, desired := aws.ToInt32(g.G.MinSize), aws.ToInt32(g.G.MaxSize), aws.ToInt32(g.G.DesiredCapacity)
	if in.MinSize != nil {
		min = *in.MinSize
	}
	if in.MaxSize != nil {
		max = *in.MaxSize
	}
	if in.DesiredCapacity != nil {
		desired = *in.DesiredCapacity
	} else {
		desired = clamp(desired, min, max) // as AWS does when only the bounds move
	}
	if err := checkSizes(min, max, desired); err != nil {
		return nil, err
	}
	g.G.MinSize, g.G.MaxSize, g.G.DesiredCapacity = aws.Int32(min), aws.Int32(max), aws.Int32(desired)
	if lt != nil {
		g.G.LaunchTemplate = lt
	}
	if in.HealthCheckType != nil {
		g.G.HealthCheckType = in.HealthCheckType
	}
	if in.HealthCheckGracePeriod != nil {
		g.G.HealthCheckGracePeriod = in.HealthCheckGracePeriod
	}
	if in.DefaultCooldown != nil {
		g.G.DefaultCooldown = in.DefaultCooldown
	}
	if len(in.TerminationPolicies) > 0 {
		g.G.TerminationPolicies = in.TerminationPolicies
	}
	if in.NewInstancesProtectedFromScaleIn != nil {
		g.G.NewInstancesProtectedFromScaleIn = in.NewInstancesProtectedFromScaleIn
	}
	if subnets != nil {
		g.G.VPCZoneIdentifier, g.G.AvailabilityZones = aws.String(strings.Join(subnets, ",")), zones
	}
	a.save()
	a.poke()
	return &as.UpdateAutoScalingGroupOutput{}, nil
}

func clamp(v, lo, hi int32) int32 { return max(lo, min(v, hi)) }

// view is a group as DescribeAutoScalingGroups shows it. Called with a.mu held.
func (a *AutoScaling) view(g *group) types.AutoScalingGroup {
	v := g.G
	v.Instances = []types.Instance{}
	for _, id := range sortedMembers(g) {
		v.Instances = append(v.Instances, g.Members[id].Instance)
	}
	v.Tags = []types.TagDescription{}
	for _, t := range a.tags {
		if aws.ToString(t.ResourceId) == aws.ToString(g.G.AutoScalingGroupName) {
			v.Tags = append(v.Tags, t)
		}
	}
	if g.Deleting {
		v.Status = aws.String("Delete in progress")
	}
	return v
}

func sortedMembers(g *group) []string {
	ids := make([]string, 0, len(g.Members))
	for id := range g.Members {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func (a *AutoScaling) describeGroups(_ context.Context, _ *core.Request, in *as.DescribeAutoScalingGroupsInput) (*as.DescribeAutoScalingGroupsOutput, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := &as.DescribeAutoScalingGroupsOutput{AutoScalingGroups: []types.AutoScalingGroup{}}
	names := in.AutoScalingGroupNames
	if len(names) == 0 {
		names = sortedNames(a.groups)
	}
	for _, n := range names {
		g := a.groups[n]
		if g == nil || !a.matches(g, in.Filters) {
			continue // unknown names are left out, as AWS does
		}
		out.AutoScalingGroups = append(out.AutoScalingGroups, a.view(g))
	}
	return out, nil
}

// matches applies DescribeAutoScalingGroups' tag filters. Called with a.mu held.
func (a *AutoScaling) matches(g *group, filters []types.Filter) bool {
	for _, f := range filters {
		name := aws.ToString(f.Name)
		ok := false
		for _, t := range a.tags {
			if aws.ToString(t.ResourceId) != aws.ToString(g.G.AutoScalingGroupName) {
				continue
			}
			switch {
			case name == "tag-key":
				ok = ok || slices.Contains(f.Values, aws.ToString(t.Key))
			case name == "tag-value":
				ok = ok || slices.Contains(f.Values, aws.ToString(t.Value))
			case strings.HasPrefix(name, "tag:"):
				ok = ok || (aws.ToString(t.Key) == strings.TrimPrefix(name, "tag:") && slices.Contains(f.Values, aws.ToString(t.Value)))
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func (a *AutoScaling) deleteGroup(_ context.Context, _ *core.Request, in *as.DeleteAutoScalingGroupInput) (*as.DeleteAutoScalingGroupOutput, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	name := aws.ToString(in.AutoScalingGroupName)
	g := a.groups[name]
	if g == nil {
		return nil, errNoGroup(name)
	}
	if len(g.Members) > 0 && !aws.ToBool(in.ForceDelete) {
		return nil, core.Errorf("ResourceInUse", "You cannot delete an AutoScalingGroup while there are instances or pending Spot instance request(s) still in the group.")
	}
	if len(g.Members) == 0 {
		a.forget(name)
	} else {
		g.Deleting = true
		g.G.MinSize, g.G.MaxSize, g.G.DesiredCapacity = aws.Int32(0), aws.Int32(0), aws.Int32(0)
	}
	a.save()
	a.poke()
	return &as.DeleteAutoScalingGroupOutput{}, nil
}

// forget drops a group and its tags. Called with a.mu held.
func (a *AutoScaling) forget(name string) {
	delete(a.groups, name)
	a.tags = slices.DeleteFunc(a.tags, func(t types.TagDescription) bool { return aws.ToString(t.ResourceId) == name })
}

func (a *AutoScaling) setDesiredCapacity(_ context.Context, _ *core.Request, in *as.SetDesiredCapacityInput) (*as.SetDesiredCapacityOutput, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	name := aws.ToString(in.AutoScalingGroupName)
	g := a.groups[name]
	if g == nil || g.Deleting {
		return nil, errNoGroup(name)
	}
	d := aws.ToInt32(in.DesiredCapacity)
	if d > aws.ToInt32(g.G.MaxSize) {
		return nil, core.Errorf("ValidationError", "New SetDesiredCapacity value %d is above max value %d for the AutoScalingGroup.", d, aws.ToInt32(g.G.MaxSize))
	}
	if d < aws.ToInt32(g.G.MinSize) {
		return nil, core.Errorf("ValidationError", "New SetDesiredCapacity value %d is below min value %d for the AutoScalingGroup.", d, aws.ToInt32(g.G.MinSize))
	}
	g.G.DesiredCapacity = aws.Int32(d)
	a.save()
	a.poke()
	return &as.SetDesiredCapacityOutput{}, nil
}

func (a *AutoScaling) attachTargetGroups(_ context.Context, _ *core.Request, in *as.AttachLoadBalancerTargetGroupsInput) (*as.AttachLoadBalancerTargetGroupsOutput, error) {
	if err := a.checkTargetGroups(in.TargetGroupARNs); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	name := aws.ToString(in.AutoScalingGroupName)
	g := a.groups[name]
	if g == nil || g.Deleting {
		return nil, errNoGroup(name)
	}
	for _, arn := range in.TargetGroupARNs {
		if slices.Contains(g.G.TargetGroupARNs, arn) {
			continue
		}
		g.G.TargetGroupARNs = append(g.G.TargetGroupARNs, arn)
		for _, m := range g.Members {
			// A terminating instance is on its way out of every target
			// group: attaching one does not bring it back.
			if m.Registered && m.Instance.LifecycleState != types.LifecycleStateTerminating {
				if err := a.cfg.TargetGroups.RegisterInstance(arn, aws.ToString(m.Instance.InstanceId)); err != nil {
					a.log.Warn("register an instance with an attached target group", "group", name, "err", err)
				}
			}
		}
	}
	a.save()
	return &as.AttachLoadBalancerTargetGroupsOutput{}, nil
}

func (a *AutoScaling) detachTargetGroups(_ context.Context, _ *core.Request, in *as.DetachLoadBalancerTargetGroupsInput) (*as.DetachLoadBalancerTargetGroupsOutput, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	name := aws.ToString(in.AutoScalingGroupName)
	g := a.groups[name]
	if g == nil || g.Deleting {
		return nil, errNoGroup(name)
	}
	for _, arn := range in.TargetGroupARNs {
		if !slices.Contains(g.G.TargetGroupARNs, arn) {
			continue
		}
		g.G.TargetGroupARNs = slices.DeleteFunc(g.G.TargetGroupARNs, func(x string) bool { return x == arn })
		for _, m := range g.Members {
			if err := a.cfg.TargetGroups.DeregisterInstance(arn, aws.ToString(m.Instance.InstanceId)); err != nil {
				a.log.Warn("deregister an instance from a detached target group", "group", name, "err", err)
			}
		}
	}
	a.save()
	return &as.DetachLoadBalancerTargetGroupsOutput{}, nil
}

func (a *AutoScaling) describeTargetGroups(_ context.Context, _ *core.Request, in *as.DescribeLoadBalancerTargetGroupsInput) (*as.DescribeLoadBalancerTargetGroupsOutput, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	name := aws.ToString(in.AutoScalingGroupName)
	g := a.groups[name]
	if g == nil {
		return nil, errNoGroup(name)
	}
	out := &as.DescribeLoadBalancerTargetGroupsOutput{LoadBalancerTargetGroups: []types.LoadBalancerTargetGroupState{}}
	for _, arn := range g.G.TargetGroupARNs {
		out.LoadBalancerTargetGroups = append(out.LoadBalancerTargetGroups, types.LoadBalancerTargetGroupState{
			LoadBalancerTargetGroupARN: aws.String(arn), State: aws.String("InService")})
	}
	return out, nil
}

func (a *AutoScaling) describeActivities(_ context.Context, _ *core.Request, in *as.DescribeScalingActivitiesInput) (*as.DescribeScalingActivitiesOutput, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	name := aws.ToString(in.AutoScalingGroupName)
	if name != "" && a.groups[name] == nil && !aws.ToBool(in.IncludeDeletedGroups) {
		return &as.DescribeScalingActivitiesOutput{Activities: []types.Activity{}}, nil
	}
	limit := int(orDefault(in.MaxRecords, 100))
	if limit < 1 || limit > 100 {
		return nil, core.Errorf("ValidationError", "MaxRecords must be between 1 and 100")
	}
	out := &as.DescribeScalingActivitiesOutput{Activities: []types.Activity{}}
	for i := len(a.activities) - 1; i >= 0 && len(out.Activities) < limit; i-- { // newest first
		act := a.activities[i]
		if name != "" && aws.ToString(act.AutoScalingGroupName) != name {
			continue
		}
		if len(in.ActivityIds) > 0 && !slices.Contains(in.ActivityIds, aws.ToString(act.ActivityId)) {
			continue
		}
		out.Activities = append(out.Activities, act)
	}
	return out, nil
}

// groupOf finds the group an instance belongs to. Called with a.mu held.
func (a *AutoScaling) groupOf(id string) (*group, *member) {
	for _, g := range a.groups {
		if m := g.Members[id]; m != nil {
			return g, m
		}
	}
	return nil, nil
}

func (a *AutoScaling) terminateInstance(_ context.Context, _ *core.Request, in *as.TerminateInstanceInAutoScalingGroupInput) (*as.TerminateInstanceInAutoScalingGroupOutput, error) {
	if in.ShouldDecrementDesiredCapacity == nil {
		return nil, core.Missing("1 validation error detected: Value null at 'shouldDecrementDesiredCapacity' failed to satisfy constraint: Member must not be null")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	id := aws.ToString(in.InstanceId)
	g, m := a.groupOf(id)
	if g == nil {
		return nil, core.Errorf("ValidationError", "Instance Id not found - No managed instance found for instance ID: %s", id)
	}
	dec := *in.ShouldDecrementDesiredCapacity
	if dec && aws.ToInt32(g.G.DesiredCapacity)-1 < aws.ToInt32(g.G.MinSize) {
		return nil, core.Errorf("ValidationError", "Currently, desiredSize equals minSize (%d). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.", aws.ToInt32(g.G.MinSize))
	}
	if m.Instance.LifecycleState != types.LifecycleStateTerminating {
		cause := "At " + stamp(time.Now()) + " instance " + id + " was taken out of service in response to a user request"
		if dec {
			g.G.DesiredCapacity = aws.Int32(aws.ToInt32(g.G.DesiredCapacity) - 1)
			cause += ", shrinking the capacity from " + itoa(aws.ToInt32(g.G.DesiredCapacity)+1) + " to " + itoa(aws.ToInt32(g.G.DesiredCapacity))
		}
		a.beginTerminate(g, m, cause+".")
	}
	a.save()
	a.poke()
	for _, act := range a.activities {
		if aws.ToString(act.ActivityId) == m.Activity {
			return &as.TerminateInstanceInAutoScalingGroupOutput{Activity: &act}, nil
		}
	}
	return &as.TerminateInstanceInAutoScalingGroupOutput{}, nil
}

func (a *AutoScaling) describeInstances(_ context.Context, _ *core.Request, in *as.DescribeAutoScalingInstancesInput) (*as.DescribeAutoScalingInstancesOutput, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := &as.DescribeAutoScalingInstancesOutput{AutoScalingInstances: []types.AutoScalingInstanceDetails{}}
	for _, name := range sortedNames(a.groups) {
		g := a.groups[name]
		for _, id := range sortedMembers(g) {
			if len(in.InstanceIds) > 0 && !slices.Contains(in.InstanceIds, id) {
				continue
			}
			i := g.Members[id].Instance
			out.AutoScalingInstances = append(out.AutoScalingInstances, types.AutoScalingInstanceDetails{
				AutoScalingGroupName: g.G.AutoScalingGroupName, AvailabilityZone: i.AvailabilityZone, HealthStatus: aws.String(strings.ToUpper(aws.ToString(i.HealthStatus))),
				InstanceId: i.InstanceId, LifecycleState: aws.String(string(i.LifecycleState)), ProtectedFromScaleIn: i.ProtectedFromScaleIn,
				LaunchTemplate: i.LaunchTemplate, InstanceType: i.InstanceType, ImageId: i.ImageId,
			})
		}
	}
	return out, nil
}

func (a *AutoScaling) setInstanceHealth(_ context.Context, _ *core.Request, in *as.SetInstanceHealthInput) (*as.SetInstanceHealthOutput, error) {
	status := aws.ToString(in.HealthStatus)
	if status != "Healthy" && status != "Unhealthy" {
		return nil, core.Errorf("ValidationError", "Valid values for HealthStatus are Healthy and Unhealthy, not '%s'", status)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	id := aws.ToString(in.InstanceId)
	g, m := a.groupOf(id)
	if g == nil {
		return nil, core.Errorf("ValidationError", "Instance Id not found - No managed instance found for instance ID: %s", id)
	}
	if status == "Unhealthy" && aws.ToBool(in.ShouldRespectGracePeriod) && a.inGrace(g, m) {
		return &as.SetInstanceHealthOutput{}, nil
	}
	m.Instance.HealthStatus = aws.String(status)
	if status == "Unhealthy" {
		m.Cause = "an instance was taken out of service in response to a user health-check."
	}
	a.save()
	a.poke()
	return &as.SetInstanceHealthOutput{}, nil
}

func (a *AutoScaling) inGrace(g *group, m *member) bool {
	return time.Since(m.LaunchTime) < time.Duration(aws.ToInt32(g.G.HealthCheckGracePeriod))*time.Second
}
