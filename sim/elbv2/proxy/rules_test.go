package proxy

import "testing"

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
		_ = globMatch(pat, s)
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
