package bake

import (
	"context"
	"sync"
)

// ForEach calls do(i) for every i in [0, n), at most limit at once (and
// no more goroutines than that), and returns when all have returned. Once
// ctx ends, the calls not yet started are not made: skipped(i, cause) is
// called for each instead (nil skipped drops them).
func ForEach(ctx context.Context, n, limit int, do func(i int), skipped func(i int, cause error)) {
	sem := make(chan struct{}, max(limit, 1))
	var wg sync.WaitGroup
	for i := range n {
		acquired := false
		select {
		case sem <- struct{}{}:
			acquired = true
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			if acquired {
				<-sem
			}
			for ; i < n && skipped != nil; i++ {
				skipped(i, context.Cause(ctx))
			}
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			do(i)
		}()
	}
	wg.Wait()
}
