package amazon

import (
	"context"
	"fmt"
	"time"

	"github.com/bakehq/bake/bake"
)

// Poll intervals: quick at first (a local cloud answers at once), then
// backing off to pollMax so that an hour-long image costs few calls.
const (
	pollFirst     = 100 * time.Millisecond
	pollMax       = 5 * time.Second
	progressEvery = 30 * time.Second
)

// poll calls check until it reports done, fails, or timeout passes. Every
// change of the progress check reports is logged, and a heartbeat every
// progressEvery, so a long wait is never silent. The time waited is
// reported as the event field aws_wait_s (the bench subtracts it from the
// wall time to find bake's own overhead).
func poll(ctx context.Context, log bake.Log, what string, timeout time.Duration, check func(context.Context) (done bool, progress string, err error)) error {
	start := time.Now()
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, &WaitTimeout{What: what, After: timeout})
	defer cancel()
	defer func() {
		log.Event(bake.Event{Type: bake.EventInfo, Message: "waited for " + what,
			Fields: map[string]string{"aws_wait": what, "aws_wait_s": fmt.Sprintf("%.3f", time.Since(start).Seconds())}})
	}()
	interval := pollFirst
	last, lastLog := "", start
	for {
		done, progress, err := check(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%w (last: %v)", context.Cause(ctx), err)
			}
			return err
		}
		if done {
			return nil
		}
		if progress != last || time.Since(lastLog) >= progressEvery {
			if progress != "" {
				log.Info(fmt.Sprintf("waiting for %s: %s (%s)", what, progress, time.Since(start).Round(time.Second)))
			}
			last, lastLog = progress, time.Now()
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			if progress != "" {
				return fmt.Errorf("%w (last seen: %s)", context.Cause(ctx), progress)
			}
			return context.Cause(ctx)
		case <-t.C:
		}
		if interval = interval * 3 / 2; interval > pollMax {
			interval = pollMax
		}
	}
}

// WaitTimeout is a wait that gave up: what it waited for did not happen
// within its timeout.
type WaitTimeout struct {
	What  string
	After time.Duration
}

func (e *WaitTimeout) Error() string {
	return fmt.Sprintf("gave up after %s waiting for %s", e.After, e.What)
}
