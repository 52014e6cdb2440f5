package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/bakehq/bake/bake"
)

// VerifiesArtifacts makes the fake docker builder a bake.Verifier.
func (*fakeBuilder) VerifiesArtifacts() {}

// withVerify is base's build with verify added inside it.
func withVerify(verify string) string {
	return strings.Replace(base, "  provisioner \"shell\" {", verify+"\n  provisioner \"shell\" {", 1)
}

func TestVerifyBlock(t *testing.T) {
	t.Parallel()
	file := withVerify(`  verify {
    inline  = ["nginx -t", "test -f /var/www/html/index.html"]
    timeout = "45s"
    http {
      port     = 80
      contains = "version ${bake.version}"
    }
    http {
      port   = 8080
      path   = "/healthz"
      status = 204
    }
  }`)
	js, err := jobs(t, Options{Path: write(t, map[string]string{"app.bake.hcl": file})})
	if err != nil {
		t.Fatal(err)
	}
	want := &bake.VerifySpec{
		Inline:  []string{"nginx -t", "test -f /var/www/html/index.html"},
		Timeout: 45 * time.Second,
		HTTP: []bake.HTTPCheck{
			{Port: 80, Contains: "version 1.2.3"},
			{Port: 8080, Path: "/healthz", Status: 204},
		},
	}
	if !reflect.DeepEqual(js[0].Verify, want) {
		t.Errorf("verify spec\n got %+v\nwant %+v", js[0].Verify, want)
	}
	if strings.Contains(string(js[0].Inputs), "nginx -t") {
		t.Errorf("the verify block is in the fingerprint's inputs: it changes nothing in the artifact")
	}

	// Without a verify block: nil. only/except: nil for another source.
	js, err = jobs(t, Options{Path: write(t, map[string]string{"app.bake.hcl": base})})
	if err != nil || js[0].Verify != nil {
		t.Errorf("no verify block: %+v, %v", js[0].Verify, err)
	}
	js, err = jobs(t, Options{Path: write(t, map[string]string{"app.bake.hcl": withVerify("  verify {\n    only   = [\"docker.other\"]\n    inline = [\"true\"]\n  }")})})
	if err != nil || js[0].Verify != nil {
		t.Errorf("verify with only = another source: %+v, %v", js[0].Verify, err)
	}
}

// A builder that cannot verify is refused, not baked unverified.
func TestVerifyNeedsAVerifier(t *testing.T) {
	t.Parallel()
	c, err := Load(Options{Path: write(t, map[string]string{"app.bake.hcl": withVerify("  verify {\n    inline = [\"true\"]\n  }")})})
	if err != nil {
		t.Fatal(err)
	}
	plugins := testPlugins()
	docker := plugins.Builders["docker"]
	plugins.Builders["docker"] = func(dc bake.DecodeContext) (bake.Builder, hcl.Diagnostics) {
		b, d := docker(dc)
		return struct{ bake.Builder }{b}, d
	}
	_, err = c.Jobs(ExpandOptions{Plugins: plugins, Version: "1", RunUUID: "r"})
	if err == nil || !strings.Contains(err.Error(), `source type "docker" cannot boot what it makes to verify it`) || !strings.Contains(err.Error(), "app.bake.hcl:") {
		t.Errorf("err = %v", err)
	}
}

func TestVerifyBlockErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, verify string
		wants        []string
	}{
		{"port range", "  verify {\n    http {\n      port = 70000\n    }\n  }", []string{"app.bake.hcl:", "port = 70000", "1 to 65535"}},
		{"no port", "  verify {\n    http {\n      path = \"/\"\n    }\n  }", []string{"app.bake.hcl:", `"port" is required`}},
		{"bad duration", "  verify {\n    inline  = [\"true\"]\n    timeout = \"soon\"\n  }", []string{"app.bake.hcl:", `timeout = "soon"`, "30s or 2m"}},
		{"empty inline entry", "  verify {\n    inline = [\"true\", \" \"]\n  }", []string{"app.bake.hcl:", "inline[1] is empty"}},
		{"bad path", "  verify {\n    http {\n      port = 80\n      path = \"healthz\"\n    }\n  }", []string{`path = "healthz"`, "first slash"}},
		{"bad status", "  verify {\n    http {\n      port   = 80\n      status = 42\n    }\n  }", []string{"status = 42", "100 to 599"}},
		{"empty", "  verify {\n  }", []string{"Empty verify block"}},
		{"unknown field", "  verify {\n    inlnie = [\"true\"]\n  }", []string{"app.bake.hcl:", `"inlnie"`}},
		{"two blocks", "  verify {\n    inline = [\"true\"]\n  }\n  verify {\n    inline = [\"true\"]\n  }", []string{"Duplicate verify block", "app.bake.hcl:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := jobs(t, Options{Path: write(t, map[string]string{"app.bake.hcl": withVerify(tt.verify)})})
			if err == nil {
				t.Fatal("no error")
			}
			if !bake.IsBadInput(err) {
				t.Errorf("error is not bad input (exit 2): %v", err)
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%s", w, err)
				}
			}
		})
	}
}
