package claim

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Many runners racing for one key: at most one holds it at a time, and
// every one of them gets it in turn.
func TestAcquireIsExclusive(t *testing.T) {
	t.Parallel()
	st := &Memory{}
	var holders, most, turns atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &Claimer{Store: st, Prefix: "/bake/claims", Owner: string(rune('a' + i)), Lease: 300 * time.Millisecond}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cl, err := c.Acquire(ctx, "sha256-abc")
			if err != nil {
				t.Error(err)
				return
			}
			n := holders.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(20 * time.Millisecond)
			holders.Add(-1)
			turns.Add(1)
			if err := cl.Release(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if most.Load() != 1 || turns.Load() != 8 {
		t.Fatalf("at most %d held the claim at once (want 1), %d of 8 got it", most.Load(), turns.Load())
	}
	if left := st.Snapshot(); len(left) != 0 {
		t.Fatalf("released claims left records: %v", left)
	}
}

// A holder that stopped renewing (its runner died) is taken over once its
// lease has passed, by the next generation.
func TestAcquireTakesOverADeadClaim(t *testing.T) {
	t.Parallel()
	st := &Memory{}
	dead, _ := json.Marshal(Record{Owner: "dead-run", Host: "ci-7", PID: 42, Expires: time.Now().Add(-time.Second)})
	if err := st.Create(context.Background(), "/c/k/1", string(dead)); err != nil {
		t.Fatal(err)
	}
	c := &Claimer{Store: st, Prefix: "/c", Owner: "next-run", Lease: time.Second}
	cl, err := c.Acquire(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	if cl.TookOver == nil || cl.TookOver.Owner != "dead-run" || cl.name != "/c/k/2" {
		t.Fatalf("took over %+v as %s, want dead-run's claim as /c/k/2", cl.TookOver, cl.name)
	}
	if err := cl.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A live claim of another owner is waited for, not taken.
func TestAcquireWaitsForALiveClaim(t *testing.T) {
	t.Parallel()
	st := &Memory{}
	a := &Claimer{Store: st, Prefix: "/c", Owner: "a", Lease: 600 * time.Millisecond}
	held, err := a.Acquire(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	var waited atomic.Bool
	b := &Claimer{Store: st, Prefix: "/c", Owner: "b", Lease: 600 * time.Millisecond, Wait: func(r Record) {
		if r.Owner == "a" {
			waited.Store(true)
		}
	}}
	// The holder renews: b times out waiting well past a's lease.
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	if _, err := b.Acquire(ctx, "k"); err == nil || !strings.Contains(err.Error(), "held by run a") {
		t.Fatalf("b took a renewed claim: %v", err)
	}
	if !waited.Load() {
		t.Fatal("b did not report waiting for a")
	}
	if err := held.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, err := b.Acquire(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	got.Release(context.Background())
}

// A holder whose renewals fail past its lease loses the claim: its
// context ends with a LostError once another runner took it over.
func TestClaimLost(t *testing.T) {
	t.Parallel()
	st := &Memory{}
	// a renews every 500ms: the first renewal comes after b took over.
	a := &Claimer{Store: st, Prefix: "/c", Owner: "a", Lease: 1500 * time.Millisecond}
	held, err := a.Acquire(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	// Freeze a's record in the past as if its renewals had failed, and
	// let b take over.
	old, _ := json.Marshal(Record{Owner: "a", Expires: time.Now().Add(-time.Second)})
	st.Put(context.Background(), "/c/k/1", string(old))
	b := &Claimer{Store: st, Prefix: "/c", Owner: "b", Lease: time.Minute}
	taken, err := b.Acquire(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-held.Context().Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a's claim context did not end after b took over")
	}
	var lost *LostError
	if !errors.As(context.Cause(held.Context()), &lost) || lost.Holder.Owner != "b" {
		t.Fatalf("cause %v, want a LostError naming b", context.Cause(held.Context()))
	}
	if err := held.Release(context.Background()); !errors.As(err, &lost) {
		t.Fatalf("release of a lost claim: %v", err)
	}
	if _, ok := st.Snapshot()["/c/k/2"]; !ok {
		t.Fatal("a's release removed b's claim")
	}
	taken.Release(context.Background())
}

func TestBadKey(t *testing.T) {
	c := &Claimer{Store: &Memory{}, Prefix: "/c"}
	if _, err := c.Acquire(context.Background(), "a/b"); err == nil {
		t.Fatal("a key with / was accepted")
	}
}
