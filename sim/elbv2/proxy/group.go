package proxy

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Target is one registered target: an instance (or IP) and the port
// traffic goes to. Host is the address the data plane dials.
type Target struct {
	ID   string
	Host string
	Port int
}

func (t Target) key() string  { return t.ID + ":" + strconv.Itoa(t.Port) }
func (t Target) addr() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

// TargetHealth is a target and its state, as DescribeTargetHealth reports it.
type TargetHealth struct {
	Target      Target
	State       State
	Reason      string // empty when healthy
	Description string
}

// Group is a target group: its members, their health checks and the
// round-robin choice among the healthy ones. Its zero value is not usable;
// make one with NewGroup.
type Group struct {
	checks *http.Client // fresh connection per check, like ELB's checker

	mu         sync.Mutex
	hc         HealthCheck
	matcher    Matcher
	deregDelay time.Duration
	users      int // listeners forwarding here; checks run only when > 0
	forced     func(id string) bool
	members    map[string]*member
	closed     bool

	healthy atomic.Pointer[[]*member] // the members traffic may go to
	next    atomic.Uint64
}

type member struct {
	t   Target
	url *url.URL

	// guarded by Group.mu
	state       State
	reason      string
	description string
	okRun       int // consecutive passed checks
	badRun      int // consecutive failed checks
	stop        chan struct{}
	wake        chan struct{}

	inflight atomic.Int64
}

// NewGroup makes a target group with hc (validated by the caller) and the
// deregistration delay targets spend draining.
func NewGroup(hc HealthCheck, deregDelay time.Duration) (*Group, error) {
	m, err := ParseMatcher(hc.Matcher)
	if err != nil {
		return nil, err
	}
	g := &Group{
		checks: &http.Client{
			Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse // a 3xx is the answer, as on ELB
			},
		},
		hc:         hc,
		matcher:    m,
		deregDelay: deregDelay,
		members:    map[string]*member{},
	}
	g.healthy.Store(&[]*member{})
	return g, nil
}

// SetHealthCheck changes the health check; members keep their state and
// the next check uses the new settings.
func (g *Group) SetHealthCheck(hc HealthCheck) error {
	m, err := ParseMatcher(hc.Matcher)
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.hc, g.matcher = hc, m
	for _, mb := range g.members {
		poke(mb.wake)
	}
	return nil
}

// SetForcedUnhealthy makes health checks of the targets for which fn
// reports true fail as if their app had stopped (the sim's fault injection).
func (g *Group) SetForcedUnhealthy(fn func(id string) bool) {
	g.mu.Lock()
	g.forced = fn
	g.mu.Unlock()
}

// SetDeregistrationDelay changes how long deregistered targets drain.
func (g *Group) SetDeregistrationDelay(d time.Duration) {
	g.mu.Lock()
	g.deregDelay = d
	g.mu.Unlock()
}

// Register adds targets. A target already registered keeps its state; one
// that is draining is taken back and checked again from initial.
func (g *Group) Register(ts ...Target) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return
	}
	for _, t := range ts {
		if mb, ok := g.members[t.key()]; ok && mb.state != StateDraining {
			continue
		} else if ok {
			close(mb.stop) // end its drain; a fresh member replaces it
		}
		mb := &member{
			t:    t,
			url:  &url.URL{Scheme: "http", Host: t.addr()},
			stop: make(chan struct{}),
			wake: make(chan struct{}, 1),
		}
		g.setIdle(mb)
		g.members[t.key()] = mb
		go g.check(mb, mb.stop, mb.wake)
	}
	g.publish()
}

// Deregister starts draining targets: they get no new requests and leave
// the group when their in-flight requests are done or the deregistration
// delay has passed, whichever comes first — as ELB documents it.
func (g *Group) Deregister(ts ...Target) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, t := range ts {
		mb, ok := g.members[t.key()]
		if !ok || mb.state == StateDraining {
			continue
		}
		mb.state, mb.reason, mb.description = StateDraining, ReasonDeregistration, "Target deregistration is in progress"
		close(mb.stop)
		mb.stop = make(chan struct{}) // now stops the drain instead
		go g.drain(mb, mb.stop, g.deregDelay)
	}
	g.publish()
}

func (g *Group) drain(mb *member, stop chan struct{}, delay time.Duration) {
	deadline := time.NewTimer(delay)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for mb.inflight.Load() > 0 {
		select {
		case <-stop:
			return
		case <-deadline.C:
			g.remove(mb)
			return
		case <-tick.C:
		}
	}
	g.remove(mb)
}

func (g *Group) remove(mb *member) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.members[mb.t.key()] == mb {
		delete(g.members, mb.t.key())
	}
}

// Health reports every member's state, in registration-key order. With
// only, it reports those targets, and NotRegistered for ones it lacks.
func (g *Group) Health(only ...Target) []TargetHealth {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []TargetHealth
	if len(only) > 0 {
		for _, t := range only {
			mb, ok := g.members[t.key()]
			if !ok {
				out = append(out, TargetHealth{Target: t, State: StateUnused, Reason: ReasonNotRegistered,
					Description: "Target is not registered to the target group"})
				continue
			}
			out = append(out, mb.health())
		}
		return out
	}
	for _, mb := range g.members {
		out = append(out, mb.health())
	}
	slices.SortFunc(out, func(a, b TargetHealth) int {
		if a.Target.ID != b.Target.ID {
			if a.Target.ID < b.Target.ID {
				return -1
			}
			return 1
		}
		return a.Target.Port - b.Target.Port
	})
	return out
}

func (mb *member) health() TargetHealth {
	return TargetHealth{Target: mb.t, State: mb.state, Reason: mb.reason, Description: mb.description}
}

// Close stops every health check; the group serves no more traffic.
func (g *Group) Close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return
	}
	g.closed = true
	for k, mb := range g.members {
		close(mb.stop)
		delete(g.members, k)
	}
	g.publish()
}

// use counts a listener forwarding to the group in (+1) or out (-1).
// Health checks run only while some listener uses the group, and members
// of an unused group are reported unused, as on ELB.
func (g *Group) use(delta int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	was := g.users > 0
	g.users += delta
	if now := g.users > 0; now != was {
		for _, mb := range g.members {
			if mb.state != StateDraining {
				g.setIdle(mb)
				poke(mb.wake)
			}
		}
		g.publish()
	}
}

// setIdle puts a member at the start of its life: initial when the group
// is in use, unused when not. Called with g.mu held.
func (g *Group) setIdle(mb *member) {
	mb.okRun, mb.badRun = 0, 0
	if g.users > 0 {
		mb.state, mb.reason, mb.description = StateInitial, ReasonInitialHealthChecking, "Initial health checks in progress"
		return
	}
	mb.state, mb.reason, mb.description = StateUnused, ReasonNotInUse,
		"Target group is not configured to receive traffic from the load balancer"
}

// publish recomputes the healthy snapshot. Called with g.mu held.
func (g *Group) publish() {
	var hs []*member
	for _, mb := range g.members {
		if mb.state == StateHealthy {
			hs = append(hs, mb)
		}
	}
	slices.SortFunc(hs, func(a, b *member) int {
		switch {
		case a.t.key() < b.t.key():
			return -1
		case a.t.key() > b.t.key():
			return 1
		}
		return 0
	})
	g.healthy.Store(&hs)
}

// pick returns the next healthy member, round robin, or nil.
func (g *Group) pick() *member {
	hs := *g.healthy.Load()
	if len(hs) == 0 {
		return nil
	}
	return hs[(g.next.Add(1)-1)%uint64(len(hs))]
}

// HealthyCount is how many members take traffic now.
func (g *Group) HealthyCount() int { return len(*g.healthy.Load()) }

// check runs mb's health checks until it is stopped: the first soon after
// registration, then one per interval.
func (g *Group) check(mb *member, stop, wake chan struct{}) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	var last time.Time // of the last probe: a wake never makes two probes closer than the interval
	for {
		select {
		case <-stop:
			return
		case <-wake:
		case <-timer.C:
		}
		g.mu.Lock()
		hc, inUse := g.hc, g.users > 0
		g.mu.Unlock()
		if !inUse {
			timer.Reset(hc.Interval)
			continue
		}
		if since := time.Since(last); !last.IsZero() && since < hc.Interval {
			timer.Reset(hc.Interval - since)
			continue
		}
		last = time.Now()
		ok, reason, desc := g.probe(stop, mb, hc)
		select {
		case <-stop:
			return
		default:
		}
		g.record(mb, ok, reason, desc)
		timer.Reset(hc.Interval)
	}
}

func (g *Group) probe(stop chan struct{}, mb *member, hc HealthCheck) (ok bool, reason, desc string) {
	port := mb.t.Port
	if hc.Port != 0 {
		port = hc.Port
	}
	ctx, cancel := context.WithTimeout(context.Background(), hc.Timeout)
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	g.mu.Lock()
	forced := g.forced
	g.mu.Unlock()
	if forced != nil && forced(mb.t.ID) {
		return false, ReasonFailedHealthChecks, "Health checks failed"
	}
	hostport := net.JoinHostPort(mb.t.Host, strconv.Itoa(port))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+hostport+hc.Path, nil)
	if err != nil {
		return false, ReasonFailedHealthChecks, "Health checks failed"
	}
	req.Header.Set("User-Agent", "ELB-HealthChecker/2.0")
	resp, err := g.checks.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return false, ReasonTimeout, "Request timed out"
		}
		return false, ReasonFailedHealthChecks, "Health checks failed"
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // drain for a clean close; errors are irrelevant here
	resp.Body.Close()
	g.mu.Lock()
	m := g.matcher
	g.mu.Unlock()
	if !m.Match(resp.StatusCode) {
		return false, ReasonResponseCodeMismatch, fmt.Sprintf("Health checks failed with these codes: [%d]", resp.StatusCode)
	}
	return true, "", ""
}

// record applies one check's result to mb's consecutive runs and state.
func (g *Group) record(mb *member, ok bool, reason, desc string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.members[mb.t.key()] != mb || mb.state == StateDraining || mb.state == StateUnused {
		return
	}
	was := mb.state
	if ok {
		mb.okRun, mb.badRun = mb.okRun+1, 0
		if mb.state != StateHealthy && mb.okRun >= g.hc.HealthyThreshold {
			mb.state, mb.reason, mb.description = StateHealthy, "", ""
		}
	} else {
		mb.okRun, mb.badRun = 0, mb.badRun+1
		if mb.state != StateUnhealthy && mb.badRun >= g.hc.UnhealthyThreshold {
			mb.state = StateUnhealthy
		}
		if mb.state == StateUnhealthy {
			mb.reason, mb.description = reason, desc
		}
	}
	if mb.state != was {
		g.publish()
	}
}

func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
