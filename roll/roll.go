package roll

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/bakehq/bake/bake"
)

// Strategies.
const (
	BlueGreen = "bluegreen"
	Canary    = "canary"
	Route53   = "route53"
	Rolling   = "rolling"
)

// Options say what a roll moves the service to, and how.
type Options struct {
	Strategy string
	Image    string // an AMI id
	Version  string // or the image bake tagged with this version (org.opencontainers.image.version)
	Channel  string // or the AMI in parameter /bake/IMAGE/C (or /bake/NAME/C for NAME/C)
}

// Summary is what a roll did, with its timings.
type Summary struct {
	ID       string
	Service  string
	Strategy string
	From, To string // images
	Group    string // the group serving at the end
	Outcome  string // done, unchanged, rolled-back, aborted
	Reason   string
	// GreenHealthy is how long green took to pass its health gate;
	// Cutover is green healthy → 100% of traffic on green, less the
	// configured waits (pauses, post-promotion window); Rollback is a
	// failed check → traffic back on blue.
	GreenHealthy, Cutover, Rollback, Total time.Duration
}

// Roller rolls one service.
type Roller struct {
	svc        *Service
	c          Clients
	log        bake.Log
	st         store
	rt         router
	health     healthSource
	http       *http.Client
	deleteWait time.Duration
}

// healthSource is one look at a group's health: what the gates, the
// switch guard and the watch decide on.
type healthSource interface {
	Health(ctx context.Context, side *Side, tg string) (health, error)
}

// liveHealth is the group's health on AWS and on direct checks.
type liveHealth struct{ r *Roller }

func (l liveHealth) Health(ctx context.Context, side *Side, tg string) (health, error) {
	return l.r.checkHealth(ctx, side, tg)
}

// New is a Roller for svc, reporting to rep.
func New(svc *Service, c Clients, rep bake.Reporter) *Roller {
	log := bake.Log{R: rep, Source: svc.Name}
	r := &Roller{
		svc: svc, c: c, log: log,
		st: store{api: c.Parameters, service: svc.Name}, rt: newRouter(svc, c, log),
		http:       &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}},
		deleteWait: 2 * time.Minute,
	}
	r.health = liveHealth{r}
	return r
}

// errRollback is a failed gate: traffic went back to blue.
type errRollback struct{ reason string }

func (e *errRollback) Error() string { return e.reason }

var errAborted error = &errRollback{reason: "aborted by `roll abort`"}

// Roll moves the service onto the image o names. Everything that can be
// checked is checked before anything changes; a roll left unfinished by a
// killed process is resumed when it was to the same image, and undone
// first otherwise.
func (r *Roller) Roll(ctx context.Context, o Options) (_ *Summary, err error) {
	start := time.Now()
	switch o.Strategy {
	case BlueGreen, Canary, Route53, Rolling:
	default:
		return nil, bake.BadInputf("unknown strategy %q: use bluegreen, canary, route53 or rolling", o.Strategy)
	}
	if err := r.rt.Allow(o.Strategy); err != nil {
		return nil, err
	}
	image, err := r.resolveImage(ctx, o)
	if err != nil {
		return nil, err
	}
	if _, err := r.checkTemplate(ctx); err != nil {
		return nil, err
	}
	if err := r.rt.Check(ctx); err != nil {
		return nil, err
	}
	id := uuid.NewString()[:8]
	lk, err := acquire(ctx, r.st, id, r.svc.LockTTL)
	if err != nil {
		return nil, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if rerr := lk.release(cctx); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}()
	if o.Strategy == Rolling {
		return r.rolling(ctx, id, image, start)
	}
	st, err := r.converge(ctx, image, o.Strategy)
	if err != nil {
		return nil, err
	}
	sum := &Summary{Service: r.svc.Name, Strategy: o.Strategy, To: image}
	if st == nil { // nothing to do
		sum.Outcome, sum.Total = "unchanged", time.Since(start)
		return sum, nil
	}
	if st.ID == "" {
		st.ID = id
	}
	sum.ID = st.ID
	if st.Stable != nil {
		sum.From = st.Stable.Image
	}
	err = r.run(ctx, st, sum)
	sum.Total = time.Since(start)
	if st.Canary != nil {
		sum.Group = st.Canary.Group
	}
	var rb *errRollback
	switch {
	case err == nil:
		sum.Outcome = PhaseDone
	case errors.As(err, &rb) || errors.Is(err, errAborted):
		sum.Outcome, sum.Reason = st.Phase, err.Error()
		if st.Stable != nil {
			sum.Group = st.Stable.Group
		}
	default:
		sum.Outcome, sum.Reason = "stopped in phase "+st.Phase, err.Error()+" (run roll again to resume, or roll abort)"
	}
	return sum, err
}

// converge reads the roll state from AWS and makes it consistent: it
// returns the roll to run (a resumed one, or a new one), or nil when the
// service already runs image.
func (r *Roller) converge(ctx context.Context, image, strategy string) (*State, error) {
	st, err := r.st.State(ctx)
	if err != nil {
		return nil, err
	}
	groups, err := r.groups(ctx)
	if err != nil {
		return nil, err
	}
	live := map[string]*Side{}
	for _, g := range groups {
		s := sideOf(g)
		live[s.Group] = s
	}
	if st != nil && !st.Terminal() {
		if st.Canary != nil && st.Canary.Image == image && st.Strategy == strategy {
			r.log.Info(fmt.Sprintf("resuming roll %s to %s (it stopped in phase %s)", st.ID, image, st.Phase))
			return st, r.removeOrphans(ctx, live, st.Stable, st.Canary)
		}
		r.log.Info(fmt.Sprintf("roll %s to %s did not finish (phase %s): undoing it first", st.ID, sideImage(st.Canary), st.Phase))
		if err := r.undo(ctx, st, PhaseAborted, "superseded by a roll to "+image); err != nil {
			return nil, err
		}
	}
	// The stable group: the one the last roll left serving, else the one
	// with the traffic.
	var stable *Side
	if st != nil {
		want := st.Stable
		if st.Phase == PhaseDone {
			want = st.Canary
		}
		if want != nil && live[want.Group] != nil {
			stable = live[want.Group]
		}
	}
	if stable == nil && len(live) > 0 {
		w, err := r.rt.Weights(ctx)
		if err != nil {
			return nil, err
		}
		for _, s := range live {
			if stable == nil || w[s.Slot] > w[stable.Slot] || (w[s.Slot] == w[stable.Slot] && s.Group < stable.Group) {
				stable = s
			}
		}
	}
	if err := r.removeOrphans(ctx, live, stable, nil); err != nil {
		return nil, err
	}
	if stable != nil && stable.Image == image {
		r.log.Info(fmt.Sprintf("group %s already runs %s: nothing to do", stable.Group, image))
		return nil, nil
	}
	sl := r.svc.slots()
	green := &Side{Slot: sl[0].Name, Image: image, CreatedBy: "roll"}
	if stable != nil && stable.Slot == sl[0].Name {
		green.Slot = sl[1].Name
	}
	return &State{Service: r.svc.Name, Strategy: strategy, Phase: PhaseCreating, Stable: stable, Canary: green, Started: time.Now().UTC()}, nil
}

// removeOrphans deletes groups a killed roll created and no roll uses.
func (r *Roller) removeOrphans(ctx context.Context, live map[string]*Side, keep ...*Side) error {
	for name, s := range live {
		kept := false
		for _, k := range keep {
			if k != nil && k.Group == name {
				kept = true
			}
		}
		if kept || s.CreatedBy != "roll" {
			continue
		}
		r.log.Info(fmt.Sprintf("deleting group %s: a killed roll created it and no roll uses it", name))
		if err := r.deleteGroup(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

func sideImage(s *Side) string {
	if s == nil {
		return "?"
	}
	return s.Image
}

func (r *Roller) tg(slotName string) string {
	for _, s := range r.svc.slots() {
		if s.Name == slotName {
			return s.TargetGroup
		}
	}
	return ""
}

func (r *Roller) step(name string) func(error) error {
	log := r.log.WithStep(name)
	t0 := time.Now()
	log.Event(bake.Event{Type: bake.EventStepStart})
	return func(err error) error {
		e := bake.Event{Type: bake.EventStepDone, Elapsed: time.Since(t0).Seconds()}
		if err != nil {
			e.Error = err.Error()
		}
		log.Event(e)
		return err
	}
}

// save records the roll's new phase, then says so: a phase reported is a
// phase a rerun (or roll status) will find, even if the process dies at once.
func (r *Roller) save(ctx context.Context, st *State, phase string) error {
	st.Phase = phase
	if err := r.st.SaveState(ctx, st); err != nil {
		return err
	}
	r.log.Event(bake.Event{Type: bake.EventInfo, Message: "phase " + phase, Fields: map[string]string{"phase": phase, "roll": st.ID}})
	return nil
}

// run carries a roll from its phase to the end.
func (r *Roller) run(ctx context.Context, st *State, sum *Summary) error {
	green, blue := st.Canary, st.Stable
	if st.Phase == PhaseCreating {
		done := r.step("create green")
		if green.Template == "" {
			v, err := r.newTemplateVersion(ctx, green.Image, st.ID)
			if err != nil {
				return done(err)
			}
			green.Template = v
			green.Group = fmt.Sprintf("%s-%s-%s", r.svc.Name, green.Slot, st.ID)
		}
		if err := r.save(ctx, st, PhaseCreating); err != nil { // the name is known before the group exists
			return done(err)
		}
		min, max, desired := r.svc.Min, r.svc.Max, r.svc.Desired
		if blue != nil {
			if g, err := r.group(ctx, blue.Group); err == nil && g != nil {
				min, max, desired = aws32(g.MinSize), aws32(g.MaxSize), aws32(g.DesiredCapacity)
			}
		}
		tg := r.tg(green.Slot)
		if err := r.createGroup(ctx, st, green, tg, min, max, desired); err != nil {
			return done(err)
		}
		where := "not attached to " + tg + " until the switch"
		if in := r.rt.CreateIn(tg); len(in) > 0 {
			where = "in " + strings.Join(in, ", ")
		}
		r.log.Info(fmt.Sprintf("group %s: %d instances of %s (launch template %s version %s) %s", green.Group, desired, green.Image, r.svc.LaunchTemplate, green.Template, where))
		if err := done(r.save(ctx, st, PhaseWaiting)); err != nil {
			return err
		}
	}
	if st.Phase == PhaseWaiting {
		done := r.step("wait for green")
		t0 := time.Now()
		if err := r.waitHealthy(ctx, st, green); err != nil {
			done(err)
			if ctx.Err() != nil {
				return r.failed(ctx, st, sum, err)
			}
			if errors.Is(err, errAborted) {
				return r.failed(ctx, st, sum, err)
			}
			if uerr := r.undo(ctx, st, PhaseAborted, "green never became healthy: "+err.Error()+"; traffic was not moved"); uerr != nil {
				return errors.Join(err, uerr)
			}
			return &errRollback{reason: "green never became healthy, traffic was not moved, green was deleted: " + err.Error()}
		}
		sum.GreenHealthy = time.Since(t0)
		st.Healthy = time.Now().UTC()
		if err := done(r.save(ctx, st, PhaseShifting)); err != nil {
			return err
		}
	}
	if st.Phase == PhaseShifting {
		if err := r.shift(ctx, st, sum); err != nil {
			return r.failed(ctx, st, sum, err)
		}
	}
	if st.Phase == PhasePromoted && blue == nil {
		// A first deploy has no blue to go back to: nothing to watch for.
		if err := r.save(ctx, st, PhaseScaleDown); err != nil {
			return err
		}
	}
	if st.Phase == PhasePromoted {
		done := r.step("post-promotion")
		left := r.svc.Strategy.PostPromotionWindow - time.Since(st.Promoted)
		if err := done(r.watch(ctx, st, left, false)); err != nil {
			return r.failed(ctx, st, sum, err)
		}
		if err := r.save(ctx, st, PhaseScaleDown); err != nil {
			return err
		}
	}
	if st.Phase == PhaseScaleDown {
		if blue != nil {
			delay := max(r.svc.Strategy.ScaleDownDelay, r.rt.Linger()) // clients may still reach blue for a while
			done := r.step("scale-down delay")
			r.log.Info(fmt.Sprintf("keeping %s at full size for %s so a rollback stays instant", blue.Group, delay))
			left := delay - time.Since(st.Promoted)
			if err := done(r.watch(ctx, st, left, false)); err != nil {
				return r.failed(ctx, st, sum, err)
			}
			done = r.step("delete blue")
			if err := done(r.deleteGroup(ctx, blue)); err != nil {
				return err
			}
		}
		if err := r.save(ctx, st, PhaseDone); err != nil {
			return err
		}
		return r.st.AddHistory(ctx, HistoryEntry{ID: st.ID, Strategy: st.Strategy, From: sideImage(blue), To: green.Image, Outcome: PhaseDone,
			Started: st.Started, Ended: time.Now().UTC(), CutoverMS: st.CutoverMS})
	}
	return nil
}

func aws32(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

// failed handles an error after traffic may have moved: a failed check or
// an abort rolls back; anything else (ctx cancelled, an API error) leaves
// the state for the next run to resume.
func (r *Roller) failed(ctx context.Context, st *State, sum *Summary, err error) error {
	var rb *errRollback
	switch {
	case errors.Is(err, errAborted):
		if uerr := r.undo(ctx, st, PhaseAborted, "aborted by the operator"); uerr != nil {
			return errors.Join(err, uerr)
		}
		return err
	case errors.As(err, &rb):
		if uerr := r.undo(ctx, st, PhaseRolledBack, err.Error()); uerr != nil {
			return errors.Join(err, uerr)
		}
		sum.Rollback = st.rollback
		return &errRollback{reason: "rolled back to " + sideImage(st.Stable) + ": " + err.Error()}
	}
	if ctx.Err() != nil {
		r.log.Warn(fmt.Sprintf("interrupted in phase %s: run roll again to resume, or `roll abort` to go back to %s", st.Phase, sideImage(st.Stable)))
	}
	return err
}

// waitHealthy waits until every green instance is healthy for the
// configured number of consecutive checks, or the wait times out.
func (r *Roller) waitHealthy(ctx context.Context, st *State, green *Side) error {
	hc := r.svc.Health
	deadline := time.Now().Add(hc.WaitTimeout)
	run, last := 0, health{}
	for {
		h, err := r.health.Health(ctx, green, r.tg(green.Slot))
		if err != nil {
			return err
		}
		if h.OK() {
			run++
			if run >= hc.Consecutive {
				r.log.Info(fmt.Sprintf("green %s: %d/%d healthy for %d consecutive checks", green.Group, h.Healthy, h.Want, run))
				return nil
			}
		} else {
			run = 0
			if h.String() != last.String() {
				r.log.Info("green " + green.Group + ": " + h.String())
			}
		}
		last = h
		if time.Now().After(deadline) {
			return fmt.Errorf("not healthy after %s (%s)", hc.WaitTimeout, last)
		}
		if c, err := r.st.Control(ctx, st.ID); err == nil && c == ControlAbort {
			return errAborted
		}
		if err := sleep(ctx, hc.Interval); err != nil {
			return err
		}
	}
}

// shift moves traffic to green in the strategy's steps, each switch a
// single guarded call.
func (r *Roller) shift(ctx context.Context, st *State, sum *Summary) error {
	green, blue := st.Canary, st.Stable
	steps := []int{100}
	if st.Strategy != BlueGreen && blue != nil {
		steps = r.svc.Strategy.Steps
	}
	cur, err := r.rt.Weights(ctx)
	if err != nil {
		return err
	}
	st.Weight = cur[green.Slot]
	var waited time.Duration
	for i, w := range steps {
		if w <= st.Weight {
			continue
		}
		done := r.step(fmt.Sprintf("shift %d%%", w))
		// The guard: never move traffic onto a green that is not fully
		// healthy right now.
		h, err := r.health.Health(ctx, green, r.tg(green.Slot))
		if err != nil {
			return done(err)
		}
		if !h.OK() {
			r.log.Warn(fmt.Sprintf("switch to %d%% on green skipped: green is not fully healthy (%s)", w, h))
			return done(&errRollback{reason: "green was not healthy at the switch to " + fmt.Sprint(w) + "%: " + h.String()})
		}
		weights := map[string]int{green.Slot: w}
		if blue != nil {
			weights[blue.Slot] = 100 - w
		}
		if err := r.rt.Set(ctx, weights); err != nil {
			return done(err)
		}
		st.Weight = w
		r.log.Event(bake.Event{Type: bake.EventInfo, Message: fmt.Sprintf("traffic: %d%% on green %s", w, green.Group),
			Fields: map[string]string{"weight": fmt.Sprint(w), "group": green.Group}})
		if w == 100 {
			st.Promoted = time.Now().UTC()
			if !st.Healthy.IsZero() {
				sum.Cutover = st.Promoted.Sub(st.Healthy) - waited
				st.CutoverMS = sum.Cutover.Milliseconds()
			}
			done(nil)
			return r.save(ctx, st, PhasePromoted)
		}
		if err := r.st.SaveState(ctx, st); err != nil {
			return done(err)
		}
		hold := r.svc.Strategy.StepPause + r.rt.Linger()
		t0 := time.Now()
		if r.svc.Strategy.ManualPromote {
			r.log.Info(fmt.Sprintf("at %d%%: waiting for `roll promote %s`", w, r.svc.Name))
		}
		if err := r.watch(ctx, st, hold, r.svc.Strategy.ManualPromote); err != nil {
			return done(err)
		}
		if st.Strategy == Canary && i < len(steps)-1 && blue != nil {
			if err := r.analyze(ctx, blue, green); err != nil {
				return done(err)
			}
		}
		waited += time.Since(t0)
		done(nil)
	}
	if st.Weight >= 100 { // a resumed roll whose last switch was made
		st.Promoted = time.Now().UTC()
		return r.save(ctx, st, PhasePromoted)
	}
	return fmt.Errorf("traffic on green is %d%% after the last step: the steps must end at 100", st.Weight)
}

// watchFailures is how many checks in a row green must fail after it
// takes traffic before roll sends the traffic back: one slow probe on a
// busy host is not a broken service.
const watchFailures = 2

// watch keeps an eye on green for d (or, with manual, until `roll
// promote`): a failed health check is a rollback, `roll abort` an abort,
// `roll pause` stops the clock until `roll resume`.
func (r *Roller) watch(ctx context.Context, st *State, d time.Duration, manual bool) error {
	green := st.Canary
	end := time.Now().Add(d)
	paused := false
	bad := 0
	for manual || paused || time.Now().Before(end) {
		c, err := r.st.Control(ctx, st.ID)
		if err != nil {
			return err
		}
		switch c {
		case ControlAbort:
			return errAborted
		case ControlPause:
			if !paused {
				paused = true
				st.Paused = true
				r.log.Info("paused: `roll resume` to go on")
				if err := r.st.SaveState(ctx, st); err != nil {
					return err
				}
			}
		case ControlResume, ControlPromote, "":
			if paused {
				paused = false
				st.Paused = false
				r.log.Info("resumed")
				end = time.Now().Add(d)
				if err := r.st.SaveState(ctx, st); err != nil {
					return err
				}
			}
			if c == ControlPromote && manual {
				if err := r.st.SetControl(ctx, st.ID, ""); err != nil {
					return err
				}
				r.log.Info("promoted by the operator")
				return nil
			}
		}
		h, err := r.health.Health(ctx, green, r.tg(green.Slot))
		if err != nil {
			return err
		}
		if h.OK() {
			bad = 0
		} else if bad++; bad >= watchFailures {
			return &errRollback{reason: fmt.Sprintf("green failed %d health checks in a row: %s", bad, h)}
		} else {
			r.log.Warn("green failed a health check: " + h.String())
		}
		wait := r.svc.Health.Interval
		if left := time.Until(end); !manual && !paused && left < wait {
			wait = max(left, 0)
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
	return nil
}

// undo points traffic back at blue in one call, then deletes green and
// records why. It is idempotent: a killed undo is finished by the next.
func (r *Roller) undo(ctx context.Context, st *State, phase, reason string) error {
	green, blue := st.Canary, st.Stable
	done := r.step("rollback")
	t0 := time.Now()
	if blue != nil {
		w := map[string]int{blue.Slot: 100}
		if green != nil {
			w[green.Slot] = 0
		}
		if err := r.rt.Set(ctx, w); err != nil {
			return done(err)
		}
		st.rollback = time.Since(t0)
		st.RollbackMS = st.rollback.Milliseconds()
		r.log.Event(bake.Event{Type: bake.EventInfo, Message: fmt.Sprintf("traffic: 100%% on blue %s (%s)", blue.Group, reason),
			Fields: map[string]string{"weight": "0", "group": blue.Group}})
	}
	st.Reason, st.Weight = reason, 0
	if err := r.save(ctx, st, phase); err != nil {
		return done(err)
	}
	if green != nil && green.Group != "" {
		if err := r.deleteGroup(ctx, green); err != nil {
			return done(err)
		}
	}
	if err := r.st.SetControl(ctx, st.ID, ""); err != nil {
		return done(err)
	}
	done(nil)
	return r.st.AddHistory(ctx, HistoryEntry{ID: st.ID, Strategy: st.Strategy, From: sideImage(blue), To: sideImage(green), Outcome: phase,
		Reason: reason, Started: st.Started, Ended: time.Now().UTC(), RollbackMS: st.RollbackMS})
}

// String renders a summary for people.
func (s *Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "service %s: %s (%s)", s.Service, s.Outcome, s.Strategy)
	if s.From != "" || s.To != "" {
		fmt.Fprintf(&b, ", %s -> %s", orDash(s.From), s.To)
	}
	if s.Group != "" {
		fmt.Fprintf(&b, ", serving from %s", s.Group)
	}
	b.WriteString("\n")
	if s.GreenHealthy > 0 {
		fmt.Fprintf(&b, "  green healthy after  %s\n", s.GreenHealthy.Round(time.Millisecond))
	}
	if s.Cutover > 0 {
		fmt.Fprintf(&b, "  cutover              %s (green healthy -> 100%% on green, less configured waits)\n", s.Cutover.Round(time.Millisecond))
	}
	if s.Rollback > 0 {
		fmt.Fprintf(&b, "  rollback             %s (traffic back on blue)\n", s.Rollback.Round(time.Millisecond))
	}
	if s.Reason != "" {
		fmt.Fprintf(&b, "  reason               %s\n", s.Reason)
	}
	fmt.Fprintf(&b, "  total                %s\n", s.Total.Round(time.Millisecond))
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// RolledBack marks the error of a roll that ended with traffic on blue.
func (e *errRollback) RolledBack() bool { return true }
