package images

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/distribution/reference"
)

// Registry talks to a registry's HTTP API v2 for one host: tags, the
// labels of a tag's image, copying a tag (a channel) and deleting a
// manifest. Loopback hosts are spoken to over plain HTTP, others over
// HTTPS. A registry that answers 401 with a Bearer challenge (Docker
// Hub, GHCR, GitLab, Harbor, Quay) gets the token flow; one that wants
// Basic gets basic auth.
type Registry struct {
	Host   string // host:port
	Client *http.Client
	// User and Password, when set, are the credentials: sent as basic
	// auth, or to the registry's token server. When User is empty they
	// come from the docker CLI config (see DockerConfigAuth).
	User, Password string

	credsOnce              sync.Once
	confUser, confPassword string
	credsErr               error

	mu     sync.Mutex
	bearer bool             // the registry asked for tokens
	tokens map[string]token // by scope
}

// SplitRepository splits repo into its registry host and path. host is
// "" when repo names no registry (a local-only or Docker Hub name).
func SplitRepository(repo string) (host, path string, err error) {
	named, err := reference.ParseNormalizedNamed(repo)
	if err != nil {
		return "", "", fmt.Errorf("repository %q: %w", repo, err)
	}
	domain := reference.Domain(named)
	if domain == "docker.io" && !strings.HasPrefix(repo, "docker.io/") {
		return "", reference.Path(named), nil
	}
	return domain, reference.Path(named), nil
}

// NewRegistry is a client for host with a bounded timeout.
func NewRegistry(host string) *Registry {
	return &Registry{Host: host, Client: &http.Client{Timeout: 30 * time.Second}}
}

func (r *Registry) base() string {
	h, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		h = r.Host
	}
	if h == "localhost" || strings.HasPrefix(h, "127.") || h == "::1" {
		return "http://" + r.Host
	}
	if h == "docker.io" || h == "index.docker.io" {
		return "https://registry-1.docker.io" // Docker Hub's API host
	}
	return "https://" + r.Host
}

// manifestTypes are the manifests bake reads, single-image ones first.
var manifestTypes = []string{
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.oci.image.index.v1+json",
}

// ErrNotFound is a registry's 404 for a repository, tag or manifest.
var ErrNotFound = errors.New("not found in the registry")

// do sends one call on the repository path (rest follows /v2/PATH). It
// sends basic auth when credentials are known, and on a 401 with a
// Bearer challenge gets a token for the call's scope and tries once more.
func (r *Registry) do(ctx context.Context, method, path, rest string, hdr http.Header, body []byte) (*http.Response, []byte, error) {
	scope := scopeFor(method, path)
	what := method + " " + r.Host + "/v2/" + path + rest
	resp, b, err := r.send(ctx, method, path, rest, hdr, body, r.cachedToken(scope))
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized {
		var bearer *challenge
		cs := parseChallenges(resp.Header.Values("WWW-Authenticate"))
		for i := range cs {
			if cs[i].Scheme == "bearer" {
				bearer = &cs[i]
				break
			}
		}
		if bearer == nil {
			user, _, err := r.credentials()
			if err != nil {
				return resp, b, err
			}
			if user != "" {
				return resp, b, fmt.Errorf("%s: the registry refused the credentials of %s: %s", what, user, r.loginHint())
			}
			return resp, b, fmt.Errorf("%s: the registry wants credentials: %s", what, r.loginHint())
		}
		tok, err := r.fetchToken(ctx, *bearer, scope)
		if err != nil {
			return resp, b, err
		}
		if resp, b, err = r.send(ctx, method, path, rest, hdr, body, tok); err != nil {
			return nil, nil, err
		}
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			return resp, b, fmt.Errorf("%s: the registry refused a fresh token for %s (%s): check that the account may do this, %s", what, scope, resp.Status, r.loginHint())
		}
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return resp, b, fmt.Errorf("%s: %w", what, ErrNotFound)
	case resp.StatusCode == http.StatusMethodNotAllowed && method == http.MethodDelete:
		return resp, b, fmt.Errorf("delete %s/v2/%s%s: the registry does not allow deletes (set storage.delete.enabled: true in its config)", r.Host, path, rest)
	case resp.StatusCode >= 300:
		return resp, b, fmt.Errorf("%s: %s: %s", what, resp.Status, strings.TrimSpace(string(b)))
	}
	return resp, b, nil
}

// send sends one request with the bearer token tok, or else basic auth
// when credentials are known and the registry has not asked for tokens.
func (r *Registry) send(ctx context.Context, method, path, rest string, hdr http.Header, body []byte, tok string) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base()+"/v2/"+path+rest, rd)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s/v2/%s%s: %w", method, r.Host, path, rest, err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	} else if !r.wantsBearer() {
		user, password, err := r.credentials()
		if err != nil {
			return nil, nil, err
		}
		if user != "" {
			req.SetBasicAuth(user, password)
		}
	}
	resp, err := r.Client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s/v2/%s%s: %w (is the registry running?)", method, r.Host, path, rest, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s/v2/%s%s: read answer: %w", method, r.Host, path, rest, err)
	}
	return resp, b, nil
}

// Tags lists a repository's tags; none when the repository does not exist.
func (r *Registry) Tags(ctx context.Context, path string) ([]string, error) {
	_, b, err := r.do(ctx, http.MethodGet, path, "/tags/list?n=10000", nil, nil)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out struct {
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("tags of %s/%s: %w", r.Host, path, err)
	}
	return out.Tags, nil
}

// Manifest is a tag's manifest as stored.
type Manifest struct {
	Digest    string
	MediaType string
	Body      []byte
}

// GetManifest fetches the manifest of ref (a tag or digest).
func (r *Registry) GetManifest(ctx context.Context, path, ref string) (Manifest, error) {
	resp, b, err := r.do(ctx, http.MethodGet, path, "/manifests/"+url.PathEscape(ref),
		http.Header{"Accept": {strings.Join(manifestTypes, ", ")}}, nil)
	if err != nil {
		return Manifest{}, err
	}
	return Manifest{Digest: resp.Header.Get("Docker-Content-Digest"), MediaType: resp.Header.Get("Content-Type"), Body: b}, nil
}

// PutManifest stores m under tag: the registry form of docker tag.
func (r *Registry) PutManifest(ctx context.Context, path, tag string, m Manifest) error {
	_, _, err := r.do(ctx, http.MethodPut, path, "/manifests/"+url.PathEscape(tag),
		http.Header{"Content-Type": {m.MediaType}}, m.Body)
	return err
}

// DeleteManifest deletes a manifest by digest, and with it every tag
// that names it.
func (r *Registry) DeleteManifest(ctx context.Context, path, digest string) error {
	_, _, err := r.do(ctx, http.MethodDelete, path, "/manifests/"+digest, nil, nil)
	return err
}

// ImageConfig is what bake reads from an image's config blob.
type ImageConfig struct {
	Created time.Time `json:"created"`
	Config  struct {
		Labels map[string]string `json:"Labels"`
	} `json:"config"`
}

// Config fetches the config of the image m describes (for an index, its
// first image).
func (r *Registry) Config(ctx context.Context, path string, m Manifest) (ImageConfig, error) {
	var doc struct {
		Config    struct{ Digest string } `json:"config"`
		Manifests []struct {
			Digest   string `json:"digest"`
			Platform struct {
				OS string `json:"os"`
			} `json:"platform"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(m.Body, &doc); err != nil {
		return ImageConfig{}, fmt.Errorf("manifest %s of %s/%s: %w", m.Digest, r.Host, path, err)
	}
	if doc.Config.Digest == "" {
		for _, e := range doc.Manifests {
			if e.Platform.OS != "unknown" {
				inner, err := r.GetManifest(ctx, path, e.Digest)
				if err != nil {
					return ImageConfig{}, err
				}
				return r.Config(ctx, path, inner)
			}
		}
		return ImageConfig{}, fmt.Errorf("manifest %s of %s/%s names no image config", m.Digest, r.Host, path)
	}
	_, b, err := r.do(ctx, http.MethodGet, path, "/blobs/"+doc.Config.Digest, nil, nil)
	if err != nil {
		return ImageConfig{}, err
	}
	var c ImageConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return ImageConfig{}, fmt.Errorf("config %s of %s/%s: %w", doc.Config.Digest, r.Host, path, err)
	}
	return c, nil
}

// Tagged is one tag of a repository with its manifest digest and image
// config.
type Tagged struct {
	Tag    string
	Digest string
	Config ImageConfig
}

// List reads every tag of path with its digest and config.
func (r *Registry) List(ctx context.Context, path string) ([]Tagged, error) {
	tags, err := r.Tags(ctx, path)
	if err != nil {
		return nil, err
	}
	var out []Tagged
	for _, t := range tags {
		m, err := r.GetManifest(ctx, path, t)
		if errors.Is(err, ErrNotFound) {
			continue // deleted between the two calls
		}
		if err != nil {
			return nil, err
		}
		c, err := r.Config(ctx, path, m)
		if err != nil {
			return nil, err
		}
		out = append(out, Tagged{Tag: t, Digest: m.Digest, Config: c})
	}
	return out, nil
}
