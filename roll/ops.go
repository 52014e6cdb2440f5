package roll

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/bakehq/bake/bake"
)

// Status is what `roll status` shows: the roll in progress (or the last
// one), the live traffic weights, the service's groups and the lock.
type Status struct {
	State   *State         `json:"state,omitempty"`
	Weights map[string]int `json:"weights"`
	Groups  []Side         `json:"groups"`
	Lock    *lockValue     `json:"lock,omitempty"`
	// Holder says whether the lock's holder is alive, and Rerun what
	// running roll again will do with an unfinished roll.
	Holder string `json:"holder,omitempty"`
	Rerun  string `json:"rerun,omitempty"`
}

// holderState tells whether the roll holding the lock runs: on this host
// its pid is looked at; elsewhere only the lock's renewals tell.
func holderState(l *lockValue) (string, bool) {
	host, _ := os.Hostname()
	if l.Host == host {
		if alive(l.PID) {
			return fmt.Sprintf("alive (pid %d on this host)", l.PID), false
		}
		return fmt.Sprintf("dead: pid %d on this host (%s) is gone; the next roll takes the lock over", l.PID, host), true
	}
	return fmt.Sprintf("on another host (%s), last renewed %s ago", l.Host, time.Since(l.Renewed).Round(time.Second)), false
}

// rerun says what `roll` does next with an unfinished roll st.
func rerun(st *State) string {
	if st.Terminal() {
		return ""
	}
	return fmt.Sprintf("roll again to %s with --strategy %s resumes roll %s from phase %s; a roll to another image undoes it first (traffic back on %s); `roll abort` goes back to %s now",
		sideImage(st.Canary), st.Strategy, st.ID, st.Phase, sideImage(st.Stable), sideImage(st.Stable))
}

// Status reads the service's state from AWS.
func (r *Roller) Status(ctx context.Context) (*Status, error) {
	st, err := r.st.State(ctx)
	if err != nil {
		return nil, err
	}
	w, err := r.rt.Weights(ctx)
	if err != nil {
		return nil, err
	}
	gs, err := r.groups(ctx)
	if err != nil {
		return nil, err
	}
	out := &Status{State: st, Weights: w}
	for _, g := range gs {
		out.Groups = append(out.Groups, *sideOf(g))
	}
	sort.Slice(out.Groups, func(i, j int) bool { return out.Groups[i].Group < out.Groups[j].Group })
	var lv lockValue
	if ok, err := r.st.get(ctx, "lock", &lv); err != nil {
		return nil, err
	} else if ok {
		out.Lock = &lv
		out.Holder, _ = holderState(&lv)
	}
	if st != nil {
		out.Rerun = rerun(st)
	}
	return out, nil
}

// String renders a status for people.
func (s *Status) String() string {
	var b strings.Builder
	if s.State == nil {
		b.WriteString("no roll yet\n")
	} else {
		st := s.State
		fmt.Fprintf(&b, "roll %s (%s): %s", st.ID, st.Strategy, st.Phase)
		if st.Paused {
			b.WriteString(" (paused)")
		}
		fmt.Fprintf(&b, ", started %s, updated %s\n", st.Started.Format(time.RFC3339), st.Updated.Format(time.RFC3339))
		if st.Stable != nil {
			fmt.Fprintf(&b, "  blue   %s  %s  slot %s\n", st.Stable.Group, st.Stable.Image, st.Stable.Slot)
		}
		if st.Canary != nil {
			fmt.Fprintf(&b, "  green  %s  %s  slot %s\n", orDash(st.Canary.Group), st.Canary.Image, st.Canary.Slot)
		}
		if st.Reason != "" {
			fmt.Fprintf(&b, "  reason %s\n", st.Reason)
		}
	}
	keys := make([]string, 0, len(s.Weights))
	for k := range s.Weights {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.WriteString("traffic:")
	for _, k := range keys {
		fmt.Fprintf(&b, " slot %s %d%%", k, s.Weights[k])
	}
	b.WriteString("\ngroups:\n")
	for _, g := range s.Groups {
		fmt.Fprintf(&b, "  %s  slot %s  %s\n", g.Group, g.Slot, g.Image)
	}
	if s.Lock != nil {
		fmt.Fprintf(&b, "locked by roll %s (pid %d on %s since %s)\n", s.Lock.ID, s.Lock.PID, s.Lock.Host, s.Lock.Since.Format(time.RFC3339))
		fmt.Fprintf(&b, "holder: %s\n", s.Holder)
	}
	if s.Rerun != "" {
		fmt.Fprintf(&b, "next: %s\n", s.Rerun)
	}
	return b.String()
}

// History is the service's ended rolls, oldest first.
func (r *Roller) History(ctx context.Context) ([]HistoryEntry, error) { return r.st.History(ctx) }

// Control sends a running roll an operator's command: pause, resume or
// promote. It fails when no roll is in progress.
func (r *Roller) Control(ctx context.Context, cmd string) (*State, error) {
	st, err := r.st.State(ctx)
	if err != nil {
		return nil, err
	}
	if st.Terminal() {
		return nil, bake.BadInputf("no roll of service %s is in progress: nothing to %s", r.svc.Name, cmd)
	}
	return st, r.st.SetControl(ctx, st.ID, cmd)
}

// Abort stops the roll in progress: traffic back on blue, green deleted.
// A running roll is told to do it (and waited for, up to wait); with no
// roll process alive, Abort does it itself.
func (r *Roller) Abort(ctx context.Context, wait time.Duration) (_ *State, err error) {
	st, err := r.st.State(ctx)
	if err != nil {
		return nil, err
	}
	if st.Terminal() {
		return nil, bake.BadInputf("no roll of service %s is in progress: nothing to abort", r.svc.Name)
	}
	lk, err := acquire(ctx, r.st, "abort-"+uuid.NewString()[:8], r.svc.LockTTL)
	if errors.Is(err, ErrLocked) {
		if err := r.st.SetControl(ctx, st.ID, ControlAbort); err != nil {
			return nil, err
		}
		r.log.Info(fmt.Sprintf("asked roll %s to abort", st.ID))
		deadline := time.Now().Add(wait)
		for time.Now().Before(deadline) {
			now, err := r.st.State(ctx)
			if err != nil {
				return nil, err
			}
			if now.Terminal() {
				return now, nil
			}
			if err := sleep(ctx, 250*time.Millisecond); err != nil {
				return nil, err
			}
		}
		return st, fmt.Errorf("roll %s has not aborted after %s: see `roll status`", st.ID, wait)
	}
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
	err = r.undo(ctx, st, PhaseAborted, "aborted by the operator")
	return st, err
}
