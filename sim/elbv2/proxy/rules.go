package proxy

import (
	"net"
	"net/http"
	"strings"
)

// Rule is one listener rule as the data plane sees it: a request matches
// when its host matches one of Hosts (if any) and its path one of Paths
// (if any); it then goes to Forward instead of the default action. Rules
// are given to SetRules in priority order.
type Rule struct {
	Hosts   []string // host-header patterns: case-insensitive, * and ? wildcards
	Paths   []string // path-pattern patterns: case-sensitive, * and ? wildcards
	Forward []Weighted
}

// rule is a Rule compiled once, when the rules change, so that matching a
// request allocates nothing.
type rule struct {
	hosts []pattern
	paths []pattern
	fwd   *forward
}

// pattern is one condition value, sorted by the cheapest way to match it:
// a plain compare, a suffix (*.example.com), a prefix (/api/*) or a glob.
type pattern struct {
	s    string
	kind patternKind
}

type patternKind uint8

const (
	exact patternKind = iota
	suffix
	prefix
	glob
)

func compile(values []string, fold bool) []pattern {
	out := make([]pattern, 0, len(values))
	for _, v := range values {
		if fold {
			v = strings.ToLower(v)
		}
		p := pattern{s: v, kind: glob}
		switch n := strings.Count(v, "*") + strings.Count(v, "?"); {
		case n == 0:
			p.kind = exact
		case n == 1 && v[0] == '*':
			p.s, p.kind = v[1:], suffix
		case n == 1 && v[len(v)-1] == '*':
			p.s, p.kind = v[:len(v)-1], prefix
		}
		out = append(out, p)
	}
	return out
}

func (p pattern) match(s string) bool {
	switch p.kind {
	case exact:
		return p.s == s
	case suffix:
		return strings.HasSuffix(s, p.s)
	case prefix:
		return strings.HasPrefix(s, p.s)
	}
	return globMatch(p.s, s)
}

// globMatch matches s against pat, where * is any run of characters and ?
// any one character, in linear time (one backtrack point, as for *).
func globMatch(pat, s string) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(pat) && pat[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(pat) && (pat[pi] == '?' || pat[pi] == s[si]):
			pi++
			si++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(pat) && pat[pi] == '*' {
		pi++
	}
	return pi == len(pat)
}

func anyMatch(ps []pattern, s string) bool {
	if len(ps) == 0 {
		return true
	}
	for _, p := range ps {
		if p.match(s) {
			return true
		}
	}
	return false
}

// SetRules replaces the listener's rules (in priority order); requests
// that match none go to the default action. One atomic swap, like
// SetForward.
func (l *Listener) SetRules(rules []Rule) {
	l.mu.Lock()
	defer l.mu.Unlock()
	next := make([]rule, 0, len(rules))
	for _, r := range rules {
		next = append(next, rule{hosts: compile(r.Hosts, true), paths: compile(r.Paths, false), fwd: newForward(r.Forward)})
	}
	old := l.rules.Swap(&next)
	if old != nil {
		for _, r := range *old {
			r.fwd.release()
		}
	}
}

// route is the forward action for r: the first rule it matches, else the
// default action.
func (l *Listener) route(r *http.Request) *forward {
	rules := *l.rules.Load()
	if len(rules) == 0 {
		return l.fwd.Load()
	}
	host := requestHost(r.Host)
	for i := range rules {
		ru := &rules[i]
		if anyMatch(ru.hosts, host) && anyMatch(ru.paths, r.URL.Path) {
			return ru.fwd
		}
	}
	return l.fwd.Load()
}

// requestHost is the Host header without its port, lower-cased (host
// conditions ignore case). It allocates only when the host has capitals.
func requestHost(h string) string {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
		if host, _, err := net.SplitHostPort(h); err == nil {
			h = host
		}
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}
