package sim_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bakehq/bake/internal/testenv"
	"github.com/bakehq/bake/sim"
)

// startSim runs a sim with the Docker runtime and the Debian AMI, skipping
// when a part is truly absent. Its containers are removed at cleanup.
func startSim(t *testing.T, opts sim.Options) *sim.Sim {
	t.Helper()
	if opts.DNSAddr == "" {
		opts.DNSAddr = "127.0.0.1:0"
	}
	return testenv.StartSim(t, opts)
}

// call is one API call captured for the botocore check.
type call struct {
	Service   string            `json:"service"`
	Operation string            `json:"operation"`
	Status    int               `json:"status"`
	Headers   map[string]string `json:"headers"`
	Body      string            `json:"body"`
	WantCode  string            `json:"want_code,omitempty"`
}

// recorder serves the sim's API and keeps every response.
type recorder struct {
	h     http.Handler
	mu    sync.Mutex
	calls []call
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(bytes.NewReader(body))
	c := call{}
	switch {
	case req.Header.Get("X-Amz-Target") != "":
		_, c.Operation, _ = strings.Cut(req.Header.Get("X-Amz-Target"), ".")
		c.Service = "ssm"
	case strings.HasPrefix(req.URL.Path, "/2013-04-01/"):
		c.Service = "route53"
	default:
		form, _ := url.ParseQuery(string(body))
		c.Operation = form.Get("Action")
		c.Service = map[string]string{"2016-11-15": "ec2", "2011-06-15": "sts", "2011-01-01": "autoscaling", "2015-12-01": "elbv2"}[form.Get("Version")]
	}
	rec := httptest.NewRecorder()
	r.h.ServeHTTP(rec, req)
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
	if c.Service == "" || c.Operation == "" {
		return
	}
	c.Status = rec.Code
	c.Headers = map[string]string{}
	for k := range rec.Header() {
		c.Headers[k] = rec.Header().Get(k)
	}
	c.Body = base64.StdEncoding.EncodeToString(rec.Body.Bytes())
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
}

func (r *recorder) write(t *testing.T, path string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, c := range r.calls {
		if err := enc.Encode(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// awsCLI runs Debian's awscli v2 against endpoint.
type awsCLI struct {
	t        *testing.T
	endpoint string
}

const awsBin = "/usr/bin/aws"

func newAWSCLI(t *testing.T, endpoint string) *awsCLI {
	t.Helper()
	if _, err := os.Stat(awsBin); err != nil {
		testenv.SkipOrFail(t, "Debian's awscli is not installed (%s): %v", awsBin, err)
	}
	return &awsCLI{t: t, endpoint: endpoint}
}

func (a *awsCLI) run(args ...string) ([]byte, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	full := append([]string{"--endpoint-url", a.endpoint, "--region", "us-east-1", "--output", "json", "--no-cli-pager"}, args...)
	cmd := exec.CommandContext(ctx, awsBin, full...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDSIMTEST", "AWS_SECRET_ACCESS_KEY=secret", "AWS_PAGER=",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_MAX_ATTEMPTS=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.Bytes(), errb.Bytes(), err
}

// ok runs a command that must succeed and returns its parsed output.
func (a *awsCLI) ok(args ...string) map[string]any {
	a.t.Helper()
	out, errb, err := a.run(args...)
	if err != nil {
		a.t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, errb)
	}
	m := map[string]any{}
	if len(bytes.TrimSpace(out)) > 0 {
		if err := json.Unmarshal(out, &m); err != nil {
			a.t.Fatalf("aws %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return m
}

// fails runs a command that must fail with code.
func (a *awsCLI) fails(code string, args ...string) {
	a.t.Helper()
	_, errb, err := a.run(args...)
	if err == nil {
		a.t.Fatalf("aws %s succeeded, want %s", strings.Join(args, " "), code)
	}
	if !strings.Contains(string(errb), "("+code+")") {
		a.t.Fatalf("aws %s: %s, want error code %s", strings.Join(args, " "), errb, code)
	}
}

// get walks a parsed JSON value: get(m, "Images", 0, "ImageId").
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) || -k > len(l) {
				return nil
			}
			if k < 0 {
				k += len(l)
			}
			v = l[k]
		}
	}
	return v
}

func str(v any, path ...any) string {
	s, _ := get(v, path...).(string)
	return s
}

func length(v any, path ...any) int {
	l, _ := get(v, path...).([]any)
	return len(l)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
