// Package proxy is the data plane of the sim's Application Load Balancers:
// target groups whose members move through the health states ELBv2 reports
// (initial, healthy, unhealthy, draining, unused) under real HTTP health
// checks, and listeners that reverse-proxy HTTP to the healthy members of
// one or of several weighted target groups.
//
// The control plane (sim/elbv2) owns names, ARNs and validation; this
// package only moves bytes and keeps health.
package proxy

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// State is a target's health state, spelled as DescribeTargetHealth spells it.
type State string

// The states a registered target moves through.
const (
	StateInitial   State = "initial"
	StateHealthy   State = "healthy"
	StateUnhealthy State = "unhealthy"
	StateUnused    State = "unused"
	StateDraining  State = "draining"
)

// Reason codes, as ELBv2 reports them in TargetHealth.Reason.
const (
	ReasonInitialHealthChecking = "Elb.InitialHealthChecking"
	ReasonResponseCodeMismatch  = "Target.ResponseCodeMismatch"
	ReasonTimeout               = "Target.Timeout"
	ReasonFailedHealthChecks    = "Target.FailedHealthChecks"
	ReasonNotInUse              = "Target.NotInUse"
	ReasonDeregistration        = "Target.DeregistrationInProgress"
	ReasonNotRegistered         = "Target.NotRegistered"
)

// HealthCheck is a target group's health check, in ELBv2's terms.
type HealthCheck struct {
	Path               string        // "/" by default
	Port               int           // 0 checks the traffic port
	Interval           time.Duration // 30s by default
	Timeout            time.Duration // 5s by default
	HealthyThreshold   int           // consecutive successes to turn healthy; 5 by default
	UnhealthyThreshold int           // consecutive failures to turn unhealthy; 2 by default
	Matcher            string        // HTTP codes: "200", "200,302", "200-299"; "200" by default
}

// DefaultHealthCheck is what CreateTargetGroup uses for an HTTP target
// group when the caller sets nothing.
func DefaultHealthCheck() HealthCheck {
	return HealthCheck{
		Path:               "/",
		Interval:           30 * time.Second,
		Timeout:            5 * time.Second,
		HealthyThreshold:   5,
		UnhealthyThreshold: 2,
		Matcher:            "200",
	}
}

// Validate reports the first setting ELBv2 would refuse.
func (hc HealthCheck) Validate() error {
	switch {
	case !strings.HasPrefix(hc.Path, "/"):
		return fmt.Errorf("health check path %q must start with /", hc.Path)
	case hc.Port < 0 || hc.Port > 65535:
		return fmt.Errorf("health check port %d must be between 1 and 65535", hc.Port)
	case hc.Interval <= 0:
		return errors.New("health check interval must be positive")
	case hc.Timeout <= 0:
		return errors.New("health check timeout must be positive")
	case hc.Timeout >= hc.Interval:
		return fmt.Errorf("health check timeout (%s) must be smaller than the interval (%s)", hc.Timeout, hc.Interval)
	case hc.HealthyThreshold < 2 || hc.HealthyThreshold > 10:
		return fmt.Errorf("healthy threshold %d must be between 2 and 10", hc.HealthyThreshold)
	case hc.UnhealthyThreshold < 2 || hc.UnhealthyThreshold > 10:
		return fmt.Errorf("unhealthy threshold %d must be between 2 and 10", hc.UnhealthyThreshold)
	}
	if _, err := ParseMatcher(hc.Matcher); err != nil {
		return err
	}
	return nil
}

// Matcher is a parsed set of HTTP codes a health check accepts.
type Matcher []codeRange

type codeRange struct{ lo, hi int }

// ParseMatcher parses ELBv2's HttpCode syntax: codes and ranges separated
// by commas, each code between 200 and 499.
func ParseMatcher(s string) (Matcher, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("health check matcher is empty; give HTTP codes such as 200 or 200-299")
	}
	var m Matcher
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := parseCode(lo)
		if err != nil {
			return nil, fmt.Errorf("health check matcher %q: %w", s, err)
		}
		b := a
		if isRange {
			if b, err = parseCode(hi); err != nil {
				return nil, fmt.Errorf("health check matcher %q: %w", s, err)
			}
			if b < a {
				return nil, fmt.Errorf("health check matcher %q: range %s is backwards", s, part)
			}
		}
		m = append(m, codeRange{a, b})
	}
	return m, nil
}

func parseCode(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not an HTTP code", s)
	}
	if n < 200 || n > 499 {
		return 0, fmt.Errorf("HTTP code %d must be between 200 and 499", n)
	}
	return n, nil
}

// Match reports whether code is one the matcher accepts.
func (m Matcher) Match(code int) bool {
	for _, r := range m {
		if code >= r.lo && code <= r.hi {
			return true
		}
	}
	return false
}
