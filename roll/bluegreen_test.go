package roll_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/roll"
)

// events records what a roll reported.
type events struct {
	mu  sync.Mutex
	evs []bake.Event
}

func (e *events) Report(ev bake.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.evs = append(e.evs, ev)
}

func (e *events) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b strings.Builder
	for _, ev := range e.evs {
		fmt.Fprintf(&b, "%s %s %s %s %s\n", ev.Time.Format("15:04:05.000"), ev.Type, ev.Step, ev.Message, ev.Error)
	}
	return b.String()
}

// rollTo rolls s to version in this process.
func rollTo(t *testing.T, s *service, strategy, version string) (*roll.Summary, error) {
	t.Helper()
	svc, err := roll.Load(s.file, "")
	must(t, err)
	ev := &events{}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	sum, err := roll.New(svc, cloud.c, ev).Roll(ctx, roll.Options{Strategy: strategy, Image: cloud.amis[version]})
	t.Logf("roll %s to %s (%s): %v\n%s", s.name, version, strategy, err, ev)
	if sum != nil {
		t.Logf("summary: %s", sum)
	}
	return sum, err
}

// deploy puts version on s as its first group and checks it serves.
func deploy(t *testing.T, s *service, version string) {
	t.Helper()
	if _, err := rollTo(t, s, roll.BlueGreen, version); err != nil {
		t.Fatalf("first deploy of %s: %v", version, err)
	}
}

// groupsOf lists the names of s's groups (those not being deleted, or all).
func groupsOf(t *testing.T, name string, includeDeleting bool) []string {
	t.Helper()
	out, err := cloud.asg.DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{})
	must(t, err)
	var names []string
	for _, g := range out.AutoScalingGroups {
		if strings.HasPrefix(aws.ToString(g.AutoScalingGroupName), name+"-") && (includeDeleting || g.Status == nil) {
			names = append(names, aws.ToString(g.AutoScalingGroupName))
		}
	}
	return names
}

// TestBlueGreen rolls a two-instance service from blue to green behind an
// ALB listener under 100 req/s: no request fails, traffic ends on green,
// blue is deleted, and the cutover is under a second.
func TestBlueGreen(t *testing.T) {
	t.Parallel()
	needCloud(t)
	s := newService(t, "bluegreen", serviceOpts{via: viaListener, desired: 2})
	deploy(t, s, "blue")
	sum, st := rollUnderLoad(t, s, roll.BlueGreen)
	if sum.Cutover <= 0 || sum.Cutover > time.Second {
		t.Errorf("cutover %s, want (0, 1s]", sum.Cutover)
	}
	benchRecord(t, roll.BlueGreen, st, sum, nil)
}
