package proxy

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fast is a health check quick enough for tests.
func fast() HealthCheck {
	return HealthCheck{Path: "/health", Interval: 40 * time.Millisecond, Timeout: 30 * time.Millisecond,
		HealthyThreshold: 2, UnhealthyThreshold: 2, Matcher: "200-299"}
}

// backend is an httptest server that names itself in its answers and
// whose health endpoint answers with a code the test controls.
type backend struct {
	*httptest.Server
	name   string
	health atomic.Int64 // HTTP code /health answers with
	hits   atomic.Int64
	delay  atomic.Int64 // nanoseconds every non-health request waits
}

func newBackend(t *testing.T, name string) *backend {
	t.Helper()
	b := &backend{name: name}
	b.health.Store(200)
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			w.WriteHeader(int(b.health.Load()))
			return
		}
		b.hits.Add(1)
		if d := time.Duration(b.delay.Load()); d > 0 {
			time.Sleep(d)
		}
		fmt.Fprintf(w, "%s %s", b.name, r.Header.Get("X-Forwarded-For"))
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *backend) target() Target {
	host, port, _ := net.SplitHostPort(b.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	return Target{ID: b.name, Host: host, Port: p}
}

func newGroup(t *testing.T, hc HealthCheck, delay time.Duration, bs ...*backend) *Group {
	t.Helper()
	g, err := NewGroup(hc, delay)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	for _, b := range bs {
		g.Register(b.target())
	}
	return g
}

func listen(t *testing.T, fwd ...Weighted) *Listener {
	t.Helper()
	l, err := Listen("127.0.0.1:0", fwd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := l.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return l
}

func waitState(t *testing.T, g *Group, id string, want State) TargetHealth {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, h := range g.Health() {
			if h.Target.ID == id && h.State == want {
				return h
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("target %s never became %s; health: %+v", id, want, g.Health())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

func TestParseMatcher(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		ok, no  []int
		wantErr bool
	}{
		{in: "200", ok: []int{200}, no: []int{201, 500}},
		{in: "200,302", ok: []int{200, 302}, no: []int{301}},
		{in: "200-299", ok: []int{200, 250, 299}, no: []int{300, 199}},
		{in: " 200 - 204 , 404", ok: []int{204, 404}, no: []int{205}},
		{in: "", wantErr: true},
		{in: "abc", wantErr: true},
		{in: "500", wantErr: true},
		{in: "299-200", wantErr: true},
		{in: "200-", wantErr: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			m, err := ParseMatcher(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseMatcher(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			}
			for _, c := range tc.ok {
				if !m.Match(c) {
					t.Errorf("%q does not match %d", tc.in, c)
				}
			}
			for _, c := range tc.no {
				if m.Match(c) {
					t.Errorf("%q matches %d", tc.in, c)
				}
			}
		})
	}
}

func FuzzParseMatcher(f *testing.F) {
	for _, s := range []string{"200", "200-299", "200,302", "", "-", "1-2-3", "499,200-201"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMatcher(s)
		if err != nil {
			return
		}
		for _, r := range m {
			if r.lo < 200 || r.hi > 499 || r.lo > r.hi {
				t.Fatalf("%q parsed to bad range %v", s, r)
			}
		}
	})
}

func TestHealthCheckValidate(t *testing.T) {
	t.Parallel()
	if err := DefaultHealthCheck().Validate(); err != nil {
		t.Fatalf("default health check invalid: %v", err)
	}
	bad := map[string]func(*HealthCheck){
		"path":      func(h *HealthCheck) { h.Path = "health" },
		"timeout":   func(h *HealthCheck) { h.Timeout = h.Interval },
		"healthy":   func(h *HealthCheck) { h.HealthyThreshold = 1 },
		"unhealthy": func(h *HealthCheck) { h.UnhealthyThreshold = 11 },
		"matcher":   func(h *HealthCheck) { h.Matcher = "600" },
		"port":      func(h *HealthCheck) { h.Port = 70000 },
	}
	for name, mut := range bad {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			hc := DefaultHealthCheck()
			mut(&hc)
			if err := hc.Validate(); err == nil {
				t.Errorf("%+v validated", hc)
			}
		})
	}
}

func TestTargetsAreUnusedUntilAListenerForwards(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "i-a")
	g := newGroup(t, fast(), time.Second, b)
	if h := g.Health()[0]; h.State != StateUnused || h.Reason != ReasonNotInUse {
		t.Fatalf("registered target in unused group = %+v, want unused/%s", h, ReasonNotInUse)
	}
	l := listen(t, Weighted{g, 1})
	waitState(t, g, "i-a", StateHealthy)
	l.SetForward(nil)
	waitState(t, g, "i-a", StateUnused)
}

func TestHealthStates(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		setup    func(*backend)
		hc       func(*HealthCheck)
		want     State
		reason   string
		describe string
	}{
		{name: "healthy", setup: func(*backend) {}, want: StateHealthy},
		{name: "code mismatch", setup: func(b *backend) { b.health.Store(500) }, want: StateUnhealthy,
			reason: ReasonResponseCodeMismatch, describe: "Health checks failed with these codes: [500]"},
		{name: "matcher allows 404", setup: func(b *backend) { b.health.Store(404) },
			hc: func(h *HealthCheck) { h.Matcher = "200,404" }, want: StateHealthy},
		{name: "wrong path", setup: func(*backend) {}, hc: func(h *HealthCheck) { h.Path = "/nothing-here" },
			want: StateHealthy}, // the backend answers 200 on every other path
		{name: "refused", setup: func(b *backend) { b.Close() }, want: StateUnhealthy, reason: ReasonFailedHealthChecks},
		{name: "timeout", setup: func(*backend) {}, hc: func(h *HealthCheck) { h.Path = "/slow" }, want: StateUnhealthy,
			reason: ReasonTimeout, describe: "Request timed out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newBackend(t, "i-"+strconv.Itoa(len(tc.name)))
			b.delay.Store(int64(200 * time.Millisecond)) // only /slow and other non-health paths wait
			tc.setup(b)
			hc := fast()
			if tc.hc != nil {
				tc.hc(&hc)
			}
			g := newGroup(t, hc, time.Second, b)
			if tc.name == "wrong path" {
				b.delay.Store(0)
			}
			listen(t, Weighted{g, 1})
			if h := g.Health()[0]; h.State != StateInitial || h.Reason != ReasonInitialHealthChecking {
				t.Errorf("fresh target = %+v, want initial", h)
			}
			h := waitState(t, g, b.name, tc.want)
			if h.Reason != tc.reason {
				t.Errorf("reason = %q, want %q", h.Reason, tc.reason)
			}
			if tc.describe != "" && h.Description != tc.describe {
				t.Errorf("description = %q, want %q", h.Description, tc.describe)
			}
		})
	}
}

func TestThresholdsMoveBothWays(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "i-a")
	g := newGroup(t, fast(), time.Second, b)
	listen(t, Weighted{g, 1})
	waitState(t, g, "i-a", StateHealthy)
	b.health.Store(503)
	h := waitState(t, g, "i-a", StateUnhealthy)
	if h.Description != "Health checks failed with these codes: [503]" {
		t.Errorf("description = %q", h.Description)
	}
	b.health.Store(200)
	waitState(t, g, "i-a", StateHealthy)
}

func TestForwardsOnlyToHealthyTargets(t *testing.T) {
	t.Parallel()
	good, bad := newBackend(t, "i-good"), newBackend(t, "i-bad")
	bad.health.Store(500)
	hc := fast()
	hc.Interval = 400 * time.Millisecond // the first request lands between the first two checks
	g := newGroup(t, hc, time.Second, good, bad)
	l := listen(t, Weighted{g, 1})
	url := "http://" + l.Addr() + "/"

	if code, _ := get(t, http.DefaultClient, url); code != http.StatusServiceUnavailable {
		t.Fatalf("before any target is healthy: status %d, want 503", code)
	}
	waitState(t, g, "i-good", StateHealthy)
	waitState(t, g, "i-bad", StateUnhealthy)
	for range 20 {
		code, body := get(t, http.DefaultClient, url)
		if code != 200 || body[:6] != "i-good" {
			t.Fatalf("got %d %q, want 200 from i-good", code, body)
		}
	}
	if bad.hits.Load() != 0 {
		t.Errorf("unhealthy target got %d requests", bad.hits.Load())
	}
}

func TestRoundRobinReachesEveryHealthyTarget(t *testing.T) {
	t.Parallel()
	a, b := newBackend(t, "i-a"), newBackend(t, "i-b")
	g := newGroup(t, fast(), time.Second, a, b)
	l := listen(t, Weighted{g, 1})
	waitState(t, g, "i-a", StateHealthy)
	waitState(t, g, "i-b", StateHealthy)
	for range 10 {
		get(t, http.DefaultClient, "http://"+l.Addr()+"/")
	}
	if a.hits.Load() != 5 || b.hits.Load() != 5 {
		t.Errorf("hits a=%d b=%d, want 5 each", a.hits.Load(), b.hits.Load())
	}
}

func TestWeightedForwarding(t *testing.T) {
	t.Parallel()
	blue, green := newBackend(t, "i-blue"), newBackend(t, "i-green")
	gb := newGroup(t, fast(), time.Second, blue)
	gg := newGroup(t, fast(), time.Second, green)
	l := listen(t, Weighted{gb, 80}, Weighted{gg, 20})
	waitState(t, gb, "i-blue", StateHealthy)
	waitState(t, gg, "i-green", StateHealthy)
	const n = 1000
	for range n {
		get(t, http.DefaultClient, "http://"+l.Addr()+"/")
	}
	// 80/20 of 1000: the green share is binomial with sd ~12.6; 5 sd either way.
	if g := green.hits.Load(); g < 137 || g > 263 {
		t.Errorf("green got %d of %d requests at weight 20/100", g, n)
	}
	l.SetForward([]Weighted{{gb, 0}, {gg, 1}})
	before := blue.hits.Load()
	for range 50 {
		get(t, http.DefaultClient, "http://"+l.Addr()+"/")
	}
	if blue.hits.Load() != before {
		t.Errorf("weight 0 group got %d requests", blue.hits.Load()-before)
	}
}

func TestDrainingWaitsForInFlightRequests(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "i-a")
	g := newGroup(t, fast(), 10*time.Second, b)
	l := listen(t, Weighted{g, 1})
	waitState(t, g, "i-a", StateHealthy)

	b.delay.Store(int64(300 * time.Millisecond))
	done := make(chan int, 1)
	go func() {
		resp, err := http.Get("http://" + l.Addr() + "/")
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	for b.hits.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	g.Deregister(b.target())
	h := g.Health()
	if len(h) != 1 || h[0].State != StateDraining || h[0].Reason != ReasonDeregistration {
		t.Fatalf("health after deregister = %+v, want draining", h)
	}
	if code, _ := get(t, http.DefaultClient, "http://"+l.Addr()+"/"); code != http.StatusServiceUnavailable {
		t.Errorf("new request while the only target drains: %d, want 503", code)
	}
	if code := <-done; code != 200 {
		t.Errorf("in-flight request through a drain: status %d, want 200", code)
	}
	deadline := time.Now().Add(2 * time.Second)
	for len(g.Health()) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("target still present after its in-flight request finished: %+v", g.Health())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDrainingEndsAtTheDeregistrationDelay(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "i-a")
	g := newGroup(t, fast(), 200*time.Millisecond, b)
	l := listen(t, Weighted{g, 1})
	waitState(t, g, "i-a", StateHealthy)
	b.delay.Store(int64(2 * time.Second))
	go func() {
		if resp, err := http.Get("http://" + l.Addr() + "/"); err == nil {
			resp.Body.Close()
		}
	}()
	for b.hits.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	g.Deregister(b.target())
	for len(g.Health()) != 0 {
		if time.Since(start) > 1500*time.Millisecond {
			t.Fatalf("target still draining %s after a 200ms delay", time.Since(start))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if time.Since(start) < 150*time.Millisecond {
		t.Errorf("drain ended after %s, before the delay, with a request in flight", time.Since(start))
	}
}

func TestReregisterDuringDrain(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "i-a")
	g := newGroup(t, fast(), 10*time.Second, b)
	listen(t, Weighted{g, 1})
	waitState(t, g, "i-a", StateHealthy)
	b.delay.Store(int64(time.Second))
	g.mu.Lock()
	g.members[b.target().key()].inflight.Add(1) // hold the drain open
	g.mu.Unlock()
	g.Deregister(b.target())
	g.Register(b.target())
	waitState(t, g, "i-a", StateHealthy)
}

// TestListenerSwitchLosesNoRequests moves all traffic between two target
// groups back and forth while clients keep requesting: not one request may
// fail.
func TestListenerSwitchLosesNoRequests(t *testing.T) {
	t.Parallel()
	blue, green := newBackend(t, "i-blue"), newBackend(t, "i-green")
	blue.delay.Store(int64(2 * time.Millisecond))
	green.delay.Store(int64(2 * time.Millisecond))
	gb := newGroup(t, fast(), time.Second, blue)
	gg := newGroup(t, fast(), time.Second, green)
	l := listen(t, Weighted{gb, 1})
	// a second listener keeps both groups in use, as a blue/green test
	// listener does, so neither drops back to unused and initial
	listen(t, Weighted{gb, 1}, Weighted{gg, 1})
	waitState(t, gb, "i-blue", StateHealthy)
	waitState(t, gg, "i-green", StateHealthy)

	var failed, total atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for range 4 {
		wg.Go(func() {
			for i := 0; i < 2000; i++ { // bounded: stops at 2000 or when told
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Get("http://" + l.Addr() + "/")
				total.Add(1)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
				}
			}
		})
	}
	for i := range 20 {
		time.Sleep(15 * time.Millisecond)
		if i%2 == 0 {
			l.SetForward([]Weighted{{gg, 1}})
		} else {
			l.SetForward([]Weighted{{gb, 1}, {gg, 1}})
		}
	}
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		t.Errorf("%d of %d requests failed across 20 listener switches", failed.Load(), total.Load())
	}
	if blue.hits.Load() == 0 || green.hits.Load() == 0 {
		t.Errorf("hits blue=%d green=%d; both should have served", blue.hits.Load(), green.hits.Load())
	}
}

func TestProxySetsForwardedHeaders(t *testing.T) {
	t.Parallel()
	var got http.Header
	var host string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			got, host = r.Header.Clone(), r.Host
		}
	}))
	t.Cleanup(srv.Close)
	h, p, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(p)
	g := newGroup(t, fast(), time.Second)
	g.Register(Target{ID: "i-a", Host: h, Port: port})
	l := listen(t, Weighted{g, 1})
	waitState(t, g, "i-a", StateHealthy)
	req, _ := http.NewRequest("GET", "http://"+l.Addr()+"/x", nil)
	req.Host = "app.example.com"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, lport, _ := net.SplitHostPort(l.Addr())
	if host != "app.example.com" || got.Get("X-Forwarded-For") != "127.0.0.1" ||
		got.Get("X-Forwarded-Proto") != "http" || got.Get("X-Forwarded-Port") != lport {
		t.Errorf("host %q headers %v", host, got)
	}
}

func TestUnreachableTargetIs502(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "i-a")
	g := newGroup(t, fast(), time.Second, b)
	l := listen(t, Weighted{g, 1})
	waitState(t, g, "i-a", StateHealthy)
	b.Close() // gone between checks: the next request fails before health notices
	resp, err := http.Get("http://" + l.Addr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway && resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 502 (or 503 once health noticed)", resp.StatusCode)
	}
	if resp.Header.Get("Server") != "awselb/2.0" {
		t.Errorf("Server header %q, want awselb/2.0", resp.Header.Get("Server"))
	}
}

func TestForcedUnhealthy(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "i-a")
	g := newGroup(t, fast(), time.Second, b)
	listen(t, Weighted{g, 1})
	waitState(t, g, "i-a", StateHealthy)
	var forced atomic.Bool
	forced.Store(true)
	g.SetForcedUnhealthy(func(id string) bool { return id == "i-a" && forced.Load() })
	if h := waitState(t, g, "i-a", StateUnhealthy); h.Reason != ReasonFailedHealthChecks {
		t.Errorf("reason %q", h.Reason)
	}
	forced.Store(false)
	waitState(t, g, "i-a", StateHealthy)
}
