package roll_test

import (
	"context"
	"errors"
	"net/http"
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
	l := startLoad(t, s)
	waitFor(t, "traffic on blue", 30*time.Second, func() bool { return l.Stats().allOn("blue") })
	sum, err := rollTo(t, s, roll.BlueGreen, "green")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	l.Stop()
	st := l.Stats()
	t.Logf("load: %s", st)
	if st.Failed != 0 {
		t.Errorf("%d requests failed during the roll: %s", st.Failed, st)
	}
	if !st.allOn("green") || st.Versions["blue"] == 0 {
		t.Errorf("traffic did not move from blue to green: %s", st)
	}
	if g := groupsOf(t, "onetg", true); len(g) != 1 || g[0] != sum.Group {
		t.Errorf("groups left %v, want only %s", g, sum.Group)
	}
	if tgs := attachedTo(t, sum.Group); !slices.Equal(tgs, s.tgs) {
		t.Errorf("green %s is attached to %v, want %v", sum.Group, tgs, s.tgs)
	}
	benchRecord(t, "bluegreen-single-tg", st, sum, nil)

	// rolling needs no weights: green's group, attached, has its
	// instances replaced in place.
	l = startLoad(t, s)
	waitFor(t, "traffic on green", 30*time.Second, func() bool { return l.Stats().allOn("green") })
	if _, err := rollTo(t, s, roll.Rolling, "blue"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // the last old instance drains
	l.Stop()
	st = l.Stats()
	t.Logf("load during the rolling roll: %s", st)
	if st.Failed != 0 || !st.allOn("blue") {
		t.Errorf("rolling behind a single target group: %s", st)
	}
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
	l := startLoad(t, s)
	waitFor(t, "traffic on blue", 30*time.Second, func() bool { return l.Stats().allOn("blue") })
	type result struct {
		sum *roll.Summary
		err error
	}
	done := make(chan result, 1)
	go func() {
		sum, err := rollTo(t, s, roll.BlueGreen, "green")
		done <- result{sum, err}
	}()
	waitFor(t, "traffic on green", 90*time.Second, func() bool { return l.Stats().allOn("green") })
	before := l.Stats().Failed
	broke := time.Now()
	for _, ip := range instanceIPs(t, "onetgback", "green") {
		resp, err := http.Post("http://"+ip+"/_break", "text/plain", nil)
		must(t, err)
		resp.Body.Close()
	}
	var res result
	select {
	case res = <-done:
	case <-time.After(90 * time.Second):
		t.Fatal("the roll did not roll back within 90s of green breaking")
	}
	took := time.Since(broke)
	var rb interface{ RolledBack() bool }
	if !errors.As(res.err, &rb) || !strings.Contains(res.err.Error(), "rolled back") {
		t.Fatalf("roll after green broke: %v", res.err)
	}
	waitFor(t, "traffic back on blue", 10*time.Second, func() bool { return l.Stats().allOn("blue") })
	l.Stop()
	st := l.Stats()
	failed := st.Failed - before
	t.Logf("load: %s; %d requests failed between green breaking and the rollback (%s later)", st, failed, took.Round(time.Millisecond))
	// Bounded by two failed checks (500ms apart), and blue's return to
	// the target group: its first load balancer health checks, 5s apart.
	if failed > 2000 {
		t.Errorf("%d requests failed after green broke, want at most 2000 (20s at 100 req/s)", failed)
	}
	if tgs := attachedTo(t, blue[0]); !slices.Equal(tgs, s.tgs) {
		t.Errorf("blue %s is attached to %v after the rollback, want %v", blue[0], tgs, s.tgs)
	}
	benchRecord(t, "rollback-single-tg", st, res.sum, map[string]any{"failed_after_break": failed, "break_to_blue_ms": took.Milliseconds()})
	waitFor(t, "green deleted", 30*time.Second, func() bool { return len(groupsOf(t, "onetgback", true)) == 1 })
}
