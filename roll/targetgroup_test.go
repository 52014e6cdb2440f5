package roll_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/roll"
)

// attachedTo lists the target groups group is attached to.
func attachedTo(t *testing.T, group string) []string {
	t.Helper()
	out, err := cloud.asg.DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
	must(t, err)
	if len(out.AutoScalingGroups) != 1 {
		t.Fatalf("group %s: %d groups described", group, len(out.AutoScalingGroups))
	}
	return out.AutoScalingGroups[0].TargetGroupARNs
}

// TestBlueGreenSingleTargetGroup rolls a two-instance service behind one
// target group from blue to green under 100 req/s: green is attached,
// healthy, and only then blue detached (its targets drain), so no request
// fails; traffic ends on green and blue is deleted. canary, which needs
// weights, is refused before anything changes; rolling, which does not,
// then replaces green's instances with blue ones.
func TestBlueGreenSingleTargetGroup(t *testing.T) {
	t.Parallel()
	needCloud(t)
	s := newService(t, "onetg", serviceOpts{via: viaTargetGroup, desired: 2})
	deploy(t, s, "blue")
	blue := groupsOf(t, "onetg", true)
	if len(blue) != 1 || !slices.Equal(attachedTo(t, blue[0]), s.tgs) {
		t.Fatalf("after the first deploy: groups %v", blue)
	}
	_, err := rollTo(t, s, roll.Canary, "green")
	if !bake.IsBadInput(err) || !strings.Contains(err.Error(), "single target group") || !strings.Contains(err.Error(), "use bluegreen or rolling") {
		t.Errorf("canary with a single target group: %v, want a bad-input error", err)
	}
	if g := groupsOf(t, "onetg", true); !slices.Equal(g, blue) {
		t.Errorf("the refused canary changed the groups: %v, was %v", g, blue)
	}
	sum, st := rollUnderLoad(t, s, roll.BlueGreen)
	if tgs := attachedTo(t, sum.Group); !slices.Equal(tgs, s.tgs) {
		t.Errorf("green %s is attached to %v, want %v", sum.Group, tgs, s.tgs)
	}
	benchRecord(t, "bluegreen-single-tg", st, sum, nil)

	// rolling needs no weights: green's group, attached, has its
	// instances replaced in place.
	rollingUnderLoad(t, s, "green", "blue")
}

// TestRollbackSingleTargetGroup: green breaks after the switch; the watch
// attaches blue again, waits until it is healthy in the target group, and
// detaches green: traffic is back on blue.
func TestRollbackSingleTargetGroup(t *testing.T) {
	t.Parallel()
	needCloud(t)
	s := newService(t, "onetgback", serviceOpts{via: viaTargetGroup, bgWindow: "60s", bgDelay: "60s"})
	deploy(t, s, "blue")
	blue := groupsOf(t, "onetgback", false)
	b := rollThenBreak(t, s, 90*time.Second)
	// Bounded by two failed checks (500ms apart), and blue's return to
	// the target group: its first load balancer health checks, 5s apart.
	if b.failed > 2000 {
		t.Errorf("%d requests failed after green broke, want at most 2000 (20s at 100 req/s)", b.failed)
	}
	if tgs := attachedTo(t, blue[0]); !slices.Equal(tgs, s.tgs) {
		t.Errorf("blue %s is attached to %v after the rollback, want %v", blue[0], tgs, s.tgs)
	}
	benchRecord(t, "rollback-single-tg", b.st, b.sum, map[string]any{"failed_after_break": b.failed, "break_to_blue_ms": b.took.Milliseconds()})
	waitFor(t, "green deleted", 30*time.Second, func() bool { return len(groupsOf(t, "onetgback", true)) == 1 })
}
