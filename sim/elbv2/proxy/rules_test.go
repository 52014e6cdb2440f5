package proxy

import (
	"net/http/httptest"
	"strconv"
	"testing"
)

func TestGlobMatch(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		pat, s string
		want   bool
	}{
		{"a.test", "a.test", true},
		{"*.a.test", "www.a.test", true},
		{"*.a.test", "a.test", false},
		{"/api/*", "/api/", true},
		{"/api/*", "/api", false},
		{"/v?/x", "/v2/x", true},
		{"/v?/x", "/v22/x", false},
		{"*", "", true},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
		{"**?", "x", true},
		{"?", "", false},
	} {
		if got := globMatch(c.pat, c.s); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", c.pat, c.s, got, c.want)
		}
		if got := compile([]string{c.pat}, false)[0].match(c.s); got != c.want {
			t.Errorf("compiled %q matching %q = %v, want %v", c.pat, c.s, got, c.want)
		}
	}
}

func FuzzGlobMatch(f *testing.F) {
	f.Add("*.a.test", "www.a.test")
	f.Add("/v?/*", "/v2/x/y")
	f.Fuzz(func(t *testing.T, pat, s string) {
		if !globMatch(pat, pat) {
			t.Fatalf("%q does not match itself", pat)
		}
		if !containsWild(pat) && globMatch(pat, s) != (pat == s) {
			t.Fatalf("plain %q against %q", pat, s)
		}
		if globMatch("*", s) != true {
			t.Fatalf("* does not match %q", s)
		}
		if got, want := compile([]string{pat}, false)[0].match(s), globMatch(pat, s); got != want {
			t.Fatalf("compiled %q matching %q = %v, glob says %v", pat, s, got, want)
		}
	})
}

func containsWild(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '*' || s[i] == '?' {
			return true
		}
	}
	return false
}

func TestRequestHost(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"a.test": "a.test", "A.Test:8080": "a.test", "127.0.0.1:80": "127.0.0.1", "[::1]": "[::1]", "[::1]:80": "::1"} {
		if got := requestHost(in); got != want {
			t.Errorf("requestHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRouteByRules(t *testing.T) {
	t.Parallel()
	l := &Listener{}
	l.fwd.Store(&forward{})
	l.rules.Store(&[]rule{})
	dflt := l.fwd.Load()
	if got := l.route(httptest.NewRequest("GET", "http://x.test/", nil)); got != dflt {
		t.Fatal("no rules: not the default action")
	}
	l.SetRules([]Rule{{Paths: []string{"/api/*"}}, {Hosts: []string{"*.A.test"}}, {Hosts: []string{"b.test"}, Paths: []string{"/b"}}})
	rules := *l.rules.Load()
	for _, c := range []struct {
		url  string
		want *forward
	}{
		{"http://x.test/api/v1", rules[0].fwd},
		{"http://WWW.a.test:8080/", rules[1].fwd},
		{"http://www.a.test/api/", rules[0].fwd}, // priority order
		{"http://b.test/b", rules[2].fwd},
		{"http://b.test/c", dflt}, // both conditions must hold
		{"http://a.test/", dflt},
	} {
		if got := l.route(httptest.NewRequest("GET", c.url, nil)); got != c.want {
			t.Errorf("%s: routed to the wrong action", c.url)
		}
	}
}

// BenchmarkRoute is the per-request cost of choosing an action: none
// without rules, and the price of walking ten host rules to the last.
func BenchmarkRoute(b *testing.B) {
	for _, n := range []int{0, 10} {
		b.Run(strconv.Itoa(n)+" rules", func(b *testing.B) {
			l := &Listener{}
			l.fwd.Store(&forward{})
			l.rules.Store(&[]rule{})
			var rs []Rule
			for i := 0; i < n; i++ {
				rs = append(rs, Rule{Hosts: []string{"svc" + strconv.Itoa(i) + ".example.com", "*.svc" + strconv.Itoa(i) + ".example.com"}})
			}
			l.SetRules(rs)
			req := httptest.NewRequest("GET", "http://svc9.example.com:80/path", nil)
			b.ReportAllocs()
			for b.Loop() {
				_ = l.route(req)
			}
		})
	}
}
