package elbv2

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/bakehq/bake/sim/core"
	"github.com/bakehq/bake/sim/elbv2/proxy"
)

// normalizeActions checks a listener's default actions and writes them the
// way ELBv2 describes them: a forward to one target group carries both
// TargetGroupArn and a ForwardConfig of weight 1; a weighted forward only
// the ForwardConfig. Called with e.mu held.
func (e *ELBv2) normalizeActions(lbArn string, actions []types.Action) ([]types.Action, error) {
	if len(actions) != 1 {
		return nil, core.Errorf("InvalidLoadBalancerAction", "bake sim serves listeners with exactly one default action, a forward; got %d actions", len(actions))
	}
	a := actions[0]
	if a.Type != types.ActionTypeEnumForward {
		return nil, core.Errorf("InvalidLoadBalancerAction", "bake sim serves forward actions only, not '%s'", a.Type)
	}
	var tuples []types.TargetGroupTuple
	if a.ForwardConfig != nil {
		tuples = a.ForwardConfig.TargetGroups
	}
	single := aws.ToString(a.TargetGroupArn)
	switch {
	case single == "" && len(tuples) == 0:
		return nil, core.Errorf("InvalidLoadBalancerAction", "A forward action must specify a target group ARN or a forward config with target groups")
	case single != "" && len(tuples) > 1:
		return nil, core.Errorf("InvalidLoadBalancerAction", "You cannot specify both a target group ARN and a forward config with more than one target group")
	case single != "" && len(tuples) == 1 && aws.ToString(tuples[0].TargetGroupArn) != single:
		return nil, core.Errorf("InvalidLoadBalancerAction", "The target group ARN and the forward config's target group must be the same")
	case len(tuples) > 5:
		return nil, core.Errorf("TooManyTargetGroups", "A forward action can have at most 5 target groups")
	}
	if single != "" && len(tuples) == 0 {
		tuples = []types.TargetGroupTuple{{TargetGroupArn: aws.String(single), Weight: aws.Int32(1)}}
	}
	seen := map[string]bool{}
	var norm []types.TargetGroupTuple
	for _, tu := range tuples {
		arn := aws.ToString(tu.TargetGroupArn)
		if e.tgs[arn] == nil {
			return nil, core.Errorf("TargetGroupNotFound", "Target group '%s' not found", arn)
		}
		if seen[arn] {
			return nil, core.Errorf("InvalidLoadBalancerAction", "Target group '%s' is specified more than once", arn)
		}
		seen[arn] = true
		w := int32(1)
		if tu.Weight != nil {
			w = *tu.Weight
		}
		if w < 0 || w > 999 {
			return nil, core.Invalid("Target group weight '%d' must be between 0 and 999", w)
		}
		for _, other := range e.lbsOf(arn) {
			if other != lbArn {
				return nil, core.Errorf("TargetGroupAssociationLimit", "The following target groups cannot be associated with more than one load balancer: %s", arn)
			}
		}
		norm = append(norm, types.TargetGroupTuple{TargetGroupArn: aws.String(arn), Weight: aws.Int32(w)})
	}
	out := types.Action{
		Type:  types.ActionTypeEnumForward,
		Order: aws.Int32(1),
		ForwardConfig: &types.ForwardActionConfig{
			TargetGroups:                norm,
			TargetGroupStickinessConfig: &types.TargetGroupStickinessConfig{Enabled: aws.Bool(false)},
		},
	}
	if len(norm) == 1 {
		out.TargetGroupArn = norm[0].TargetGroupArn
	}
	return []types.Action{out}, nil
}

// forwardGroups lists the target groups actions forward to.
func forwardGroups(actions []types.Action) []string {
	var out []string
	for _, a := range actions {
		if a.ForwardConfig != nil {
			for _, tu := range a.ForwardConfig.TargetGroups {
				out = append(out, aws.ToString(tu.TargetGroupArn))
			}
		} else if a.TargetGroupArn != nil {
			out = append(out, *a.TargetGroupArn)
		}
	}
	return out
}

// forward is the data plane's view of normalized actions. Called with e.mu held.
func (e *ELBv2) forward(actions []types.Action) ([]proxy.Weighted, error) {
	var out []proxy.Weighted
	for _, a := range actions {
		if a.ForwardConfig == nil {
			continue
		}
		for _, tu := range a.ForwardConfig.TargetGroups {
			t := e.tgs[aws.ToString(tu.TargetGroupArn)]
			if t == nil {
				return nil, errTGNotFound()
			}
			out = append(out, proxy.Weighted{Group: t.group, Weight: int(aws.ToInt32(tu.Weight))})
		}
	}
	return out, nil
}

func checkListenerProtocol(p types.ProtocolEnum) error {
	if p != "" && p != types.ProtocolEnumHttp {
		return core.Errorf("UnsupportedProtocol", "bake sim serves HTTP listeners only, not '%s'", p)
	}
	return nil
}

func (e *ELBv2) createListener(_ context.Context, _ *core.Request, in *elb.CreateListenerInput) (*elb.CreateListenerOutput, error) {
	if err := checkListenerProtocol(in.Protocol); err != nil {
		return nil, err
	}
	port := int32(80)
	if in.Port != nil {
		port = *in.Port
	}
	if port < 1 || port > 65535 {
		return nil, core.Invalid("Port '%d' must be between 1 and 65535", port)
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	lbArn := aws.ToString(in.LoadBalancerArn)
	lb := e.lbs[lbArn]
	if lb == nil {
		return nil, errLBNotFound()
	}
	for _, l := range e.listeners {
		if aws.ToString(l.L.LoadBalancerArn) == lbArn && aws.ToInt32(l.L.Port) == port {
			return nil, core.Errorf("DuplicateListener", "A listener already exists on this port for this load balancer '%s'", lbArn)
		}
	}
	actions, err := e.normalizeActions(lbArn, in.DefaultActions)
	if err != nil {
		return nil, err
	}
	fwd, err := e.forward(actions)
	if err != nil {
		return nil, err
	}
	p, err := proxy.Listen(listenAddr(lb.IP, port), fwd)
	if err != nil {
		return nil, core.Errorf("InvalidConfigurationRequest", "bake sim could not listen for load balancer %s: %s", aws.ToString(lb.LB.LoadBalancerName), err)
	}
	suffix := strings.TrimPrefix(lbArn, e.arn("loadbalancer/"))
	l := &listener{
		L: types.Listener{
			ListenerArn:     aws.String(e.arn("listener/" + suffix + "/" + core.NewHex(16))),
			LoadBalancerArn: aws.String(lbArn),
			Port:            aws.Int32(port),
			Protocol:        types.ProtocolEnumHttp,
			DefaultActions:  actions,
		},
		proxy: p,
	}
	arn := aws.ToString(l.L.ListenerArn)
	e.listeners[arn] = l
	if len(in.Tags) > 0 {
		e.tags[arn] = mergeTags(nil, in.Tags)
	}
	e.save()
	return &elb.CreateListenerOutput{Listeners: []types.Listener{l.L}}, nil
}

func (e *ELBv2) describeListeners(_ context.Context, _ *core.Request, in *elb.DescribeListenersInput) (*elb.DescribeListenersOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := &elb.DescribeListenersOutput{Listeners: []types.Listener{}}
	switch {
	case len(in.ListenerArns) > 0 && in.LoadBalancerArn != nil:
		return nil, core.Invalid("Listener ARNs and a load balancer ARN cannot be specified at the same time")
	case len(in.ListenerArns) > 0:
		for _, arn := range in.ListenerArns {
			l := e.listeners[arn]
			if l == nil {
				return nil, errListenerNotFound()
			}
			out.Listeners = append(out.Listeners, l.L)
		}
	case in.LoadBalancerArn != nil:
		if e.lbs[*in.LoadBalancerArn] == nil {
			return nil, errLBNotFound()
		}
		for _, arn := range slices.Sorted(maps.Keys(e.listeners)) {
			if l := e.listeners[arn]; aws.ToString(l.L.LoadBalancerArn) == *in.LoadBalancerArn {
				out.Listeners = append(out.Listeners, l.L)
			}
		}
	default:
		return nil, core.Invalid("You must specify either listener ARNs or a load balancer ARN")
	}
	return out, nil
}

func (e *ELBv2) modifyListener(ctx context.Context, _ *core.Request, in *elb.ModifyListenerInput) (*elb.ModifyListenerOutput, error) {
	if err := checkListenerProtocol(in.Protocol); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	l := e.listeners[aws.ToString(in.ListenerArn)]
	if l == nil {
		return nil, errListenerNotFound()
	}
	lbArn := aws.ToString(l.L.LoadBalancerArn)
	lb := e.lbs[lbArn]
	next := l.L
	if len(in.DefaultActions) > 0 {
		actions, err := e.normalizeActions(lbArn, in.DefaultActions)
		if err != nil {
			return nil, err
		}
		next.DefaultActions = actions
	}
	fwd, err := e.forward(next.DefaultActions)
	if err != nil {
		return nil, err
	}
	if in.Port != nil && *in.Port != aws.ToInt32(l.L.Port) {
		port := *in.Port
		if port < 1 || port > 65535 {
			return nil, core.Invalid("Port '%d' must be between 1 and 65535", port)
		}
		for _, o := range e.listeners {
			if aws.ToString(o.L.LoadBalancerArn) == lbArn && aws.ToInt32(o.L.Port) == port {
				return nil, core.Errorf("DuplicateListener", "A listener already exists on this port for this load balancer '%s'", lbArn)
			}
		}
		p, err := proxy.Listen(listenAddr(lb.IP, port), fwd)
		if err != nil {
			return nil, core.Errorf("InvalidConfigurationRequest", "bake sim could not listen on port %d: %s", port, err)
		}
		if err := e.stopListener(ctx, l); err != nil {
			e.log.Warn("stop the old port of a modified listener", "listener", aws.ToString(l.L.ListenerArn), "err", err)
		}
		l.proxy = p
		next.Port = aws.Int32(port)
		if err := e.applyRules(l); err != nil {
			return nil, err
		}
	} else {
		l.proxy.SetForward(fwd) // one atomic swap: no request fails across it
	}
	l.L = next
	e.save()
	return &elb.ModifyListenerOutput{Listeners: []types.Listener{l.L}}, nil
}

// stopListener closes l's port and gives requests in flight a few seconds
// to finish, whatever the API call's own deadline. Called with e.mu held.
func (e *ELBv2) stopListener(ctx context.Context, l *listener) error {
	if l.proxy == nil {
		return nil
	}
	p := l.proxy
	l.proxy = nil
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainGrace)
	defer cancel()
	return p.Close(cctx)
}

// drainGrace bounds how long a deleted or moved listener waits for the
// requests it is serving.
const drainGrace = 5 * time.Second

func (e *ELBv2) deleteListener(ctx context.Context, _ *core.Request, in *elb.DeleteListenerInput) (*elb.DeleteListenerOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	arn := aws.ToString(in.ListenerArn)
	l := e.listeners[arn]
	if l == nil {
		return nil, errListenerNotFound()
	}
	if err := e.stopListener(ctx, l); err != nil {
		e.log.Warn("stop a deleted listener", "listener", arn, "err", err)
	}
	delete(e.listeners, arn)
	delete(e.tags, arn)
	e.dropRules(arn)
	e.save()
	return &elb.DeleteListenerOutput{}, nil
}
