// Package autoscaling is the sim's Auto Scaling: groups that launch
// instances from a launch template version up to their desired capacity
// across the default subnets, register them with their target groups,
// replace the ones EC2 or ELB health checks mark unhealthy (after the grace
// period), and drain then terminate on scale-in.
package autoscaling

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/google/uuid"

	"github.com/bakehq/bake/sim/core"
	"github.com/bakehq/bake/sim/ec2"
)

// Fleet is what Auto Scaling needs from EC2.
type Fleet interface {
	LaunchFromTemplate(ctx context.Context, r ec2.LaunchRequest) (ec2.InstanceInfo, error)
	TerminateInstance(ctx context.Context, id string) error
	Instance(id string) (ec2.InstanceInfo, bool)
	Subnets() []ec2.SubnetInfo
}

// TargetGroups is what Auto Scaling needs from ELBv2.
type TargetGroups interface {
	TargetGroupExists(arn string) bool
	RegisterInstance(arn, id string) error
	DeregisterInstance(arn, id string) error
	// InstanceHealth is the instance's state in the group; ok is false
	// once it has left the group (after draining).
	InstanceHealth(arn, id string) (state string, ok bool)
}

// Config is what the service is built from. Server and Fleet are
// required; without TargetGroups, groups cannot use target groups.
type Config struct {
	Server       *core.Server
	Fleet        Fleet
	TargetGroups TargetGroups
	// Interval is how often groups are reconciled; 1s by default.
	Interval time.Duration
}

// AutoScaling holds the groups and runs their reconciler.
type AutoScaling struct {
	cfg     Config
	region  string
	account string
	log     *slog.Logger

	mu         sync.Mutex
	groups     map[string]*group // by name
	activities []types.Activity  // newest last
	tags       []types.TagDescription

	stop chan struct{}
	done chan struct{}
	kick chan struct{}
}

// group is an Auto Scaling group and the sim's bookkeeping for it.
type group struct {
	G          types.AutoScalingGroup
	Members    map[string]*member // by instance id
	Deleting   bool
	LastFailed time.Time // last failed launch, to back off
}

// member is an instance of a group.
type member struct {
	Instance   types.Instance
	LaunchTime time.Time
	Registered bool   // with the group's target groups
	Cause      string // why it is terminating, for the activity
	Activity   string // the activity of its termination
	Decrement  bool
}

// New builds the service, restores saved groups and starts the reconciler;
// the server's Close stops it.
func New(cfg Config) (*AutoScaling, *core.Service, error) {
	if cfg.Server == nil || cfg.Fleet == nil {
		return nil, nil, errors.New("build the autoscaling service: it needs the server and EC2")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	a := &AutoScaling{
		cfg:     cfg,
		region:  cfg.Server.Region(),
		account: cfg.Server.AccountID(),
		log:     cfg.Server.Log(),
		groups:  map[string]*group{},
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		kick:    make(chan struct{}, 1),
	}
	var s saved
	ok, err := cfg.Server.Store().Load(stateName, &s)
	if err != nil {
		return nil, nil, err
	}
	if ok {
		if s.Groups != nil {
			a.groups = s.Groups
		}
		a.activities, a.tags = s.Activities, s.Tags
	}
	svc := core.MustService("autoscaling")
	core.Handle(svc, "CreateAutoScalingGroup", a.createGroup)
	core.Handle(svc, "UpdateAutoScalingGroup", a.updateGroup)
	core.Handle(svc, "DescribeAutoScalingGroups", a.describeGroups)
	core.Handle(svc, "DeleteAutoScalingGroup", a.deleteGroup)
	core.Handle(svc, "SetDesiredCapacity", a.setDesiredCapacity)
	core.Handle(svc, "AttachLoadBalancerTargetGroups", a.attachTargetGroups)
	core.Handle(svc, "DetachLoadBalancerTargetGroups", a.detachTargetGroups)
	core.Handle(svc, "DescribeLoadBalancerTargetGroups", a.describeTargetGroups)
	core.Handle(svc, "DescribeScalingActivities", a.describeActivities)
	core.Handle(svc, "TerminateInstanceInAutoScalingGroup", a.terminateInstance)
	core.Handle(svc, "DescribeAutoScalingInstances", a.describeInstances)
	core.Handle(svc, "SetInstanceHealth", a.setInstanceHealth)
	core.Handle(svc, "CreateOrUpdateTags", a.createOrUpdateTags)
	core.Handle(svc, "DeleteTags", a.deleteTags)
	core.Handle(svc, "DescribeTags", a.describeTags)
	go a.run()
	cfg.Server.OnClose(a.Close)
	return a, svc, nil
}

// Close stops the reconciler. Instances are EC2's to remove.
func (a *AutoScaling) Close(ctx context.Context) error {
	select {
	case <-a.stop:
	default:
		close(a.stop)
	}
	select {
	case <-a.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop the auto scaling reconciler: %w", ctx.Err())
	}
}

type saved struct {
	Groups     map[string]*group
	Activities []types.Activity
	Tags       []types.TagDescription
}

const stateName = "autoscaling"

// save persists the state. Called with a.mu held.
func (a *AutoScaling) save() {
	if err := a.cfg.Server.Store().Save(stateName, saved{a.groups, a.activities, a.tags}); err != nil {
		a.log.Warn("persist autoscaling state", "err", err)
	}
}

// poke makes the reconciler run now rather than at its next tick.
func (a *AutoScaling) poke() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

func (a *AutoScaling) groupARN(name string) string {
	return fmt.Sprintf("arn:aws:autoscaling:%s:%s:autoScalingGroup:%s:autoScalingGroupName/%s", a.region, a.account, uuid.NewString(), name)
}

func errNoGroup(name string) error {
	return core.Errorf("ValidationError", "AutoScalingGroup name not found - AutoScalingGroup '%s' not found", name)
}

// activity records a scaling activity and returns its id. Called with a.mu held.
func (a *AutoScaling) activity(g *group, desc, cause string, status types.ScalingActivityStatusCode, msg string) string {
	id := uuid.NewString()
	act := types.Activity{
		ActivityId:           aws.String(id),
		AutoScalingGroupName: g.G.AutoScalingGroupName,
		AutoScalingGroupARN:  g.G.AutoScalingGroupARN,
		Description:          aws.String(desc),
		Cause:                aws.String(cause),
		StartTime:            aws.Time(time.Now().UTC().Truncate(time.Millisecond)),
		StatusCode:           status,
		Progress:             aws.Int32(0),
		Details:              aws.String(fmt.Sprintf(`{"Subnet ID":"","Availability Zone":"%s"}`, firstAZ(g))),
	}
	if msg != "" {
		act.StatusMessage = aws.String(msg)
	}
	if status == types.ScalingActivityStatusCodeSuccessful || status == types.ScalingActivityStatusCodeFailed {
		act.EndTime = act.StartTime
		act.Progress = aws.Int32(100)
	}
	a.activities = append(a.activities, act)
	if len(a.activities) > 1000 {
		a.activities = a.activities[len(a.activities)-1000:]
	}
	return id
}

// finish marks an activity done. Called with a.mu held.
func (a *AutoScaling) finish(id string, status types.ScalingActivityStatusCode, msg string) {
	for i := range a.activities {
		if aws.ToString(a.activities[i].ActivityId) == id {
			a.activities[i].StatusCode = status
			a.activities[i].EndTime = aws.Time(time.Now().UTC().Truncate(time.Millisecond))
			a.activities[i].Progress = aws.Int32(100)
			if msg != "" {
				a.activities[i].StatusMessage = aws.String(msg)
			}
		}
	}
}

func firstAZ(g *group) string {
	if len(g.G.AvailabilityZones) > 0 {
		return g.G.AvailabilityZones[0]
	}
	return ""
}

// stamp is how Auto Scaling's causes write times.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func sortedNames(m map[string]*group) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
