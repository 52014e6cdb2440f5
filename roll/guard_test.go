package roll

// Unit tests of the switch guard, the watch and undo, with in-memory
// fakes of the router, the health source and the AWS calls roll makes
// around them: no cloud.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
)

// fakeRouter records every Set; Set fails while failSet is set, and
// onSet runs after each successful one.
type fakeRouter struct {
	mu      sync.Mutex
	w       map[string]int
	sets    []map[string]int
	failSet error
	onSet   func(map[string]int)
}

func (f *fakeRouter) Weights(context.Context) (map[string]int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.w), nil
}

func (f *fakeRouter) Set(_ context.Context, w map[string]int) error {
	f.mu.Lock()
	if f.failSet != nil {
		defer f.mu.Unlock()
		return f.failSet
	}
	f.sets = append(f.sets, maps.Clone(w))
	f.w = maps.Clone(w)
	hook := f.onSet
	f.mu.Unlock()
	if hook != nil {
		hook(w)
	}
	return nil
}

func (f *fakeRouter) Check(context.Context) error { return nil }
func (f *fakeRouter) Allow(string) error          { return nil }
func (f *fakeRouter) CreateIn(tg string) []string { return []string{tg} }
func (f *fakeRouter) Linger() time.Duration       { return 0 }
func (f *fakeRouter) String() string              { return "fake router" }

func (f *fakeRouter) Sets() []map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]int(nil), f.sets...)
}

// fakeHealth answers each group's health from a function of how many
// times that group was looked at (0 first).
type fakeHealth struct {
	mu    sync.Mutex
	calls map[string]int
	of    func(group string, call int) health
}

func (f *fakeHealth) Health(_ context.Context, side *Side, _ string) (health, error) {
	f.mu.Lock()
	n := f.calls[side.Group]
	f.calls[side.Group]++
	f.mu.Unlock()
	return f.of(side.Group, n), nil
}

func healthy() health   { return health{Want: 2, Healthy: 2} }
func unhealthy() health { return health{Want: 2, Healthy: 1, Why: []string{"i-2 unhealthy"}} }

// fakeParameters is SSM's parameters in memory.
type fakeParameters struct {
	mu sync.Mutex
	p  map[string]string
}

func (f *fakeParameters) PutParameter(_ context.Context, in *ssm.PutParameterInput, _ ...func(*ssm.Options)) (*ssm.PutParameterOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := aws.ToString(in.Name)
	if _, ok := f.p[name]; ok && !aws.ToBool(in.Overwrite) {
		return nil, &smithy.GenericAPIError{Code: "ParameterAlreadyExists", Message: name}
	}
	f.p[name] = aws.ToString(in.Value)
	return &ssm.PutParameterOutput{}, nil
}

func (f *fakeParameters) GetParameter(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.p[aws.ToString(in.Name)]
	if !ok {
		return nil, &smithy.GenericAPIError{Code: "ParameterNotFound", Message: aws.ToString(in.Name)}
	}
	return &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{Name: in.Name, Value: aws.String(v)}}, nil
}

func (f *fakeParameters) DeleteParameter(_ context.Context, in *ssm.DeleteParameterInput, _ ...func(*ssm.Options)) (*ssm.DeleteParameterOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.p[aws.ToString(in.Name)]; !ok {
		return nil, &smithy.GenericAPIError{Code: "ParameterNotFound", Message: aws.ToString(in.Name)}
	}
	delete(f.p, aws.ToString(in.Name))
	return &ssm.DeleteParameterOutput{}, nil
}

// noGroups is an Auto Scaling with no groups: deleting green or blue
// finds nothing left to delete.
type noGroups struct{}

func (n *noGroups) CreateAutoScalingGroup(context.Context, *autoscaling.CreateAutoScalingGroupInput, ...func(*autoscaling.Options)) (*autoscaling.CreateAutoScalingGroupOutput, error) {
	return nil, errors.New("not in this fake")
}

func (n *noGroups) DescribeAutoScalingGroups(context.Context, *autoscaling.DescribeAutoScalingGroupsInput, ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	return &autoscaling.DescribeAutoScalingGroupsOutput{}, nil
}

func (n *noGroups) UpdateAutoScalingGroup(context.Context, *autoscaling.UpdateAutoScalingGroupInput, ...func(*autoscaling.Options)) (*autoscaling.UpdateAutoScalingGroupOutput, error) {
	return nil, errors.New("not in this fake")
}

func (n *noGroups) DeleteAutoScalingGroup(context.Context, *autoscaling.DeleteAutoScalingGroupInput, ...func(*autoscaling.Options)) (*autoscaling.DeleteAutoScalingGroupOutput, error) {
	return nil, errors.New("not in this fake")
}

func (n *noGroups) CreateOrUpdateTags(context.Context, *autoscaling.CreateOrUpdateTagsInput, ...func(*autoscaling.Options)) (*autoscaling.CreateOrUpdateTagsOutput, error) {
	return nil, errors.New("not in this fake")
}

func (n *noGroups) TerminateInstanceInAutoScalingGroup(context.Context, *autoscaling.TerminateInstanceInAutoScalingGroupInput, ...func(*autoscaling.Options)) (*autoscaling.TerminateInstanceInAutoScalingGroupOutput, error) {
	return nil, errors.New("not in this fake")
}

func (n *noGroups) AttachLoadBalancerTargetGroups(context.Context, *autoscaling.AttachLoadBalancerTargetGroupsInput, ...func(*autoscaling.Options)) (*autoscaling.AttachLoadBalancerTargetGroupsOutput, error) {
	return nil, errors.New("not in this fake")
}

func (n *noGroups) DetachLoadBalancerTargetGroups(context.Context, *autoscaling.DetachLoadBalancerTargetGroupsInput, ...func(*autoscaling.Options)) (*autoscaling.DetachLoadBalancerTargetGroupsOutput, error) {
	return nil, errors.New("not in this fake")
}

// guarded is a Roller over the fakes, with blue serving in slot a and
// green, healthy or not as of says, waiting in slot b.
type guarded struct {
	r      *Roller
	rt     *fakeRouter
	hs     *fakeHealth
	params *fakeParameters
	st     *State
}

func newGuarded(t *testing.T, strategy, canary string, of func(group string, call int) health) *guarded {
	t.Helper()
	src := fmt.Sprintf(`service "svc" {
  launch_template = "svc"
  traffic {
    listener      = "l"
    target_groups = ["tg-a", "tg-b"]
  }
  health {
    path     = "/health"
    interval = "10ms"
  }
  bluegreen {
    scale_down_delay      = "0s"
    post_promotion_window = "0s"
  }
  canary {
%s
  }
}
`, canary)
	svc, err := Parse("svc.roll.hcl", []byte(src), "")
	if err != nil {
		t.Fatal(err)
	}
	params := &fakeParameters{p: map[string]string{}}
	r := New(svc, Clients{Groups: &noGroups{}, Parameters: params}, nil)
	g := &guarded{r: r, params: params,
		rt: &fakeRouter{w: map[string]int{"a": 100, "b": 0}},
		hs: &fakeHealth{calls: map[string]int{}, of: of},
		st: &State{ID: "r1", Service: "svc", Strategy: strategy, Phase: PhaseShifting, Started: time.Now().UTC(), Healthy: time.Now().UTC(),
			Stable: &Side{Group: "svc-a-r0", Slot: "a", Image: "ami-blue", CreatedBy: "roll"},
			Canary: &Side{Group: "svc-b-r1", Slot: "b", Image: "ami-green", CreatedBy: "roll", Template: "2"}},
	}
	r.rt, r.health = g.rt, g.hs
	if err := r.st.SaveState(context.Background(), g.st); err != nil {
		t.Fatal(err)
	}
	return g
}

// greenAlways is a health source where blue is healthy and green is
// always h.
func greenAlways(h health) func(string, int) health {
	return func(group string, _ int) health {
		if group == "svc-b-r1" {
			return h
		}
		return healthy()
	}
}

func (g *guarded) saved(t *testing.T) *State {
	t.Helper()
	st, err := g.r.st.State(context.Background())
	if err != nil || st == nil {
		t.Fatalf("read saved state: %v %v", st, err)
	}
	return st
}

func toGreen(sets []map[string]int) []map[string]int {
	var out []map[string]int
	for _, s := range sets {
		if s["b"] > 0 {
			out = append(out, s)
		}
	}
	return out
}

// TestGuardRefusesUnhealthyGreen: a green that is not fully healthy at the
// moment of the switch gets no traffic, and the roll rolls back to blue.
func TestGuardRefusesUnhealthyGreen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := newGuarded(t, BlueGreen, "", greenAlways(unhealthy()))
	sum := &Summary{}
	err := g.r.shift(ctx, g.st, sum)
	var rb *errRollback
	if !errors.As(err, &rb) || !strings.Contains(err.Error(), "not healthy at the switch to 100%") || !strings.Contains(err.Error(), "i-2 unhealthy") {
		t.Fatalf("shift to an unhealthy green: %v", err)
	}
	if s := g.rt.Sets(); len(s) != 0 {
		t.Fatalf("the guard let traffic move: Set calls %v", s)
	}
	err = g.r.failed(ctx, g.st, sum, err)
	if !errors.As(err, &rb) || !strings.Contains(err.Error(), "rolled back to ami-blue") {
		t.Fatalf("after the refused switch: %v", err)
	}
	if s := g.rt.Sets(); len(toGreen(s)) != 0 || len(s) != 1 || s[0]["a"] != 100 {
		t.Errorf("Set calls %v, want only a=100 b=0", s)
	}
	if st := g.saved(t); st.Phase != PhaseRolledBack || !strings.Contains(st.Reason, "not healthy at the switch") {
		t.Errorf("saved state %s: %q", st.Phase, st.Reason)
	}
}

// TestGuardChecksEveryStep: green healthy at the first canary step but
// not at the second gets the first step's weight and no more.
func TestGuardChecksEveryStep(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var broke sync.Once
	var broken bool
	var mu sync.Mutex
	g := newGuarded(t, Canary, `    steps = [25, 50, 100]
    pause = "0s"`, func(group string, _ int) health {
		mu.Lock()
		defer mu.Unlock()
		if group == "svc-b-r1" && broken {
			return unhealthy()
		}
		return healthy()
	})
	g.rt.onSet = func(map[string]int) {
		broke.Do(func() { mu.Lock(); broken = true; mu.Unlock() })
	}
	err := g.r.shift(ctx, g.st, &Summary{})
	var rb *errRollback
	if !errors.As(err, &rb) || !strings.Contains(err.Error(), "switch to 50%") {
		t.Fatalf("shift past a green that broke at 25%%: %v", err)
	}
	if s := toGreen(g.rt.Sets()); len(s) != 1 || s[0]["b"] != 25 || s[0]["a"] != 75 {
		t.Errorf("Set calls toward green %v, want only b=25 a=75", s)
	}
}

// TestOneSetPerStep: a healthy green is switched with exactly one Set per
// step.
func TestOneSetPerStep(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		strategy, canary string
		want             []int
	}{
		{BlueGreen, "", []int{100}},
		{Canary, "    steps = [25, 50, 100]\n    pause = \"0s\"", []int{25, 50, 100}},
	} {
		t.Run(tt.strategy, func(t *testing.T) {
			t.Parallel()
			g := newGuarded(t, tt.strategy, tt.canary, greenAlways(healthy()))
			if err := g.r.shift(context.Background(), g.st, &Summary{}); err != nil {
				t.Fatal(err)
			}
			s := g.rt.Sets()
			if len(s) != len(tt.want) {
				t.Fatalf("Set calls %v, want one per step %v", s, tt.want)
			}
			for i, w := range tt.want {
				if s[i]["b"] != w || s[i]["a"] != 100-w {
					t.Errorf("Set %d = %v, want b=%d a=%d", i, s[i], w, 100-w)
				}
			}
			if st := g.saved(t); st.Phase != PhasePromoted || st.Weight != 100 {
				t.Errorf("saved state %s at %d%%", st.Phase, st.Weight)
			}
		})
	}
}

// TestWatchRollsBack: the watch forgives one failed check, and two in a
// row send traffic back to blue in one Set.
func TestWatchRollsBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// green: ok, fail, ok, fail, fail, ...
	g := newGuarded(t, BlueGreen, "", func(group string, call int) health {
		if group == "svc-b-r1" && (call == 1 || call >= 3) {
			return unhealthy()
		}
		return healthy()
	})
	g.rt.w = map[string]int{"a": 0, "b": 100}
	g.st.Phase, g.st.Weight, g.st.Promoted = PhasePromoted, 100, time.Now().UTC()
	err := g.r.watch(ctx, g.st, time.Minute, false)
	var rb *errRollback
	if !errors.As(err, &rb) || !strings.Contains(err.Error(), "failed 2 health checks in a row") {
		t.Fatalf("watch of a failing green: %v", err)
	}
	g.hs.mu.Lock()
	n := g.hs.calls["svc-b-r1"]
	g.hs.mu.Unlock()
	if n != 5 {
		t.Errorf("green looked at %d times, want 5 (the lone failure forgiven)", n)
	}
	sum := &Summary{}
	if err := g.r.failed(ctx, g.st, sum, err); !errors.As(err, &rb) {
		t.Fatalf("after the failed watch: %v", err)
	}
	if s := g.rt.Sets(); len(s) != 1 || s[0]["a"] != 100 || s[0]["b"] != 0 {
		t.Errorf("Set calls %v, want one: a=100 b=0", s)
	}
	if st := g.saved(t); st.Phase != PhaseRolledBack || !st.Terminal() {
		t.Errorf("saved state %s, want %s", st.Phase, PhaseRolledBack)
	}
}

// TestFailedSetResumes: a Set that fails (an API error, not a failed
// check) leaves the roll where it was, and running it again finishes it.
func TestFailedSetResumes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := newGuarded(t, BlueGreen, "", greenAlways(healthy()))
	g.rt.failSet = errors.New("forward listener l: throttled")
	sum := &Summary{}
	err := g.r.run(ctx, g.st, sum)
	var rb *errRollback
	if err == nil || errors.As(err, &rb) || !strings.Contains(err.Error(), "throttled") {
		t.Fatalf("run with a failing Set: %v", err)
	}
	st := g.saved(t)
	if st.Phase != PhaseShifting || st.Terminal() || st.Weight != 0 {
		t.Fatalf("saved state after a failed Set: %s at %d%%, want %s at 0%%", st.Phase, st.Weight, PhaseShifting)
	}
	if w, _ := g.rt.Weights(ctx); w["a"] != 100 {
		t.Fatalf("weights after a failed Set %v", w)
	}
	g.rt.mu.Lock()
	g.rt.failSet = nil
	g.rt.mu.Unlock()
	if err := g.r.run(ctx, st, sum); err != nil {
		t.Fatalf("resumed run: %v", err)
	}
	if s := g.rt.Sets(); len(s) != 1 || s[0]["b"] != 100 {
		t.Errorf("Set calls %v, want one: b=100", s)
	}
	if st := g.saved(t); st.Phase != PhaseDone {
		t.Errorf("saved state %s, want %s", st.Phase, PhaseDone)
	}
}
