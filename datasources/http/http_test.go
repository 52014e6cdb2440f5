package http_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/bakehq/bake/bake"
	bakehttp "github.com/bakehq/bake/datasources/http"
	"github.com/bakehq/bake/datasources/internal/dstest"
)

func server(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("X-Tag", "a")
		w.Header().Add("X-Tag", "b")
		fmt.Fprintf(w, `{"version":"1.2.3","accept":%q,"method":%q}`, r.Header.Get("Accept"), r.Method)
	})
	mux.HandleFunc("/gone", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "gone", http.StatusGone) })
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	return hs
}

func TestHTTP(t *testing.T) {
	t.Parallel()
	hs := server(t)
	src := fmt.Sprintf(`data "http" "v" {
  url = "%s/version"
  request_headers = { Accept = "application/json" }
}`, hs.URL)
	ds, diags := bakehttp.New(dstest.Context(t, src, nil))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if _, ok := ds.(bake.LocalData); ok {
		t.Fatal("http must not be local: validate must not make requests")
	}
	got, err := ds.Execute(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !got.Type().Equals(ds.OutputType()) {
		t.Fatalf("type %#v, OutputType %#v", got.Type(), ds.OutputType())
	}
	if b := got.GetAttr("body").AsString(); b != `{"version":"1.2.3","accept":"application/json","method":"GET"}` {
		t.Fatalf("body = %s", b)
	}
	if u := got.GetAttr("url").AsString(); u != hs.URL+"/version" {
		t.Fatalf("url = %s", u)
	}
	h := got.GetAttr("response_headers")
	if v := h.Index(ctyStr("X-Tag")).AsString(); v != "a, b" {
		t.Fatalf("X-Tag = %q", v)
	}
	if v := got.GetAttr("request_headers").Index(ctyStr("Accept")).AsString(); v != "application/json" {
		t.Fatalf("request_headers = %#v", got.GetAttr("request_headers"))
	}
}

func TestHTTPErrors(t *testing.T) {
	t.Parallel()
	hs := server(t)
	// A status outside 2xx names the block, the URL and the status.
	ds, diags := bakehttp.New(dstest.Context(t, fmt.Sprintf(`data "http" "g" { url = "%s/gone" }`, hs.URL), nil))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	_, err := ds.Execute(context.Background())
	for _, want := range []string{"data.http.g at t.pkr.hcl:1", hs.URL + "/gone", "410 Gone"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v, want %q in it", err, want)
		}
	}
	if !bake.IsBadInput(err) {
		t.Fatalf("a 410 is the template's to fix: %v", err)
	}

	// Nothing listening.
	ln := httptest.NewServer(http.NotFoundHandler())
	dead := ln.URL
	ln.Close()
	ds, _ = bakehttp.New(dstest.Context(t, fmt.Sprintf(`data "http" "d" { url = "%s/x" }`, dead), nil))
	if _, err := ds.Execute(context.Background()); err == nil || !strings.Contains(err.Error(), "data.http.d at t.pkr.hcl:1") || !strings.Contains(err.Error(), "reachable") {
		t.Fatalf("dead server: %v", err)
	}

	for src, want := range map[string]string{
		`data "http" "x" {}`:                                                 "data.http.x: url is required",
		`data "http" "x" { url = "ftp://example.com/a" }`:                    "url is not an http(s) URL",
		"data \"http\" \"x\" {\n url = \"http://a/\"\n method = \"BREW\"\n}": "method is not supported",
	} {
		_, diags := bakehttp.New(dstest.Context(t, src, nil))
		if !diags.HasErrors() || !strings.Contains(diags.Error(), want) {
			t.Errorf("%s: %v, want %q", src, diags, want)
		}
		for _, d := range diags {
			if d.Subject == nil {
				t.Errorf("%s: no subject: %v", src, d)
			}
		}
	}
}

func ctyStr(s string) cty.Value { return cty.StringVal(s) }
