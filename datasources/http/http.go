// Package http is Packer's http data source: one HTTP request, its body
// and headers as data.http.NAME.
package http

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/datasources"
)

// Type is the data block's type label.
const Type = "http"

// Timeout bounds one request, body included.
const Timeout = time.Minute

// MaxBody is the largest body read; a larger one is an error rather than
// a template holding megabytes.
const MaxBody = 16 << 20

// Spec is the block's arguments, as Packer's http data source documents
// them (Packer core's datasource/http is not a Go module bake can use).
func Spec() map[string]hcldec.Spec {
	return map[string]hcldec.Spec{
		"url":             &hcldec.AttrSpec{Name: "url", Type: cty.String},
		"method":          &hcldec.AttrSpec{Name: "method", Type: cty.String},
		"request_headers": &hcldec.AttrSpec{Name: "request_headers", Type: cty.Map(cty.String)},
		"request_body":    &hcldec.AttrSpec{Name: "request_body", Type: cty.String},
	}
}

// OutputSpec is data.http.NAME: Packer's outputs.
func OutputSpec() map[string]hcldec.Spec {
	return map[string]hcldec.Spec{
		"url":              &hcldec.AttrSpec{Name: "url", Type: cty.String},
		"request_headers":  &hcldec.AttrSpec{Name: "request_headers", Type: cty.Map(cty.String)},
		"response_headers": &hcldec.AttrSpec{Name: "response_headers", Type: cty.Map(cty.String)},
		"body":             &hcldec.AttrSpec{Name: "body", Type: cty.String},
	}
}

var methods = []string{"HEAD", "GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"}

// HTTP is one http data block.
type HTTP struct {
	b       *datasources.Block
	url     string
	method  string
	headers map[string]string
	body    string
	// Client is replaced in tests; nil for one with Timeout.
	Client *http.Client
}

var _ bake.DataSource = (*HTTP)(nil)

// New decodes an http data block.
func New(dc bake.DecodeContext) (bake.DataSource, hcl.Diagnostics) {
	b, diags := datasources.Decode(Type, dc, Spec())
	if diags.HasErrors() {
		return nil, diags
	}
	h := &HTTP{b: b, url: b.String("url"), method: strings.ToUpper(b.String("method")), headers: b.StringMap("request_headers"), body: b.String("request_body")}
	if h.method == "" {
		h.method = http.MethodGet
	}
	switch u := b.Value("url"); {
	case u.IsNull():
		diags = append(diags, b.Diag("url", "url is required", "Set url to the address to read, for example url = \"https://checkpoint-api.hashicorp.com/v1/check/terraform\"."))
	case u.IsKnown():
		if p, err := url.Parse(h.url); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			diags = append(diags, b.Diag("url", "url is not an http(s) URL", fmt.Sprintf("%q: give a URL like https://host/path.", h.url)))
		}
	}
	if m := b.Value("method"); !m.IsNull() && m.IsKnown() && !contains(methods, h.method) {
		diags = append(diags, b.Diag("method", "method is not supported", fmt.Sprintf("%q: use one of %s.", h.method, strings.Join(methods, ", "))))
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return h, diags
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// OutputType is the type of data.http.NAME.
func (h *HTTP) OutputType() cty.Type { return datasources.SpecType(OutputSpec()) }

// Execute makes the request; a response outside 2xx is an error naming
// the URL and the status.
func (h *HTTP) Execute(ctx context.Context) (cty.Value, error) {
	if !h.b.Known() {
		return cty.NilVal, h.b.Failf("arguments are not known yet (they use a data source that was not read)")
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	var body io.Reader
	if h.body != "" {
		body = strings.NewReader(h.body)
	}
	req, err := http.NewRequestWithContext(ctx, h.method, h.url, body)
	if err != nil {
		return cty.NilVal, h.b.Errorf("url %q: %v", h.url, err)
	}
	for k, v := range h.headers {
		req.Header.Set(k, v)
	}
	cl := h.Client
	if cl == nil {
		cl = &http.Client{Timeout: Timeout}
	}
	resp, err := cl.Do(req)
	if err != nil {
		return cty.NilVal, h.b.Failf("%s %s: %w (check the URL and that the server is reachable from this machine)", h.method, h.url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return cty.NilVal, h.b.Failf("%s %s: read the body: %w", h.method, h.url, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return cty.NilVal, h.b.Errorf("%s %s: the server answered %s (want 2xx): check the URL and request_headers", h.method, h.url, resp.Status)
	}
	if len(data) > MaxBody {
		return cty.NilVal, h.b.Errorf("%s %s: the body is larger than %d MiB", h.method, h.url, MaxBody>>20)
	}
	// Repeated headers are joined with ", " (RFC 2616), as Packer does.
	respHeaders := map[string]string{}
	for k, vs := range resp.Header {
		respHeaders[k] = strings.Join(vs, ", ")
	}
	return cty.ObjectVal(map[string]cty.Value{
		"url":              cty.StringVal(h.url),
		"request_headers":  datasources.StrMap(h.headers),
		"response_headers": datasources.StrMap(respHeaders),
		"body":             cty.StringVal(string(data)),
	}), nil
}
