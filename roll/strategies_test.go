package roll_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/bakehq/bake/roll"
)

// rollTest deploys blue on a new service and rolls it to green under
// load with rollUnderLoad's checks.
func rollTest(t *testing.T, name, strategy string, o serviceOpts) {
	s := newService(t, name, o)
	deploy(t, s, "blue")
	sum, st := rollUnderLoad(t, s, strategy)
	benchRecord(t, strategy, st, sum, nil)
}

// rollUnderLoad rolls the deployed s from blue to green under load and
// checks the outcome every strategy must have: zero failed requests, all
// traffic ending on green, one group left.
func rollUnderLoad(t *testing.T, s *service, strategy string) (*roll.Summary, stats) {
	t.Helper()
	l := startLoad(t, s)
	waitFor(t, "traffic on blue", 30*time.Second, func() bool { return l.Stats().allOn("blue") })
	sum, err := rollTo(t, s, strategy, "green")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	l.Stop()
	st := l.Stats()
	t.Logf("load: %s", st)
	if st.Failed != 0 {
		t.Errorf("%d requests failed during the roll: %s", st.Failed, st)
	}
	if !st.allOn("green") || st.Versions["blue"] == 0 {
		t.Errorf("traffic did not move from blue to green: %s", st)
	}
	if g := groupsOf(t, s.name, true); len(g) != 1 || g[0] != sum.Group {
		t.Errorf("groups left %v, want only %s", g, sum.Group)
	}
	return sum, st
}

// TestRoute53 shifts a service's weighted records 50/100 while clients
// that honour the TTL resolve it through the sim's DNS.
func TestRoute53(t *testing.T) {
	t.Parallel()
	needCloud(t)
	rollTest(t, "dns", roll.Route53, serviceOpts{via: viaDNS, extra: `
  canary {
    steps = [50, 100]
    pause = "1s"
  }`})
}

// TestCanary moves a listener's weights 25/50/100 with an analysis of
// green against blue between steps.
func TestCanary(t *testing.T) {
	t.Parallel()
	needCloud(t)
	rollTest(t, "canary", roll.Canary, serviceOpts{via: viaListener, extra: `
  canary {
    steps             = [25, 50, 100]
    pause             = "1s"
    analysis_requests = 20
  }`})
}

// TestRolling replaces a two-instance group's instances one at a time
// with no failed request.
func TestRolling(t *testing.T) {
	t.Parallel()
	needCloud(t)
	s := newService(t, "rolling", serviceOpts{via: viaListener, desired: 2})
	deploy(t, s, "blue")
	sum, st := rollingUnderLoad(t, s, "blue", "green")
	benchRecord(t, roll.Rolling, st, sum, nil)
}

// rollingUnderLoad replaces the instances of s, which serves from, with
// to's in a rolling roll under load: no request may fail, and all traffic
// ends on to.
func rollingUnderLoad(t *testing.T, s *service, from, to string) (*roll.Summary, stats) {
	t.Helper()
	l := startLoad(t, s)
	waitFor(t, "traffic on "+from, 30*time.Second, func() bool { return l.Stats().allOn(from) })
	sum, err := rollTo(t, s, roll.Rolling, to)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // the last old instance drains
	l.Stop()
	st := l.Stats()
	t.Logf("load: %s", st)
	if st.Failed != 0 {
		t.Errorf("%d requests failed during the rolling replacement: %s", st.Failed, st)
	}
	if !st.allOn(to) {
		t.Errorf("traffic did not end on %s: %s", to, st)
	}
	return sum, st
}

// TestGreenNeverHealthy: a green whose app never passes its health check
// is deleted, traffic never leaves blue, and no request fails.
func TestGreenNeverHealthy(t *testing.T) {
	t.Parallel()
	needCloud(t)
	s := newService(t, "neverhealthy", serviceOpts{via: viaListener, wait: "15s"})
	deploy(t, s, "blue")
	blueGroups := groupsOf(t, "neverhealthy", false)
	l := startLoad(t, s)
	waitFor(t, "traffic on blue", 30*time.Second, func() bool { return l.Stats().allOn("blue") })
	sum, err := rollTo(t, s, roll.BlueGreen, "bad")
	var rb interface{ RolledBack() bool }
	if !errors.As(err, &rb) || !strings.Contains(err.Error(), "never became healthy") || !strings.Contains(err.Error(), "traffic was not moved") {
		t.Fatalf("roll to a never-healthy image: %v", err)
	}
	if sum == nil || sum.Outcome != roll.PhaseAborted {
		t.Errorf("summary %+v", sum)
	}
	l.Stop()
	st := l.Stats()
	t.Logf("load: %s", st)
	if st.Failed != 0 || st.Versions["bad"] != 0 || !st.allOn("blue") {
		t.Errorf("traffic moved or failed: %s", st)
	}
	waitFor(t, "green deleted", 30*time.Second, func() bool {
		g := groupsOf(t, "neverhealthy", true)
		return len(g) == 1 && g[0] == blueGroups[0]
	})
}

// TestRollbackAfterSwitch: green breaks after the switch; the
// post-promotion watch sends traffic back to blue within a health check
// interval, and the failed requests are few and counted.
func TestRollbackAfterSwitch(t *testing.T) {
	t.Parallel()
	needCloud(t)
	s := newService(t, "rollback", serviceOpts{via: viaListener, bgWindow: "60s", bgDelay: "60s"})
	deploy(t, s, "blue")
	b := rollThenBreak(t, s, 60*time.Second)
	// Bounded by the health check window: one interval (500ms) and the
	// rollback call, at 100 req/s, with slack for a loaded machine.
	if b.failed > 300 {
		t.Errorf("%d requests failed after green broke, want at most 300 (3s at 100 req/s)", b.failed)
	}
	benchRecord(t, "rollback", b.st, b.sum, map[string]any{"failed_after_break": b.failed, "break_to_blue_ms": b.took.Milliseconds()})
	if b.sum.Rollback > time.Second {
		t.Errorf("rollback call took %s, want under 1s", b.sum.Rollback)
	}
	waitFor(t, "green deleted", 30*time.Second, func() bool { return len(groupsOf(t, "rollback", true)) == 1 })
}

// broken is how a roll ended after green broke under load.
type broken struct {
	sum    *roll.Summary
	st     stats
	failed int           // requests that failed after the break
	took   time.Duration // from the break to the roll's end
}

// rollThenBreak rolls the deployed s from blue to green under load,
// breaks green's instances once all traffic is on them, and waits at most
// within for the roll to roll back; traffic must then be back on blue.
func rollThenBreak(t *testing.T, s *service, within time.Duration) broken {
	t.Helper()
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
	for _, ip := range instanceIPs(t, s.name, "green") {
		resp, err := http.Post("http://"+ip+"/_break", "text/plain", nil)
		must(t, err)
		resp.Body.Close()
	}
	var res result
	select {
	case res = <-done:
	case <-time.After(within):
		t.Fatalf("the roll did not roll back within %s of green breaking", within)
	}
	took := time.Since(broke)
	var rb interface{ RolledBack() bool }
	if !errors.As(res.err, &rb) || !strings.Contains(res.err.Error(), "rolled back") {
		t.Fatalf("roll after green broke: %v", res.err)
	}
	waitFor(t, "traffic back on blue", 10*time.Second, func() bool { return l.Stats().allOn("blue") })
	l.Stop()
	b := broken{sum: res.sum, st: l.Stats(), took: took}
	b.failed = b.st.Failed - before
	t.Logf("load: %s; %d requests failed between green breaking and the rollback (%s later, rollback call %s)",
		b.st, b.failed, took.Round(time.Millisecond), res.sum.Rollback)
	return b
}

// instanceIPs are the public (loopback) addresses of the in-service
// instances of the service's group running version.
func instanceIPs(t *testing.T, name, version string) []string {
	t.Helper()
	ctx := context.Background()
	out, err := cloud.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
	must(t, err)
	var ids []string
	for _, g := range out.AutoScalingGroups {
		if !strings.HasPrefix(aws.ToString(g.AutoScalingGroupName), name+"-") {
			continue
		}
		for _, tg := range g.Tags {
			if aws.ToString(tg.Key) == roll.TagImage && aws.ToString(tg.Value) == cloud.amis[version] {
				for _, in := range g.Instances {
					ids = append(ids, aws.ToString(in.InstanceId))
				}
			}
		}
	}
	if len(ids) == 0 {
		t.Fatalf("no instance of %s runs %s", name, version)
	}
	io, err := cloud.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids})
	must(t, err)
	var ips []string
	for _, r := range io.Reservations {
		for _, in := range r.Instances {
			ips = append(ips, aws.ToString(in.PublicIpAddress))
		}
	}
	return ips
}

// TestCanaryAnalysisFails: a release that answers 400ms late passes its
// health checks, so the watch lets it through, but the analysis between
// canary steps sees green's p90 above 200ms and above max_latency_ratio
// times blue's: roll exits 3 with traffic back on blue and no request
// failed.
func TestCanaryAnalysisFails(t *testing.T) {
	t.Parallel()
	needBin(t)
	s := newService(t, "slowcanary", serviceOpts{via: viaListener, extra: `
  canary {
    steps             = [25, 50, 100]
    pause             = "1s"
    analysis_requests = 20
    max_latency_ratio = 3
  }`})
	deploy(t, s, "blue")
	blue := groupsOf(t, "slowcanary", false)
	l := startLoad(t, s)
	waitFor(t, "traffic on blue", 30*time.Second, func() bool { return l.Stats().allOn("blue") })
	r := run(t, rollArgs(s, roll.Canary, "slow")...)
	t.Logf("roll to slow: %s", r)
	if r.code != 3 {
		t.Errorf("exit %d, want 3 (rolled back)", r.code)
	}
	out := r.stdout + r.stderr
	for _, want := range []string{roll.PhaseRolledBack, "canary analysis failed", "p90 latency is more than 3.0 times blue's"} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not say %q", want)
		}
	}
	// The analysis, not the health watch, failed green.
	for _, not := range []string{"failed a health check", "health checks in a row", "not healthy at the switch"} {
		if strings.Contains(out, not) {
			t.Errorf("output says %q: the health checks failed green, not the analysis", not)
		}
	}
	waitFor(t, "traffic back on blue", 10*time.Second, func() bool { return l.Stats().allOn("blue") })
	l.Stop()
	st := l.Stats()
	t.Logf("load: %s", st)
	if st.Failed != 0 {
		t.Errorf("%d requests failed: %s", st.Failed, st)
	}
	if st.Versions["slow"] == 0 {
		t.Errorf("green never took traffic before the analysis: %s", st)
	}
	waitFor(t, "green deleted", 30*time.Second, func() bool {
		g := groupsOf(t, "slowcanary", true)
		return len(g) == 1 && g[0] == blue[0]
	})
}
