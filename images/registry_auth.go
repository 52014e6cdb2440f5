package images

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/credentials"
	"github.com/docker/docker/api/types/registry"
)

// DockerConfigAuth reads the credentials the docker CLI keeps for host:
// $DOCKER_CONFIG/config.json (default ~/.docker/config.json), its auths
// entry or the credential helper it names. DOCKER_CONFIG is read on every
// call. No entry gives empty credentials and no error.
func DockerConfigAuth(host string) (registry.AuthConfig, error) {
	key := host
	if host == "docker.io" || host == "index.docker.io" || host == "registry-1.docker.io" {
		key = "https://index.docker.io/v1/"
	}
	dir := os.Getenv(config.EnvOverrideConfigDir)
	cf, err := config.Load(dir)
	if err != nil {
		return registry.AuthConfig{}, fmt.Errorf("read credentials for %s from the docker config: %w (fix or remove %s)", host, err, cf.Filename)
	}
	if !cf.ContainsAuth() {
		cf.CredentialsStore = credentials.DetectDefaultStore(cf.CredentialsStore)
	}
	ac, err := cf.GetAuthConfig(key)
	if err != nil {
		return registry.AuthConfig{}, fmt.Errorf("read credentials for %s from the docker config %s: %w", host, filepath.Dir(cf.Filename), err)
	}
	return registry.AuthConfig{
		Username: ac.Username, Password: ac.Password, Auth: ac.Auth,
		ServerAddress: ac.ServerAddress, IdentityToken: ac.IdentityToken, RegistryToken: ac.RegistryToken,
	}, nil
}

// challenge is one challenge of a WWW-Authenticate header.
type challenge struct {
	Scheme string            // lower case: "basic", "bearer"
	Params map[string]string // keys lower case, values unquoted
}

// parseChallenges parses WWW-Authenticate header values (RFC 7235):
// challenges are a scheme followed by comma-separated key=value or
// key="quoted value" parameters, and several may share one header. It
// stops at the first thing it cannot read and returns what it read.
func parseChallenges(headers []string) []challenge {
	var out []challenge
	for _, h := range headers {
		var cur *challenge
		s := h
		for {
			s = strings.TrimLeft(s, " \t,")
			if s == "" {
				break
			}
			tok, rest := readToken(s)
			if tok == "" {
				break
			}
			rest = strings.TrimLeft(rest, " \t")
			if cur != nil && strings.HasPrefix(rest, "=") {
				rest = strings.TrimLeft(rest[1:], " \t")
				var v string
				if strings.HasPrefix(rest, `"`) {
					var ok bool
					if v, rest, ok = readQuoted(rest); !ok {
						break
					}
				} else {
					i := strings.IndexAny(rest, ", \t")
					if i < 0 {
						i = len(rest)
					}
					v, rest = rest[:i], rest[i:]
				}
				cur.Params[strings.ToLower(tok)] = v
				s = rest
				continue
			}
			out = append(out, challenge{Scheme: strings.ToLower(tok), Params: map[string]string{}})
			cur = &out[len(out)-1]
			s = rest
		}
	}
	return out
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func readToken(s string) (tok, rest string) {
	i := 0
	for i < len(s) && isTokenChar(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

// readQuoted reads a quoted-string at the start of s (which begins with
// a quote), undoing backslash escapes.
func readQuoted(s string) (v, rest string, ok bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), s[i+1:], true
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "", false
}

// scopeFor is the token scope a call needs on the repository path.
func scopeFor(method, path string) string {
	switch method {
	case http.MethodGet, http.MethodHead:
		return "repository:" + path + ":pull"
	case http.MethodDelete:
		return "repository:" + path + ":delete"
	}
	return "repository:" + path + ":pull,push"
}

// token is a bearer token and when to stop using it.
type token struct {
	value   string
	expires time.Time
}

// credentials are the user and password sent to the registry (Basic) or
// to its token server: the Registry's own, else the docker config's.
func (r *Registry) credentials() (user, password string, err error) {
	if r.User != "" {
		return r.User, r.Password, nil
	}
	r.credsOnce.Do(func() {
		ac, err := DockerConfigAuth(r.Host)
		if err != nil {
			r.credsErr = err
			return
		}
		r.confUser, r.confPassword = ac.Username, ac.Password
	})
	return r.confUser, r.confPassword, r.credsErr
}

// cachedToken is a token for scope that has not expired.
func (r *Registry) cachedToken(scope string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.tokens[scope]
	if !ok || !time.Now().Before(t.expires) {
		return ""
	}
	return t.value
}

func (r *Registry) wantsBearer() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bearer
}

// loginHint says what to do when the registry refuses bake.
func (r *Registry) loginHint() string {
	return fmt.Sprintf("run docker login %s, or set login_username and login_password in the source", r.Host)
}

// fetchToken gets a token for scope from the token server c names (the
// distribution token flow), sending basic auth when credentials are
// known, and caches it for scope until it expires.
func (r *Registry) fetchToken(ctx context.Context, c challenge, scope string) (string, error) {
	realm := c.Params["realm"]
	u, err := url.Parse(realm)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("registry %s names a token server bake cannot use (realm %q): want an http(s) URL", r.Host, realm)
	}
	user, password, err := r.credentials()
	if err != nil {
		return "", err
	}
	if user != "" && u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return "", fmt.Errorf("registry %s asks for credentials over plain HTTP at %s; bake sends them over HTTPS only", r.Host, u.Host)
	}
	q := u.Query()
	if s := c.Params["service"]; s != "" {
		q.Set("service", s)
	}
	want := scope
	if s := c.Params["scope"]; s != "" {
		want = s
	}
	q.Set("scope", want)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("token for %s from %s: %w", want, u.Host, err)
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := r.Client.Do(req)
	if err != nil {
		return "", fmt.Errorf("get a token for %s on registry %s from %s: %w", want, r.Host, u.Host, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("get a token for %s on registry %s from %s: read answer: %w", want, r.Host, u.Host, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		who := "anonymous access"
		if user != "" {
			who = "the credentials of " + user
		}
		return "", fmt.Errorf("registry %s: its token server %s refused %s for %s (%s): %s", r.Host, u.Host, who, want, resp.Status, r.loginHint())
	case resp.StatusCode != http.StatusOK:
		return "", fmt.Errorf("get a token for %s on registry %s from %s: %s", want, r.Host, u.Host, resp.Status)
	}
	var tr struct {
		Token       string    `json:"token"`
		AccessToken string    `json:"access_token"`
		ExpiresIn   int       `json:"expires_in"`
		IssuedAt    time.Time `json:"issued_at"`
	}
	if err := json.Unmarshal(b, &tr); err != nil {
		return "", fmt.Errorf("get a token for %s on registry %s from %s: the answer is not a token response", want, r.Host, u.Host)
	}
	value := tr.Token
	if value == "" {
		value = tr.AccessToken
	}
	if value == "" {
		return "", fmt.Errorf("get a token for %s on registry %s from %s: the answer holds no token", want, r.Host, u.Host)
	}
	life := time.Duration(tr.ExpiresIn) * time.Second
	if life <= 0 {
		life = 60 * time.Second
	}
	// Stop a little early, for the time the request takes.
	life -= life / 10
	r.mu.Lock()
	if r.tokens == nil {
		r.tokens = map[string]token{}
	}
	r.tokens[scope] = token{value: value, expires: time.Now().Add(life)}
	r.bearer = true
	r.mu.Unlock()
	return value, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
