package elbv2

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/bakehq/bake/sim/elbv2/proxy"
)

// This file is what Auto Scaling uses of ELBv2: registering the group's
// instances on the target group's port and reading their health.

// TargetGroupExists reports whether arn names a target group.
func (e *ELBv2) TargetGroupExists(arn string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.tgs[arn] != nil
}

// RegisterInstance registers instance id on the target group's port, as
// an Auto Scaling group does for its instances.
func (e *ELBv2) RegisterInstance(arn, id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.tgs[arn]
	if t == nil {
		return errTGNotFound()
	}
	ts, err := e.targets(t, []types.TargetDescription{{Id: aws.String(id)}}, true)
	if err != nil {
		return err
	}
	t.group.Register(ts...)
	if !slicesContainsTarget(t.Targets, ts[0]) {
		t.Targets = append(t.Targets, ts[0])
	}
	e.save()
	return nil
}

// DeregisterInstance starts draining instance id from the target group;
// an instance that is not registered is not an error.
func (e *ELBv2) DeregisterInstance(arn, id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.tgs[arn]
	if t == nil {
		return nil // the group is gone, and the instance with it
	}
	for i, have := range t.Targets {
		if have.ID == id {
			t.group.Deregister(have)
			t.Targets = append(t.Targets[:i], t.Targets[i+1:]...)
			e.save()
			return nil
		}
	}
	return nil
}

// InstanceHealth is instance id's state in the target group (healthy,
// unhealthy, initial, draining, unused); ok is false once it has left the
// group, after draining.
func (e *ELBv2) InstanceHealth(arn, id string) (state string, ok bool) {
	e.mu.Lock()
	t := e.tgs[arn]
	e.mu.Unlock()
	if t == nil {
		return "", false
	}
	for _, h := range t.group.Health() {
		if h.Target.ID == id {
			return string(h.State), true
		}
	}
	return string(proxy.StateUnused), false
}
