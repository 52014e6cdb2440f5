package bake

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

func TestForEach(t *testing.T) {
	t.Parallel()
	var running, most, done atomic.Int32
	ForEach(context.Background(), 50, 3, func(i int) {
		n := running.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		for range 1000 {
			_ = i * i
		}
		running.Add(-1)
		done.Add(1)
	}, nil)
	if done.Load() != 50 || most.Load() > 3 {
		t.Fatalf("%d of 50 done, at most %d at once (limit 3)", done.Load(), most.Load())
	}

	// Once ctx ends, what has not started is skipped, with the cause.
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := errors.New("stopped")
	var ran, skipped atomic.Int32
	ForEach(ctx, 20, 1, func(i int) {
		ran.Add(1)
		cancel(stop)
	}, func(i int, cause error) {
		if !errors.Is(cause, stop) {
			t.Errorf("skipped %d with %v", i, cause)
		}
		skipped.Add(1)
	})
	if ran.Load() != 1 || skipped.Load() != 19 {
		t.Fatalf("ran %d, skipped %d; want 1 and 19", ran.Load(), skipped.Load())
	}
}
