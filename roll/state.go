package roll

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/bakehq/bake/internal/awserr"
)

// A roll's state lives on AWS, so that a killed roll is resumed (or
// undone) by the next one from anywhere: SSM parameters under
// /roll/SERVICE/ hold the roll in progress (state), the lock, the
// operator's last command (control) and the history; the groups carry
// tags saying they are the service's and which roll made them.

// Tags on the groups roll creates.
const (
	TagService   = "roll:service"
	TagSlot      = "roll:slot"
	TagRollID    = "roll:roll-id"
	TagImage     = "roll:image"
	TagCreatedBy = "roll:created-by" // "roll": only such groups are ever deleted
)

// Phases of a roll.
const (
	PhaseCreating   = "creating"    // the green group is being created (its name is known)
	PhaseWaiting    = "waiting"     // waiting for green to be healthy
	PhaseShifting   = "shifting"    // traffic moving in steps
	PhasePromoted   = "promoted"    // all traffic on green; watching it
	PhaseScaleDown  = "scale-down"  // blue kept for scale_down_delay
	PhaseDone       = "done"        // blue deleted
	PhaseAborted    = "aborted"     // green removed, traffic on blue
	PhaseRolledBack = "rolled-back" // automatic abort after a failed check
)

// Side is one group of a roll.
type Side struct {
	Group     string `json:"group"`
	Slot      string `json:"slot"`
	Image     string `json:"image"`
	Template  string `json:"template_version,omitempty"`
	CreatedBy string `json:"created_by,omitempty"` // "roll" when roll made it
}

// State is the roll in progress (or the last one), stored as JSON.
type State struct {
	ID         string    `json:"id"`
	Service    string    `json:"service"`
	Strategy   string    `json:"strategy"`
	Phase      string    `json:"phase"`
	Stable     *Side     `json:"stable,omitempty"` // blue; nil on a first deploy
	Canary     *Side     `json:"canary,omitempty"` // green
	Weight     int       `json:"weight"`           // green's share now
	Started    time.Time `json:"started"`
	Healthy    time.Time `json:"healthy,omitempty"`  // green passed its gate
	Promoted   time.Time `json:"promoted,omitempty"` // 100% on green
	Updated    time.Time `json:"updated"`
	Reason     string    `json:"reason,omitempty"` // of an abort or rollback
	Paused     bool      `json:"paused,omitempty"`
	CutoverMS  int64     `json:"cutover_ms,omitempty"`
	RollbackMS int64     `json:"rollback_ms,omitempty"`

	rollback time.Duration // of this process's undo, for the summary
}

// Terminal reports whether the roll has ended.
func (s *State) Terminal() bool {
	return s == nil || s.Phase == PhaseDone || s.Phase == PhaseAborted || s.Phase == PhaseRolledBack
}

// HistoryEntry is one ended roll.
type HistoryEntry struct {
	ID         string    `json:"id"`
	Strategy   string    `json:"strategy"`
	From       string    `json:"from,omitempty"` // image
	To         string    `json:"to"`
	Outcome    string    `json:"outcome"` // done, aborted, rolled-back
	Reason     string    `json:"reason,omitempty"`
	Started    time.Time `json:"started"`
	Ended      time.Time `json:"ended"`
	CutoverMS  int64     `json:"cutover_ms,omitempty"`
	RollbackMS int64     `json:"rollback_ms,omitempty"`
}

const historyKeep = 20

// store reads and writes the service's parameters.
type store struct {
	api     ParametersAPI
	service string
}

func (s store) name(what string) string { return "/roll/" + s.service + "/" + what }

func (s store) get(ctx context.Context, what string, v any) (bool, error) {
	out, err := s.api.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(s.name(what))})
	if err != nil {
		if awserr.Code(err) == "ParameterNotFound" {
			return false, nil
		}
		return false, fmt.Errorf("read parameter %s: %w", s.name(what), err)
	}
	raw := aws.ToString(out.Parameter.Value)
	if sp, ok := v.(*string); ok {
		*sp = raw
		return true, nil
	}
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		return false, fmt.Errorf("read parameter %s: not roll's JSON: %w (delete it if it is not roll's)", s.name(what), err)
	}
	return true, nil
}

func (s store) put(ctx context.Context, what string, v any, overwrite bool) error {
	var raw string
	if sv, ok := v.(string); ok {
		raw = sv
	} else {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		raw = string(b)
	}
	_, err := s.api.PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String(s.name(what)), Value: aws.String(raw), Type: ssmtypes.ParameterTypeString,
		Overwrite: aws.Bool(overwrite), Tier: ssmtypes.ParameterTierStandard,
	})
	if err != nil {
		return fmt.Errorf("write parameter %s: %w", s.name(what), err)
	}
	return nil
}

func (s store) del(ctx context.Context, what string) error {
	_, err := s.api.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(s.name(what))})
	if err != nil && awserr.Code(err) != "ParameterNotFound" {
		return fmt.Errorf("delete parameter %s: %w", s.name(what), err)
	}
	return nil
}

func (s store) State(ctx context.Context) (*State, error) {
	var st State
	ok, err := s.get(ctx, "state", &st)
	if !ok || err != nil {
		return nil, err
	}
	return &st, nil
}

func (s store) SaveState(ctx context.Context, st *State) error {
	st.Updated = time.Now().UTC()
	return s.put(ctx, "state", st, true)
}

func (s store) History(ctx context.Context) ([]HistoryEntry, error) {
	var h []HistoryEntry
	_, err := s.get(ctx, "history", &h)
	return h, err
}

func (s store) AddHistory(ctx context.Context, e HistoryEntry) error {
	h, err := s.History(ctx)
	if err != nil {
		return err
	}
	for _, have := range h {
		if have.ID == e.ID {
			return nil // a resumed roll that had already recorded its end
		}
	}
	h = append(h, e)
	if len(h) > historyKeep {
		h = h[len(h)-historyKeep:]
	}
	return s.put(ctx, "history", h, true)
}

// Controls an operator sends a running roll.
const (
	ControlPause   = "pause"
	ControlResume  = "resume"
	ControlPromote = "promote"
	ControlAbort   = "abort"
)

// Control is the operator's last command to roll ID ("" for none).
func (s store) Control(ctx context.Context, id string) (string, error) {
	var raw string
	ok, err := s.get(ctx, "control", &raw)
	if !ok || err != nil {
		return "", err
	}
	cmd, rid, _ := strings.Cut(raw, " ")
	if rid != id {
		return "", nil
	}
	return cmd, nil
}

func (s store) SetControl(ctx context.Context, id, cmd string) error {
	if cmd == "" {
		return s.del(ctx, "control")
	}
	return s.put(ctx, "control", cmd+" "+id, true)
}

// lockValue is who holds a service's lock.
type lockValue struct {
	ID      string    `json:"id"`
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Since   time.Time `json:"since"`
	Renewed time.Time `json:"renewed"`
}

// ErrLocked is returned when another roll of the service is running.
var ErrLocked = errors.New("another roll of this service is running")

// lock takes the service's lock for roll id: a parameter created only if
// absent, renewed while the roll runs. A lock whose holder died on this
// host, or that was not renewed for ttl, is taken over.
type lock struct {
	st    store
	ttl   time.Duration
	value lockValue
	stop  chan struct{}
	done  chan struct{}
}

func acquire(ctx context.Context, st store, id string, ttl time.Duration) (*lock, error) {
	host, _ := os.Hostname()
	now := time.Now().UTC()
	v := lockValue{ID: id, Host: host, PID: os.Getpid(), Since: now, Renewed: now}
	err := st.put(ctx, "lock", v, false)
	if err != nil && awserr.Code(err) == "ParameterAlreadyExists" {
		var have lockValue
		if _, gerr := st.get(ctx, "lock", &have); gerr != nil {
			return nil, gerr
		}
		stale := time.Since(have.Renewed) > ttl
		dead := have.Host == host && have.PID != os.Getpid() && !alive(have.PID)
		if !stale && !dead {
			return nil, fmt.Errorf("%w: roll %s holds /roll/%s/lock (pid %d on %s since %s, renewed %s ago); wait for it, or stop it with `roll abort`",
				ErrLocked, have.ID, st.service, have.PID, have.Host, have.Since.Format(time.RFC3339), time.Since(have.Renewed).Round(time.Second))
		}
		err = st.put(ctx, "lock", v, true)
	}
	if err != nil {
		return nil, fmt.Errorf("take the lock of service %s: %w", st.service, err)
	}
	l := &lock{st: st, ttl: ttl, value: v, stop: make(chan struct{}), done: make(chan struct{})}
	go l.renew()
	return l, nil
}

func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func (l *lock) renew() {
	defer close(l.done)
	t := time.NewTicker(max(l.ttl/3, 100*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			var have lockValue
			ok, err := l.st.get(ctx, "lock", &have)
			if err == nil && ok && have.ID != l.value.ID {
				cancel()
				return // taken over after this roll missed renewals: never steal it back
			}
			l.value.Renewed = time.Now().UTC()
			_ = l.st.put(ctx, "lock", l.value, true) // a missed renewal is retried next tick; the ttl covers several
			cancel()
		}
	}
}

// release deletes the lock if it is still this roll's.
func (l *lock) release(ctx context.Context) error {
	close(l.stop)
	<-l.done
	var have lockValue
	if ok, err := l.st.get(ctx, "lock", &have); err != nil || !ok || have.ID != l.value.ID {
		return err
	}
	return l.st.del(ctx, "lock")
}

// getRaw reads a parameter outside the service's path (a channel).
func (s store) getRaw(ctx context.Context, name string, v *string) (bool, error) {
	out, err := s.api.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
	if err != nil {
		if awserr.Code(err) == "ParameterNotFound" {
			return false, nil
		}
		return false, fmt.Errorf("read parameter %s: %w", name, err)
	}
	*v = aws.ToString(out.Parameter.Value)
	return true, nil
}
