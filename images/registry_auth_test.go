package images

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bakehq/bake/internal/testenv"
)

func TestParseChallenges(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		headers []string
		want    []challenge
	}{
		{"docker hub", []string{`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"`},
			[]challenge{{"bearer", map[string]string{"realm": "https://auth.docker.io/token", "service": "registry.docker.io", "scope": "repository:samalba/my-app:pull,push"}}}},
		{"basic", []string{`Basic realm="Registry Realm"`}, []challenge{{"basic", map[string]string{"realm": "Registry Realm"}}}},
		{"two in one header", []string{`Basic realm="a, b", Bearer realm=https://x/token , service = "s"`},
			[]challenge{{"basic", map[string]string{"realm": "a, b"}}, {"bearer", map[string]string{"realm": "https://x/token", "service": "s"}}}},
		{"two headers", []string{`Basic realm="r"`, `bearer Realm="t"`},
			[]challenge{{"basic", map[string]string{"realm": "r"}}, {"bearer", map[string]string{"realm": "t"}}}},
		{"escapes", []string{`Bearer realm="a\"b\\c"`}, []challenge{{"bearer", map[string]string{"realm": `a"b\c`}}}},
		{"scheme only", []string{"Bearer"}, []challenge{{"bearer", map[string]string{}}}},
		{"unterminated quote", []string{`Bearer realm="x, Basic`}, []challenge{{"bearer", map[string]string{}}}},
		{"garbage", []string{`"realm"=x`}, nil},
		{"empty", []string{"", " , "}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := parseChallenges(tc.headers); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseChallenges(%q) = %#v, want %#v", tc.headers, got, tc.want)
			}
		})
	}
}

func FuzzParseChallenge(f *testing.F) {
	f.Add(`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull"`)
	f.Add(`Basic realm="a, b", Bearer realm=x`)
	f.Add(`Bearer realm="a\"b\\`)
	f.Add(`=,"`)
	f.Fuzz(func(t *testing.T, h string) {
		for _, c := range parseChallenges([]string{h}) {
			if c.Scheme == "" || strings.ToLower(c.Scheme) != c.Scheme || c.Params == nil {
				t.Fatalf("challenge %#v from %q", c, h)
			}
			if tok, rest := readToken(c.Scheme); tok != c.Scheme || rest != "" {
				t.Fatalf("scheme %q of %q is not a token", c.Scheme, h)
			}
			for k := range c.Params {
				if k == "" || strings.ToLower(k) != k {
					t.Fatalf("parameter %q from %q", k, h)
				}
			}
		}
	})
}

// noDockerConfig points DOCKER_CONFIG at an empty dir so that the
// developer's own credentials play no part.
func noDockerConfig(t *testing.T) string {
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	return dir
}

func writeDockerConfig(t *testing.T, host, user, password string) {
	dir := noDockerConfig(t)
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	b, _ := json.Marshal(map[string]any{"auths": map[string]any{host: map[string]string{"auth": auth}}})
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRegistryTokenFlow runs the token flow against a real
// docker-registry with auth: token and its token server.
func TestRegistryTokenFlow(t *testing.T) {
	reg := testenv.StartTokenRegistry(t, "alice", "s3cret-pw")
	ctx := context.Background()

	t.Run("credentials from the docker config", func(t *testing.T) {
		writeDockerConfig(t, reg.Host, "alice", "s3cret-pw")
		r := NewRegistry(reg.Host)
		before := reg.Issued()
		for i := 0; i < 3; i++ {
			tags, err := r.Tags(ctx, "team/none")
			if err != nil || tags != nil {
				t.Fatalf("tags of a missing repository = %v, %v; want none, no error", tags, err)
			}
		}
		if n := reg.Issued() - before; n != 1 {
			t.Errorf("%d tokens fetched for 3 pulls of one repository, want 1 (cached)", n)
		}
		if _, err := r.Tags(ctx, "team/other"); err != nil {
			t.Fatal(err)
		}
		if n := reg.Issued() - before; n != 2 {
			t.Errorf("%d tokens fetched for two scopes, want 2", n)
		}
		// A delete needs its own scope; the manifest is not there.
		err := r.DeleteManifest(ctx, "team/none", "sha256:"+strings.Repeat("0", 64))
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("delete of a missing manifest: %v, want not found", err)
		}
	})
	t.Run("credentials given", func(t *testing.T) {
		noDockerConfig(t)
		r := NewRegistry(reg.Host)
		r.User, r.Password = "alice", "s3cret-pw"
		if _, err := r.Tags(ctx, "team/none"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		writeDockerConfig(t, reg.Host, "alice", "wrong-pw-123")
		refused := reg.Refused()
		_, err := NewRegistry(reg.Host).Tags(ctx, "team/none")
		if err == nil {
			t.Fatal("no error with a wrong password")
		}
		msg := err.Error()
		for _, want := range []string{reg.Host, "docker login " + reg.Host, "repository:team/none:pull", "alice"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q does not say %q", msg, want)
			}
		}
		if strings.Contains(msg, "wrong-pw-123") {
			t.Errorf("error shows the password: %s", msg)
		}
		t.Logf("wrong password: %s", msg)
		if reg.Refused() == refused {
			t.Error("the token server saw no wrong credentials")
		}
	})
	t.Run("anonymous", func(t *testing.T) {
		noDockerConfig(t)
		_, err := NewRegistry(reg.Host).Tags(ctx, "team/none")
		if err == nil || !strings.Contains(err.Error(), "refused a fresh token for repository:team/none:pull") || !strings.Contains(err.Error(), "docker login "+reg.Host) {
			t.Fatalf("anonymous pull from a registry that wants credentials: %v", err)
		}
	})
}

// fakeAuthRegistry answers /v2/PATH/tags/list after auth; mode is
// "bearer" (tokens from /token as access_token) or "basic".
type fakeAuthRegistry struct {
	srv                 *httptest.Server
	mode                string
	tokens, tokenCalls  atomic.Int64
	refuseTokens        bool
	lastTokenAuthHeader atomic.Value
}

func newFakeAuthRegistry(t *testing.T, mode string) *fakeAuthRegistry {
	f := &fakeAuthRegistry{mode: mode}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/token" {
			f.tokenCalls.Add(1)
			f.lastTokenAuthHeader.Store(req.Header.Get("Authorization"))
			if req.URL.Query().Get("service") != "fake" || req.URL.Query().Get("scope") == "" {
				http.Error(w, "bad token request", http.StatusBadRequest)
				return
			}
			n := f.tokens.Add(1)
			fmt.Fprintf(w, `{"access_token":"tok-%d"}`, n)
			return
		}
		auth := req.Header.Get("Authorization")
		ok := false
		switch f.mode {
		case "bearer":
			ok = strings.HasPrefix(auth, "Bearer tok-") && !f.refuseTokens
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s/token",service="fake"`, f.srv.URL))
		case "basic":
			u, p, has := req.BasicAuth()
			ok = has && u == "bob" && p == "pw"
			w.Header().Set("WWW-Authenticate", `Basic realm="fake"`)
		}
		if !ok {
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
			return
		}
		w.Header().Del("WWW-Authenticate")
		fmt.Fprint(w, `{"tags":["v1"]}`)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAuthRegistry) host() string { return strings.TrimPrefix(f.srv.URL, "http://") }

func TestRegistryAuthFake(t *testing.T) {
	ctx := context.Background()
	t.Run("access_token, default lifetime, basic auth to the realm", func(t *testing.T) {
		f := newFakeAuthRegistry(t, "bearer")
		r := NewRegistry(f.host())
		r.User, r.Password = "bob", "pw"
		for i := 0; i < 2; i++ {
			if tags, err := r.Tags(ctx, "a/b"); err != nil || len(tags) != 1 {
				t.Fatalf("tags: %v, %v", tags, err)
			}
		}
		if n := f.tokenCalls.Load(); n != 1 {
			t.Errorf("%d token requests, want 1 (the token lasts 60 s by default)", n)
		}
		if h, _ := f.lastTokenAuthHeader.Load().(string); !strings.HasPrefix(h, "Basic ") {
			t.Errorf("token request sent %q, want basic auth", h)
		}
		// An expired token is not used again.
		r.mu.Lock()
		for k, v := range r.tokens {
			v.expires = v.expires.Add(-time.Minute)
			r.tokens[k] = v
		}
		r.mu.Unlock()
		if _, err := r.Tags(ctx, "a/b"); err != nil {
			t.Fatal(err)
		}
		if n := f.tokenCalls.Load(); n != 2 {
			t.Errorf("%d token requests after the token expired, want 2", n)
		}
	})
	t.Run("fresh token refused", func(t *testing.T) {
		f := newFakeAuthRegistry(t, "bearer")
		f.refuseTokens = true
		r := NewRegistry(f.host())
		r.User, r.Password = "bob", "pw"
		_, err := r.Tags(ctx, "a/b")
		if err == nil || !strings.Contains(err.Error(), f.host()) || !strings.Contains(err.Error(), "repository:a/b:pull") || strings.Contains(err.Error(), "tok-") {
			t.Fatalf("refused token: %v", err)
		}
		if n := f.tokenCalls.Load(); n != 1 {
			t.Errorf("%d token requests, want 1 (one retry)", n)
		}
	})
	t.Run("basic", func(t *testing.T) {
		f := newFakeAuthRegistry(t, "basic")
		r := NewRegistry(f.host())
		r.User, r.Password = "bob", "pw"
		if tags, err := r.Tags(ctx, "a/b"); err != nil || len(tags) != 1 {
			t.Fatalf("tags with basic auth: %v, %v", tags, err)
		}
		noDockerConfig(t)
		_, err := NewRegistry(f.host()).Tags(ctx, "a/b")
		if err == nil || !strings.Contains(err.Error(), "wants credentials") || !strings.Contains(err.Error(), "docker login "+f.host()) {
			t.Fatalf("basic registry without credentials: %v", err)
		}
	})
}
