package roll

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// analysis is one side's probes: how many failed and the p90 latency.
type analysis struct {
	N, Failed int
	P90       time.Duration
}

func (a analysis) ErrorRate() float64 {
	if a.N == 0 {
		return 1
	}
	return float64(a.Failed) / float64(a.N)
}

// latencyFloor: latencies under it are not compared; on a quiet or busy
// host they are noise, not the new image.
const latencyFloor = 200 * time.Millisecond

// analyze compares green with blue between canary steps: both sides'
// instances are probed directly the same number of times, interleaved so
// both see the same load on the host, and green fails when its error
// rate is above blue's by more than max_error_rate, or its p90 latency is
// above max_latency_ratio times blue's (and over 200ms). The load
// balancer's view of green was checked by the watch before this.
func (r *Roller) analyze(ctx context.Context, blue, green *Side) error {
	done := r.step("analysis")
	b, g, err := r.sample(ctx, blue, green)
	if err != nil {
		return done(err)
	}
	msg := fmt.Sprintf("blue %d/%d failed, p90 %s; green %d/%d failed, p90 %s", b.Failed, b.N, b.P90.Round(time.Microsecond), g.Failed, g.N, g.P90.Round(time.Microsecond))
	r.log.Info("analysis: " + msg)
	s := r.svc.Strategy
	switch {
	case g.ErrorRate() > b.ErrorRate()+s.MaxErrorRate:
		return done(&errRollback{reason: fmt.Sprintf("canary analysis failed: green's error rate %.1f%% is above blue's %.1f%% by more than %.1f%% (%s)",
			100*g.ErrorRate(), 100*b.ErrorRate(), 100*s.MaxErrorRate, msg)})
	case g.P90 > latencyFloor && float64(g.P90) > s.MaxLatencyRatio*float64(b.P90):
		return done(&errRollback{reason: fmt.Sprintf("canary analysis failed: green's p90 latency is more than %.1f times blue's (%s)", s.MaxLatencyRatio, msg)})
	}
	return done(nil)
}

// sample probes both sides' instances, alternating, round robin.
func (r *Roller) sample(ctx context.Context, blue, green *Side) (analysis, analysis, error) {
	var addrs [2][]string
	for i, side := range []*Side{blue, green} {
		h, err := r.health.Health(ctx, side, r.tg(side.Slot))
		if err != nil {
			return analysis{}, analysis{}, err
		}
		addrs[i] = h.Addrs
	}
	var out [2]analysis
	var lat [2][]time.Duration
	for i := 0; i < r.svc.Strategy.AnalysisRequests; i++ {
		for s := range addrs {
			if len(addrs[s]) == 0 {
				continue
			}
			t0 := time.Now()
			code, err := r.probe(ctx, addrs[s][i%len(addrs[s])])
			lat[s] = append(lat[s], time.Since(t0))
			out[s].N++
			if err != nil || code != r.svc.Health.Status {
				out[s].Failed++
			}
		}
	}
	for s := range out {
		if l := lat[s]; len(l) > 0 {
			slices.Sort(l)
			out[s].P90 = l[min(len(l)*9/10, len(l)-1)]
		}
	}
	return out[0], out[1], nil
}
