package roll

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// analysis is one side's probes: how many failed and the p99 latency.
type analysis struct {
	N, Failed int
	P99       time.Duration
}

func (a analysis) ErrorRate() float64 {
	if a.N == 0 {
		return 1
	}
	return float64(a.Failed) / float64(a.N)
}

// analyze compares green with blue between canary steps: both sides'
// instances are probed directly the same number of times, and green fails
// when its error rate is above blue's by more than max_error_rate, or its
// p99 latency above max_latency_ratio times blue's (latencies under 50ms
// are not compared: on a quiet service they are noise). The load
// balancer's view of green was checked by the watch before this.
func (r *Roller) analyze(ctx context.Context, blue, green *Side) error {
	done := r.step("analysis")
	b, err := r.sample(ctx, blue)
	if err != nil {
		return done(err)
	}
	g, err := r.sample(ctx, green)
	if err != nil {
		return done(err)
	}
	msg := fmt.Sprintf("blue %d/%d failed, p99 %s; green %d/%d failed, p99 %s", b.Failed, b.N, b.P99.Round(time.Microsecond), g.Failed, g.N, g.P99.Round(time.Microsecond))
	r.log.Info("analysis: " + msg)
	s := r.svc.Strategy
	switch {
	case g.ErrorRate() > b.ErrorRate()+s.MaxErrorRate:
		return done(&errRollback{reason: fmt.Sprintf("canary analysis failed: green's error rate %.1f%% is above blue's %.1f%% by more than %.1f%% (%s)",
			100*g.ErrorRate(), 100*b.ErrorRate(), 100*s.MaxErrorRate, msg)})
	case g.P99 > 50*time.Millisecond && float64(g.P99) > s.MaxLatencyRatio*float64(b.P99):
		return done(&errRollback{reason: fmt.Sprintf("canary analysis failed: green's p99 latency is more than %.1f times blue's (%s)", s.MaxLatencyRatio, msg)})
	}
	return done(nil)
}

// sample probes side's instances round robin.
func (r *Roller) sample(ctx context.Context, side *Side) (analysis, error) {
	h, err := r.checkHealth(ctx, side, r.tg(side.Slot))
	if err != nil {
		return analysis{}, err
	}
	var a analysis
	if len(h.Addrs) == 0 {
		return a, nil
	}
	var lat []time.Duration
	for i := 0; i < r.svc.Strategy.AnalysisRequests; i++ {
		addr := h.Addrs[i%len(h.Addrs)]
		t0 := time.Now()
		code, err := r.probe(ctx, addr)
		lat = append(lat, time.Since(t0))
		a.N++
		if err != nil || code >= http.StatusInternalServerError || code != r.svc.Health.Status {
			a.Failed++
		}
	}
	slices.Sort(lat)
	a.P99 = lat[min(len(lat)*99/100, len(lat)-1)]
	return a, nil
}
