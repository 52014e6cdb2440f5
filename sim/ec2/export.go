package ec2

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// This file is what other services of the sim (Auto Scaling, ELBv2) use
// of EC2.

// LaunchRequest launches one instance from a launch template version.
type LaunchRequest struct {
	TemplateID   string // or TemplateName
	TemplateName string
	Version      string // "$Latest", "$Default" (or "") or a number
	SubnetID     string // "" for the first default subnet
	Tags         map[string]string
}

// InstanceInfo is an instance as other services see it.
type InstanceInfo struct {
	ID         string
	ImageID    string
	State      string // pending, running, stopping, stopped, shutting-down, terminated
	PrivateIP  string // the container's address ("" until running)
	PublicIP   string // the instance's loopback address, where its ports are published
	SubnetID   string
	AZ         string
	LaunchTime time.Time
	Template   string // launch template id, if launched from one
	Version    string // its version number
}

// SubnetInfo is a default subnet.
type SubnetInfo struct {
	ID string
	AZ string
}

// LaunchFromTemplate runs one instance as RunInstances would with the
// launch template version; it returns at once with the instance pending.
func (e *EC2) LaunchFromTemplate(ctx context.Context, r LaunchRequest) (InstanceInfo, error) {
	spec := &types.LaunchTemplateSpecification{Version: strPtr(r.Version)}
	if r.TemplateID != "" {
		spec.LaunchTemplateId = strPtr(r.TemplateID)
	} else {
		spec.LaunchTemplateName = strPtr(r.TemplateName)
	}
	l := launch{SubnetID: r.SubnetID}
	var tags []types.Tag
	for _, k := range slices.Sorted(maps.Keys(r.Tags)) {
		tags = append(tags, types.Tag{Key: strPtr(k), Value: strPtr(r.Tags[k])})
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.applyTemplate(&l, spec); err != nil {
		return InstanceInfo{}, err
	}
	insts, _, err := e.launchLocked(ctx, nil, l, 1)
	if err != nil {
		return InstanceInfo{}, err
	}
	e.setTags(*insts[0].InstanceId, tags)
	e.save()
	return e.info(insts[0]), nil
}

// TerminateInstance terminates an instance (a terminated or unknown one is
// not an error: the goal is reached).
func (e *EC2) TerminateInstance(ctx context.Context, id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	inst, ok := e.st.Instances[id]
	if !ok {
		return nil
	}
	e.terminateLocked(ctx, inst)
	e.save()
	return nil
}

// Instance looks an instance up.
func (e *EC2) Instance(id string) (InstanceInfo, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	inst, ok := e.st.Instances[id]
	if !ok {
		return InstanceInfo{}, false
	}
	return e.info(inst), true
}

func (e *EC2) info(inst *instance) InstanceInfo {
	tags := e.st.Tags[*inst.InstanceId]
	return InstanceInfo{
		ID: *inst.InstanceId, ImageID: deref(inst.ImageId), State: string(inst.State.Name),
		PrivateIP: deref(inst.PrivateIpAddress), PublicIP: deref(inst.PublicIpAddress), SubnetID: deref(inst.SubnetId),
		AZ: deref(inst.Placement.AvailabilityZone), LaunchTime: deref(inst.LaunchTime),
		Template: tags["aws:ec2launchtemplate:id"], Version: tags["aws:ec2launchtemplate:version"],
	}
}

// Subnets are the default VPC's subnets, one per availability zone.
func (e *EC2) Subnets() []SubnetInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]SubnetInfo, 0, len(e.st.Subnets))
	for _, s := range e.st.Subnets {
		out = append(out, SubnetInfo{ID: deref(s.SubnetId), AZ: deref(s.AvailabilityZone)})
	}
	return out
}

// Exec runs a command in a running instance (for example to stop its app
// in a test) and returns its output and exit code.
func (e *EC2) Exec(ctx context.Context, id string, cmd ...string) (string, int, error) {
	e.mu.Lock()
	inst, ok := e.st.Instances[id]
	cid := ""
	if ok {
		cid = inst.ContainerID
	}
	e.mu.Unlock()
	if cid == "" {
		return "", -1, fmt.Errorf("exec in instance %s: it is not running", id)
	}
	return e.rt.Exec(ctx, cid, cmd)
}

// Wait blocks until the background work started so far (boots, stops,
// commits) is done, or ctx ends.
func (e *EC2) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// InstanceTarget is where a load balancer reaches an instance: its
// loopback address (its ports are published there) and its state. ok is
// false for an unknown instance.
func (e *EC2) InstanceTarget(id string) (addr, state string, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	inst, found := e.st.Instances[id]
	if !found {
		return "", "", false
	}
	return deref(inst.PublicIpAddress), string(inst.State.Name), true
}

// Subnet is the AZ and VPC of a default subnet; ok is false for an unknown
// subnet.
func (e *EC2) Subnet(id string) (az, vpc string, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, found := e.subnet(id)
	if !found {
		return "", "", false
	}
	return deref(s.AvailabilityZone), deref(s.VpcId), true
}
