package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TokenRegistry is a docker-registry that wants bearer tokens, and the
// token server it trusts.
type TokenRegistry struct {
	Host  string // the registry's host:port
	Realm string // the token server's URL
	// User and Password are the only credentials the token server takes.
	User, Password string

	issued, refused atomic.Int64
}

// Issued is how many tokens the token server has handed out.
func (r *TokenRegistry) Issued() int64 { return r.issued.Load() }

// Refused is how many token requests had wrong credentials.
func (r *TokenRegistry) Refused() int64 { return r.refused.Load() }

const (
	tokenService = "bake-test-registry"
	tokenIssuer  = "bake-test-token-server"
)

// StartTokenRegistry runs Debian's docker-registry (deletes allowed) on a
// loopback port with `auth: token`, and a token server on another
// loopback port (the distribution token flow): it checks basic
// credentials user/password and issues ES256 JWTs, with an x5c header,
// signed by a key whose self-signed certificate is the registry's
// rootcertbundle. Anonymous requests get a token with no access, wrong
// credentials a 401. It skips the test when docker-registry is missing.
func StartTokenRegistry(t testing.TB, user, password string) *TokenRegistry {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		SkipOrFail(t, "docker-registry not installed (apt-get install docker-registry)")
	}
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: tokenIssuer},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(dir, "root.pem")
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	reg := &TokenRegistry{User: user, Password: password}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		reg.serveToken(w, req, key, der)
	}))
	t.Cleanup(ts.Close)
	reg.Realm = ts.URL + "/token"
	extra := fmt.Sprintf("auth:\n  token:\n    realm: %s\n    service: %s\n    issuer: %s\n    rootcertbundle: %s\n",
		reg.Realm, tokenService, tokenIssuer, bundle)
	reg.Host = serveRegistry(t, bin, dir, extra)
	return reg
}

func (r *TokenRegistry) serveToken(w http.ResponseWriter, req *http.Request, key *ecdsa.PrivateKey, cert []byte) {
	user, password, hasAuth := req.BasicAuth()
	if hasAuth && (user != r.User || password != r.Password) {
		r.refused.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"wrong user name or password"}]}`)
		return
	}
	if req.URL.Query().Get("service") != tokenService {
		http.Error(w, "unknown service", http.StatusBadRequest)
		return
	}
	type access struct {
		Type    string   `json:"type"`
		Name    string   `json:"name"`
		Actions []string `json:"actions"`
	}
	grants := []access{}
	for _, s := range req.URL.Query()["scope"] {
		// repository:NAME:ACTIONS; NAME has no colon in these tests.
		parts := strings.Split(s, ":")
		if len(parts) != 3 || parts[0] != "repository" {
			continue
		}
		if hasAuth { // anonymous gets nothing
			grants = append(grants, access{Type: parts[0], Name: parts[1], Actions: strings.Split(parts[2], ",")})
		}
	}
	now := time.Now()
	var jti [8]byte
	rand.Read(jti[:])
	header := map[string]any{"alg": "ES256", "typ": "JWT", "x5c": []string{base64.StdEncoding.EncodeToString(cert)}}
	claims := map[string]any{
		"iss": tokenIssuer, "sub": user, "aud": tokenService,
		"iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"jti": fmt.Sprintf("%x", jti), "access": grants,
	}
	tok, err := signES256(key, header, claims)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	r.issued.Add(1)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"token": tok, "expires_in": 300, "issued_at": now.UTC().Format(time.RFC3339)})
}

// signES256 makes a compact JWS: base64url(header).base64url(claims).
// base64url(r||s), r and s each 32 bytes.
func signES256(key *ecdsa.PrivateKey, header, claims any) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + enc.EncodeToString(sig), nil
}
