// Package claim keeps runners on different machines from doing the same
// work twice, coordinating through a store they all reach (SSM Parameter
// Store): a claim is a record made only if absent, held under a lease its
// owner renews. A claim whose owner stopped renewing (the runner died) is
// taken over by the next runner that asks for it.
//
// A claim is content-keyed: its key names the work (a bake's fingerprint),
// so two runners with the same inputs ask for the same claim whatever
// their shard. Records live under PREFIX/KEY/GENERATION; a takeover makes
// the next generation, which only one runner can create.
package claim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Store is the little a claim needs of a shared key-value store.
type Store interface {
	// Create makes name with value, or fails with ErrExists.
	Create(ctx context.Context, name, value string) error
	// Put overwrites name's value.
	Put(ctx context.Context, name, value string) error
	// List returns the values of the names directly under prefix (which
	// ends without a slash), keyed by name.
	List(ctx context.Context, prefix string) (map[string]string, error)
	// Delete removes names; ones already gone are not an error.
	Delete(ctx context.Context, names ...string) error
}

// ErrExists is Store.Create's answer when the name is taken.
var ErrExists = errors.New("already exists")

// DefaultLease is how long a claim lives without a renewal.
const DefaultLease = 2 * time.Minute

// Record is what a claim holds: who has it and until when.
type Record struct {
	Owner   string    `json:"owner"` // the run's UUID
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	What    string    `json:"what"` // what the owner does, for people
	Expires time.Time `json:"expires"`
}

func (r Record) String() string {
	return fmt.Sprintf("run %s (pid %d on %s)", short(r.Owner), r.PID, r.Host)
}

// Claimer takes claims under Prefix in Store.
type Claimer struct {
	Store  Store
	Prefix string // e.g. /bake/claims
	Owner  string // this run's UUID
	What   string
	// Lease is how long a claim lives without a renewal; the holder
	// renews it every third of it. Zero means DefaultLease.
	Lease time.Duration
	// Poll is how often a live claim of another owner is looked at
	// again; zero means a tenth of the lease, at most 5s.
	Poll time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Wait is called while a live claim of another owner is waited for.
	Wait func(holder Record)
}

func (c *Claimer) lease() time.Duration {
	if c.Lease > 0 {
		return c.Lease
	}
	return DefaultLease
}

func (c *Claimer) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Claim is a held claim. Its Context ends when the claim is lost (another
// runner took it over because renewals failed), with that as the cause.
type Claim struct {
	c    *Claimer
	key  string
	name string
	gen  int
	// TookOver is the dead holder this claim was taken from, if any.
	TookOver *Record

	ctx    context.Context
	cancel context.CancelCauseFunc
	stop   chan struct{}
	done   sync.WaitGroup
}

// Context is ctx's child that ends when the claim is lost.
func (cl *Claim) Context() context.Context { return cl.ctx }

// Acquire takes the claim on key, waiting while another owner's claim is
// live: it returns when this run holds it, or with ctx's cause. The
// caller must Release it.
func (c *Claimer) Acquire(ctx context.Context, key string) (*Claim, error) {
	if strings.ContainsAny(key, "/ ") || key == "" {
		return nil, fmt.Errorf("claim key %q: want a name without / or spaces", key)
	}
	dir := path.Join(c.Prefix, key)
	poll := c.Poll
	if poll <= 0 {
		poll = min(c.lease()/10, 5*time.Second)
	}
	for {
		recs, err := c.Store.List(ctx, dir)
		if err != nil {
			return nil, fmt.Errorf("read claims under %s: %w", dir, err)
		}
		gen, top, ok := newest(recs)
		var took *Record
		switch {
		case !ok:
		case top.Expires.Before(c.now()):
			took = &top
		default:
			if c.Wait != nil {
				c.Wait(top)
			}
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("wait for the claim on %s held by %s: %w", key, top, context.Cause(ctx))
			case <-time.After(poll):
			}
			continue
		}
		name := path.Join(dir, strconv.Itoa(gen+1))
		rec, err := c.record()
		if err != nil {
			return nil, err
		}
		err = c.Store.Create(ctx, name, rec)
		if errors.Is(err, ErrExists) {
			continue // another runner was quicker: look again
		}
		if err != nil {
			return nil, fmt.Errorf("claim %s: %w", name, err)
		}
		cl := &Claim{c: c, key: key, name: name, gen: gen + 1, TookOver: took, stop: make(chan struct{})}
		cl.ctx, cl.cancel = context.WithCancelCause(ctx)
		cl.done.Add(1)
		go cl.renew()
		return cl, nil
	}
}

func (c *Claimer) record() (string, error) {
	host, _ := os.Hostname()
	b, err := json.Marshal(Record{Owner: c.Owner, Host: host, PID: os.Getpid(), What: c.What, Expires: c.now().Add(c.lease()).UTC()})
	return string(b), err
}

// newest is the highest generation among recs and its record; a record
// that does not parse counts as expired (it can only be taken over).
func newest(recs map[string]string) (int, Record, bool) {
	gen, val := 0, ""
	for name, v := range recs {
		n, err := strconv.Atoi(path.Base(name))
		if err == nil && n > gen {
			gen, val = n, v
		}
	}
	if gen == 0 {
		return 0, Record{}, false
	}
	var r Record
	if err := json.Unmarshal([]byte(val), &r); err != nil {
		r = Record{Owner: "unreadable claim"}
	}
	return gen, r, true
}

// renew extends the lease every third of it until Release, and cancels
// the claim's context when a later generation shows it was taken over.
func (cl *Claim) renew() {
	defer cl.done.Done()
	every := cl.c.lease() / 3
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-cl.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), every)
		// A failed renewal is tried again next tick: the lease covers
		// three of them.
		err := cl.renewOnce(ctx)
		cancel()
		var lost *LostError
		if errors.As(err, &lost) {
			cl.cancel(err)
			return
		}
	}
}

// LostError says a claim was taken over by another runner.
type LostError struct {
	Key    string
	Holder Record
}

func (e *LostError) Error() string {
	return fmt.Sprintf("claim on %s lost to %s (renewals failed past the lease)", e.Key, e.Holder)
}

func (cl *Claim) renewOnce(ctx context.Context) error {
	recs, err := cl.c.Store.List(ctx, path.Dir(cl.name))
	if err != nil {
		return err
	}
	if gen, top, ok := newest(recs); ok && gen > cl.gen {
		return &LostError{Key: cl.key, Holder: top}
	}
	rec, err := cl.c.record()
	if err != nil {
		return err
	}
	return cl.c.Store.Put(ctx, cl.name, rec)
}

// Release ends the claim and removes its records, on a fresh context so
// that it runs even when the run is being stopped. The work's result must
// be visible (an artifact pushed) before Release: a runner that takes the
// key next looks for it.
func (cl *Claim) Release(ctx context.Context) error {
	close(cl.stop)
	cl.done.Wait()
	cl.cancel(errors.New("claim released"))
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	recs, err := cl.c.Store.List(ctx, path.Dir(cl.name))
	if err != nil {
		return fmt.Errorf("release claim %s: %w", cl.name, err)
	}
	if gen, top, ok := newest(recs); ok && gen > cl.gen {
		return &LostError{Key: cl.key, Holder: top}
	}
	names := make([]string, 0, len(recs))
	for n := range recs {
		names = append(names, n)
	}
	slices.Sort(names)
	if err := cl.c.Store.Delete(ctx, names...); err != nil {
		return fmt.Errorf("release claim %s: %w", cl.name, err)
	}
	return nil
}

func short(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}
