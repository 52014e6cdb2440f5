package core

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Faults is the sim's fault injection for tests: latency and failures of
// named calls, and instances whose app is made unhealthy. Keys name a call
// as "service:Operation" (ec2:CreateImage, autoscaling:CreateAutoScalingGroup,
// elbv2:CreateListener; the SigV4 names such as elasticloadbalancing work
// too); "service:*" matches every operation of the service.
// Safe for concurrent use.
type Faults struct {
	mu        sync.Mutex
	latency   map[string]time.Duration
	fail      map[string]string // key -> error code
	unhealthy map[string]bool   // instance id
}

// NewFaults is a Faults injecting nothing.
func NewFaults() *Faults {
	return &Faults{latency: map[string]time.Duration{}, fail: map[string]string{}, unhealthy: map[string]bool{}}
}

// ParseLatency parses "svc:Op=duration" (the --latency flag).
func ParseLatency(spec string) (key string, d time.Duration, err error) {
	key, ds, ok := strings.Cut(spec, "=")
	if !ok || !validKey(key) {
		return "", 0, fmt.Errorf("latency %q: want service:Operation=duration, for example ec2:CreateImage=5s", spec)
	}
	d, err = time.ParseDuration(ds)
	if err != nil || d < 0 {
		return "", 0, fmt.Errorf("latency %q: %q is not a duration such as 500ms or 5s", spec, ds)
	}
	return key, d, nil
}

// ParseFail parses "svc:Op" or "svc:Op=ErrorCode" (the --fail flag). The
// default code is InternalError (HTTP 500).
func ParseFail(spec string) (key, code string, err error) {
	key, code, _ = strings.Cut(spec, "=")
	if !validKey(key) {
		return "", "", fmt.Errorf("fail %q: want service:Operation or service:Operation=ErrorCode, for example autoscaling:CreateAutoScalingGroup", spec)
	}
	return key, code, nil
}

func validKey(key string) bool {
	svc, op, ok := strings.Cut(key, ":")
	return ok && svc != "" && op != "" && !strings.ContainsAny(key, " =")
}

// SetLatency delays every call matching key by d (0 removes it).
func (f *Faults) SetLatency(key string, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d == 0 {
		delete(f.latency, key)
		return
	}
	f.latency[key] = d
}

// SetFail makes every call matching key fail with code ("" for
// InternalError); Clear undoes it.
func (f *Faults) SetFail(key, code string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if code == "" {
		code = "InternalError"
	}
	f.fail[key] = code
}

// Clear removes every latency and failure (not unhealthy instances).
func (f *Faults) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.latency)
	clear(f.fail)
}

// SetUnhealthy marks the app of an instance unhealthy (or healthy again).
// The load balancer's health checks fail for an unhealthy instance whatever
// it answers, as if its app had stopped.
func (f *Faults) SetUnhealthy(instanceID string, unhealthy bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if unhealthy {
		f.unhealthy[instanceID] = true
	} else {
		delete(f.unhealthy, instanceID)
	}
}

// Unhealthy reports whether the app of an instance was marked unhealthy.
func (f *Faults) Unhealthy(instanceID string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.unhealthy[instanceID]
}

func (f *Faults) keys(m *Model, op string) []string {
	names := []string{m.name, m.Metadata.EndpointPrefix}
	if m.Metadata.SigningName != "" {
		names = append(names, m.Metadata.SigningName)
	}
	var keys []string
	for _, n := range names {
		keys = append(keys, n+":"+op, n+":*")
	}
	return keys
}

// inject sleeps for the latency of the call and returns its failure.
func (f *Faults) inject(ctx context.Context, m *Model, op string) *Error {
	keys := f.keys(m, op)
	f.mu.Lock()
	var d time.Duration
	code := ""
	for _, k := range keys {
		if x, ok := f.latency[k]; ok && d == 0 {
			d = x
		}
		if c, ok := f.fail[k]; ok && code == "" {
			code = c
		}
	}
	f.mu.Unlock()
	if d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	if code == "" {
		return nil
	}
	status := http.StatusBadRequest
	if code == "InternalError" || code == "InternalFailure" || code == "ServiceUnavailable" {
		status = http.StatusInternalServerError
		if code == "ServiceUnavailable" {
			status = http.StatusServiceUnavailable
		}
	}
	return &Error{Code: code, Message: fmt.Sprintf("bake sim: injected failure of %s:%s", m.name, op), Status: status}
}

// serveAdmin serves the sim's own endpoints under /_sim/:
//
//	GET  /_sim/health                               200 "ok"
//	POST /_sim/faults?latency=svc:Op=dur&fail=svc:Op[=Code]
//	POST /_sim/faults?clear=1
//	POST /_sim/instances/{id}/unhealthy?value=true|false
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	f := s.cfg.Faults
	path := strings.TrimPrefix(r.URL.Path, "/_sim/")
	q := r.URL.Query()
	switch {
	case path == "health":
		fmt.Fprintln(w, "ok")
	case path == "faults" && r.Method == http.MethodPost:
		if q.Get("clear") != "" {
			f.Clear()
		}
		for _, spec := range q["latency"] {
			key, d, err := ParseLatency(spec)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			f.SetLatency(key, d)
		}
		for _, spec := range q["fail"] {
			key, code, err := ParseFail(spec)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			f.SetFail(key, code)
		}
		fmt.Fprintln(w, "ok")
	case strings.HasPrefix(path, "instances/") && strings.HasSuffix(path, "/unhealthy") && r.Method == http.MethodPost:
		id := strings.TrimSuffix(strings.TrimPrefix(path, "instances/"), "/unhealthy")
		f.SetUnhealthy(id, q.Get("value") != "false")
		fmt.Fprintln(w, "ok")
	default:
		http.NotFound(w, r)
	}
}
