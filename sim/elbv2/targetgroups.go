package elbv2

import (
	"context"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/bakehq/bake/sim/core"
	"github.com/bakehq/bake/sim/elbv2/proxy"
)

func defaultTGAttrs() map[string]string {
	return map[string]string{
		"deregistration_delay.timeout_seconds":                           "300",
		"stickiness.enabled":                                             "false",
		"stickiness.type":                                                "lb_cookie",
		"stickiness.lb_cookie.duration_seconds":                          "86400",
		"load_balancing.algorithm.type":                                  "round_robin",
		"slow_start.duration_seconds":                                    "0",
		"load_balancing.cross_zone.enabled":                              "use_load_balancer_configuration",
		"target_group_health.dns_failover.minimum_healthy_targets.count": "1",
	}
}

// healthSettings are the health check members shared by CreateTargetGroup
// and ModifyTargetGroup.
type healthSettings struct {
	Enabled            *bool
	Interval           *int32
	Path               *string
	Port               *string
	Protocol           types.ProtocolEnum
	Timeout            *int32
	HealthyThreshold   *int32
	UnhealthyThreshold *int32
	Matcher            *types.Matcher
}

// applyHealth sets hs onto tg, checking each value as ELBv2 does.
func applyHealth(tg *types.TargetGroup, hs healthSettings) error {
	if hs.Enabled != nil && !*hs.Enabled {
		return core.Invalid("Health checks cannot be disabled for target groups with target type 'instance' or 'ip'")
	}
	if hs.Protocol != "" {
		if hs.Protocol != types.ProtocolEnumHttp {
			return core.Errorf("UnsupportedProtocol", "bake sim health checks speak HTTP only, not '%s'", hs.Protocol)
		}
		tg.HealthCheckProtocol = hs.Protocol
	}
	if hs.Path != nil {
		p := *hs.Path
		if !strings.HasPrefix(p, "/") || len(p) > 1024 {
			return core.Invalid("Health check path '%s' must begin with '/' and be at most 1024 characters", p)
		}
		tg.HealthCheckPath = aws.String(p)
	}
	if hs.Port != nil {
		p := *hs.Port
		if p != "traffic-port" {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > 65535 {
				return core.Invalid("Health check port '%s' must be 'traffic-port' or a port between 1 and 65535", p)
			}
		}
		tg.HealthCheckPort = aws.String(p)
	}
	if hs.Interval != nil {
		if v := *hs.Interval; v < 5 || v > 300 {
			return core.Invalid("Health check interval '%d' must be between 5 and 300 seconds", v)
		}
		tg.HealthCheckIntervalSeconds = aws.Int32(*hs.Interval)
	}
	if hs.Timeout != nil {
		if v := *hs.Timeout; v < 2 || v > 120 {
			return core.Invalid("Health check timeout '%d' must be between 2 and 120 seconds", v)
		}
		tg.HealthCheckTimeoutSeconds = aws.Int32(*hs.Timeout)
	}
	if hs.HealthyThreshold != nil {
		if v := *hs.HealthyThreshold; v < 2 || v > 10 {
			return core.Invalid("Healthy threshold count '%d' must be between 2 and 10", v)
		}
		tg.HealthyThresholdCount = aws.Int32(*hs.HealthyThreshold)
	}
	if hs.UnhealthyThreshold != nil {
		if v := *hs.UnhealthyThreshold; v < 2 || v > 10 {
			return core.Invalid("Unhealthy threshold count '%d' must be between 2 and 10", v)
		}
		tg.UnhealthyThresholdCount = aws.Int32(*hs.UnhealthyThreshold)
	}
	if hs.Matcher != nil {
		if hs.Matcher.GrpcCode != nil {
			return core.Invalid("A gRPC matcher needs a target group with protocol version GRPC, which bake sim does not serve")
		}
		if _, err := proxy.ParseMatcher(aws.ToString(hs.Matcher.HttpCode)); err != nil {
			return core.Invalid("Invalid matcher HTTP code '%s': %s", aws.ToString(hs.Matcher.HttpCode), err)
		}
		tg.Matcher = &types.Matcher{HttpCode: aws.String(aws.ToString(hs.Matcher.HttpCode))}
	}
	if aws.ToInt32(tg.HealthCheckTimeoutSeconds) >= aws.ToInt32(tg.HealthCheckIntervalSeconds) {
		return core.Invalid("Health check interval must be greater than the timeout.")
	}
	return nil
}

// healthCheck is the data plane's view of tg's settings.
func healthCheck(tg types.TargetGroup) proxy.HealthCheck {
	port := 0
	if p := aws.ToString(tg.HealthCheckPort); p != "traffic-port" {
		port, _ = strconv.Atoi(p) // checked by applyHealth
	}
	return proxy.HealthCheck{
		Path:               aws.ToString(tg.HealthCheckPath),
		Port:               port,
		Interval:           time.Duration(aws.ToInt32(tg.HealthCheckIntervalSeconds)) * time.Second,
		Timeout:            time.Duration(aws.ToInt32(tg.HealthCheckTimeoutSeconds)) * time.Second,
		HealthyThreshold:   int(aws.ToInt32(tg.HealthyThresholdCount)),
		UnhealthyThreshold: int(aws.ToInt32(tg.UnhealthyThresholdCount)),
		Matcher:            aws.ToString(tg.Matcher.HttpCode),
	}
}

func deregDelay(attrs map[string]string) time.Duration {
	n, _ := strconv.Atoi(attrs["deregistration_delay.timeout_seconds"]) // checked when set
	return time.Duration(n) * time.Second
}

func newGroup(e *ELBv2, tg *targetGroup) (*proxy.Group, error) {
	g, err := proxy.NewGroup(healthCheck(tg.TG), deregDelay(tg.Attrs))
	if err != nil {
		return nil, err
	}
	g.SetForcedUnhealthy(e.cfg.Server.Faults().Unhealthy)
	return g, nil
}

func (e *ELBv2) createTargetGroup(_ context.Context, _ *core.Request, in *elb.CreateTargetGroupInput) (*elb.CreateTargetGroupOutput, error) {
	name := aws.ToString(in.Name)
	if err := checkName("Target group", name); err != nil {
		return nil, err
	}
	tt := in.TargetType
	if tt == "" {
		tt = types.TargetTypeEnumInstance
	}
	if tt != types.TargetTypeEnumInstance && tt != types.TargetTypeEnumIp {
		return nil, core.Invalid("bake sim serves target groups of target type 'instance' or 'ip', not '%s'", tt)
	}
	switch {
	case in.Protocol == "":
		return nil, core.Invalid("A protocol must be specified")
	case in.Protocol != types.ProtocolEnumHttp:
		return nil, core.Errorf("UnsupportedProtocol", "bake sim serves HTTP target groups only, not '%s'", in.Protocol)
	case in.Port == nil:
		return nil, core.Invalid("A port must be specified")
	case *in.Port < 1 || *in.Port > 65535:
		return nil, core.Invalid("Port '%d' must be between 1 and 65535", *in.Port)
	case aws.ToString(in.VpcId) == "":
		return nil, core.Invalid("A VPC ID must be specified")
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	tg := types.TargetGroup{
		TargetGroupName:            aws.String(name),
		Protocol:                   in.Protocol,
		ProtocolVersion:            aws.String("HTTP1"),
		Port:                       in.Port,
		VpcId:                      in.VpcId,
		TargetType:                 tt,
		IpAddressType:              types.TargetGroupIpAddressTypeEnumIpv4,
		HealthCheckEnabled:         aws.Bool(true),
		HealthCheckProtocol:        types.ProtocolEnumHttp,
		HealthCheckPort:            aws.String("traffic-port"),
		HealthCheckPath:            aws.String("/"),
		HealthCheckIntervalSeconds: aws.Int32(30),
		HealthCheckTimeoutSeconds:  aws.Int32(5),
		HealthyThresholdCount:      aws.Int32(5),
		UnhealthyThresholdCount:    aws.Int32(2),
		Matcher:                    &types.Matcher{HttpCode: aws.String("200")},
		LoadBalancerArns:           []string{},
	}
	if err := applyHealth(&tg, healthSettings{in.HealthCheckEnabled, in.HealthCheckIntervalSeconds, in.HealthCheckPath,
		in.HealthCheckPort, in.HealthCheckProtocol, in.HealthCheckTimeoutSeconds, in.HealthyThresholdCount,
		in.UnhealthyThresholdCount, in.Matcher}); err != nil {
		return nil, err
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	for _, have := range e.tgs {
		if aws.ToString(have.TG.TargetGroupName) != name {
			continue
		}
		if have.TG.Protocol == tg.Protocol && aws.ToInt32(have.TG.Port) == aws.ToInt32(tg.Port) &&
			aws.ToString(have.TG.VpcId) == aws.ToString(tg.VpcId) && have.TG.TargetType == tg.TargetType {
			return &elb.CreateTargetGroupOutput{TargetGroups: []types.TargetGroup{e.tgView(have)}}, nil
		}
		return nil, core.Errorf("DuplicateTargetGroupName", "A target group with the same name '%s' exists, but with different settings", name)
	}
	tg.TargetGroupArn = aws.String(e.arn("targetgroup/" + name + "/" + core.NewHex(16)))
	t := &targetGroup{TG: tg, Attrs: defaultTGAttrs()}
	g, err := newGroup(e, t)
	if err != nil {
		return nil, err
	}
	t.group = g
	arn := aws.ToString(tg.TargetGroupArn)
	e.tgs[arn] = t
	if len(in.Tags) > 0 {
		e.tags[arn] = mergeTags(nil, in.Tags)
	}
	e.save()
	return &elb.CreateTargetGroupOutput{TargetGroups: []types.TargetGroup{e.tgView(t)}}, nil
}

// tgView is the target group as Describe shows it, with the load balancers
// whose listeners forward to it. Called with e.mu held.
func (e *ELBv2) tgView(t *targetGroup) types.TargetGroup {
	v := t.TG
	v.LoadBalancerArns = e.lbsOf(aws.ToString(t.TG.TargetGroupArn))
	return v
}

func (e *ELBv2) lbsOf(tgArn string) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, l := range e.listeners {
		for _, a := range forwardGroups(l.L.DefaultActions) {
			lb := aws.ToString(l.L.LoadBalancerArn)
			if a == tgArn && !seen[lb] {
				seen[lb] = true
				out = append(out, lb)
			}
		}
	}
	for _, r := range e.rules {
		l := e.listeners[r.Listener]
		if l == nil {
			continue
		}
		for _, a := range forwardGroups(r.R.Actions) {
			lb := aws.ToString(l.L.LoadBalancerArn)
			if a == tgArn && !seen[lb] {
				seen[lb] = true
				out = append(out, lb)
			}
		}
	}
	sort.Strings(out)
	return out
}

func (e *ELBv2) describeTargetGroups(_ context.Context, _ *core.Request, in *elb.DescribeTargetGroupsInput) (*elb.DescribeTargetGroupsOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := &elb.DescribeTargetGroupsOutput{TargetGroups: []types.TargetGroup{}}
	if n := btoi(len(in.TargetGroupArns) > 0) + btoi(len(in.Names) > 0) + btoi(in.LoadBalancerArn != nil); n > 1 {
		return nil, core.Invalid("Target group ARNs, names and a load balancer ARN cannot be specified at the same time")
	}
	switch {
	case len(in.TargetGroupArns) > 0:
		for _, arn := range in.TargetGroupArns {
			t := e.tgs[arn]
			if t == nil {
				return nil, errTGNotFound()
			}
			out.TargetGroups = append(out.TargetGroups, e.tgView(t))
		}
	case len(in.Names) > 0:
		for _, n := range in.Names {
			var found *targetGroup
			for _, t := range e.tgs {
				if aws.ToString(t.TG.TargetGroupName) == n {
					found = t
				}
			}
			if found == nil {
				return nil, core.Errorf("TargetGroupNotFound", "Target groups '[%s]' not found", n)
			}
			out.TargetGroups = append(out.TargetGroups, e.tgView(found))
		}
	default:
		lbArn := aws.ToString(in.LoadBalancerArn)
		if lbArn != "" && e.lbs[lbArn] == nil {
			return nil, errLBNotFound()
		}
		for _, arn := range slices.Sorted(maps.Keys(e.tgs)) {
			v := e.tgView(e.tgs[arn])
			if lbArn == "" || contains(v.LoadBalancerArns, lbArn) {
				out.TargetGroups = append(out.TargetGroups, v)
			}
		}
	}
	return out, nil
}

func (e *ELBv2) modifyTargetGroup(_ context.Context, _ *core.Request, in *elb.ModifyTargetGroupInput) (*elb.ModifyTargetGroupOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.tgs[aws.ToString(in.TargetGroupArn)]
	if t == nil {
		return nil, errTGNotFound()
	}
	next := t.TG
	if err := applyHealth(&next, healthSettings{in.HealthCheckEnabled, in.HealthCheckIntervalSeconds, in.HealthCheckPath,
		in.HealthCheckPort, in.HealthCheckProtocol, in.HealthCheckTimeoutSeconds, in.HealthyThresholdCount,
		in.UnhealthyThresholdCount, in.Matcher}); err != nil {
		return nil, err
	}
	if err := t.group.SetHealthCheck(healthCheck(next)); err != nil {
		return nil, core.Invalid("%s", err)
	}
	t.TG = next
	e.save()
	return &elb.ModifyTargetGroupOutput{TargetGroups: []types.TargetGroup{e.tgView(t)}}, nil
}

func (e *ELBv2) deleteTargetGroup(_ context.Context, _ *core.Request, in *elb.DeleteTargetGroupInput) (*elb.DeleteTargetGroupOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	arn := aws.ToString(in.TargetGroupArn)
	t := e.tgs[arn]
	if t == nil {
		return nil, errTGNotFound()
	}
	if len(e.lbsOf(arn)) > 0 {
		return nil, core.Errorf("ResourceInUse", "Target group '%s' is currently in use by a listener or a rule", arn)
	}
	t.group.Close()
	delete(e.tgs, arn)
	delete(e.tags, arn)
	e.save()
	return &elb.DeleteTargetGroupOutput{}, nil
}

func (e *ELBv2) describeTargetGroupAttributes(_ context.Context, _ *core.Request, in *elb.DescribeTargetGroupAttributesInput) (*elb.DescribeTargetGroupAttributesOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.tgs[aws.ToString(in.TargetGroupArn)]
	if t == nil {
		return nil, errTGNotFound()
	}
	return &elb.DescribeTargetGroupAttributesOutput{Attributes: tgAttrs(t.Attrs)}, nil
}

func (e *ELBv2) modifyTargetGroupAttributes(_ context.Context, _ *core.Request, in *elb.ModifyTargetGroupAttributesInput) (*elb.ModifyTargetGroupAttributesOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.tgs[aws.ToString(in.TargetGroupArn)]
	if t == nil {
		return nil, errTGNotFound()
	}
	for _, a := range in.Attributes {
		k, v := aws.ToString(a.Key), aws.ToString(a.Value)
		if _, ok := defaultTGAttrs()[k]; !ok {
			return nil, core.Invalid("Target group attribute key '%s' is not recognized", k)
		}
		if k == "deregistration_delay.timeout_seconds" {
			if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 3600 {
				return nil, core.Invalid("Target group attribute '%s' value '%s' must be an integer between 0 and 3600", k, v)
			}
		}
	}
	for _, a := range in.Attributes {
		t.Attrs[aws.ToString(a.Key)] = aws.ToString(a.Value)
	}
	t.group.SetDeregistrationDelay(deregDelay(t.Attrs))
	e.save()
	return &elb.ModifyTargetGroupAttributesOutput{Attributes: tgAttrs(t.Attrs)}, nil
}

func tgAttrs(m map[string]string) []types.TargetGroupAttribute {
	return attrList(m, func(k, v string) types.TargetGroupAttribute {
		return types.TargetGroupAttribute{Key: aws.String(k), Value: aws.String(v)}
	})
}

// targets resolves the targets of a register or deregister call to the
// addresses the data plane dials.
func (e *ELBv2) targets(t *targetGroup, in []types.TargetDescription, register bool) ([]proxy.Target, error) {
	if len(in) == 0 {
		return nil, core.Missing("1 validation error detected: Value null at 'targets' failed to satisfy constraint: Member must not be null")
	}
	var out, bad, notRunning []string
	var ts []proxy.Target
	for _, d := range in {
		id := aws.ToString(d.Id)
		port := aws.ToInt32(t.TG.Port)
		if d.Port != nil {
			port = *d.Port
		}
		if port < 1 || port > 65535 {
			return nil, core.Invalid("Port '%d' of target '%s' must be between 1 and 65535", port, id)
		}
		host := id
		switch t.TG.TargetType {
		case types.TargetTypeEnumIp:
			if _, err := netip.ParseAddr(id); err != nil {
				bad = append(bad, id)
				continue
			}
		default:
			if !register {
				break // deregistering needs no address
			}
			if e.cfg.Instances == nil {
				bad = append(bad, id)
				continue
			}
			addr, state, ok := e.cfg.Instances.InstanceTarget(id)
			switch {
			case !ok:
				bad = append(bad, id)
				continue
			case state != "running" && state != "pending":
				notRunning = append(notRunning, id)
				continue
			}
			host = addr
		}
		ts = append(ts, proxy.Target{ID: id, Host: host, Port: int(port)})
		out = append(out, id)
	}
	if len(bad) > 0 {
		return nil, core.Errorf("InvalidTarget", "The following targets are not valid: '%s'", strings.Join(bad, "', '"))
	}
	if len(notRunning) > 0 {
		return nil, core.Errorf("InvalidTarget", "The following targets are not in a running state and cannot be registered: '%s'", strings.Join(notRunning, "', '"))
	}
	return ts, nil
}

func (e *ELBv2) registerTargets(_ context.Context, _ *core.Request, in *elb.RegisterTargetsInput) (*elb.RegisterTargetsOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.tgs[aws.ToString(in.TargetGroupArn)]
	if t == nil {
		return nil, errTGNotFound()
	}
	ts, err := e.targets(t, in.Targets, true)
	if err != nil {
		return nil, err
	}
	t.group.Register(ts...)
	for _, nt := range ts {
		if !slicesContainsTarget(t.Targets, nt) {
			t.Targets = append(t.Targets, nt)
		}
	}
	e.save()
	return &elb.RegisterTargetsOutput{}, nil
}

func (e *ELBv2) deregisterTargets(_ context.Context, _ *core.Request, in *elb.DeregisterTargetsInput) (*elb.DeregisterTargetsOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.tgs[aws.ToString(in.TargetGroupArn)]
	if t == nil {
		return nil, errTGNotFound()
	}
	ts, err := e.targets(t, in.Targets, false)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, dt := range ts {
		if !slicesContainsTarget(t.Targets, dt) {
			missing = append(missing, dt.ID)
		}
	}
	if len(missing) > 0 {
		return nil, core.Errorf("InvalidTarget", "The following targets are not registered in target group '%s': '%s'",
			aws.ToString(t.TG.TargetGroupName), strings.Join(missing, "', '"))
	}
	for _, dt := range ts {
		for i, have := range t.Targets {
			if have.ID == dt.ID && have.Port == dt.Port {
				t.group.Deregister(have)
				t.Targets = append(t.Targets[:i], t.Targets[i+1:]...)
				break
			}
		}
	}
	e.save()
	return &elb.DeregisterTargetsOutput{}, nil
}

func slicesContainsTarget(ts []proxy.Target, t proxy.Target) bool {
	for _, x := range ts {
		if x.ID == t.ID && x.Port == t.Port {
			return true
		}
	}
	return false
}

func (e *ELBv2) describeTargetHealth(_ context.Context, _ *core.Request, in *elb.DescribeTargetHealthInput) (*elb.DescribeTargetHealthOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.tgs[aws.ToString(in.TargetGroupArn)]
	if t == nil {
		return nil, errTGNotFound()
	}
	var only []proxy.Target
	for _, d := range in.Targets {
		port := aws.ToInt32(t.TG.Port)
		if d.Port != nil {
			port = *d.Port
		}
		only = append(only, proxy.Target{ID: aws.ToString(d.Id), Port: int(port)})
	}
	out := &elb.DescribeTargetHealthOutput{TargetHealthDescriptions: []types.TargetHealthDescription{}}
	for _, h := range t.group.Health(only...) {
		hcPort := aws.ToString(t.TG.HealthCheckPort)
		if hcPort == "traffic-port" {
			hcPort = strconv.Itoa(h.Target.Port)
		}
		th := &types.TargetHealth{State: types.TargetHealthStateEnum(h.State)}
		if h.Reason != "" {
			th.Reason = types.TargetHealthReasonEnum(h.Reason)
			th.Description = aws.String(h.Description)
		}
		out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, types.TargetHealthDescription{
			Target:          &types.TargetDescription{Id: aws.String(h.Target.ID), Port: aws.Int32(int32(h.Target.Port))},
			HealthCheckPort: aws.String(hcPort),
			TargetHealth:    th,
		})
	}
	return out, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}
