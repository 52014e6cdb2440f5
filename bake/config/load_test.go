package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"github.com/bakehq/bake/bake"
)

// write puts files into a temp dir and returns the path of the first.
func write(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// fakeSource records what a source decoded to.
type fakeSource struct {
	Image string `hcl:"image"`
	Tag   string `hcl:"tag,optional"`
}

type fakeBuilder struct {
	bake.Builder
	cfg fakeSource
}

type fakeProv struct {
	bake.Provisioner
	Inline []string `hcl:"inline,optional"`
}

func testPlugins() bake.Plugins {
	return bake.Plugins{
		Builders: map[string]func(bake.DecodeContext) (bake.Builder, hcl.Diagnostics){
			"docker": func(dc bake.DecodeContext) (bake.Builder, hcl.Diagnostics) {
				b := &fakeBuilder{}
				return b, gohcl.DecodeBody(dc.Body, dc.Eval, &b.cfg)
			},
		},
		Provisioners: map[string]func(bake.DecodeContext) (bake.Provisioner, hcl.Diagnostics){
			"shell": func(dc bake.DecodeContext) (bake.Provisioner, hcl.Diagnostics) {
				p := &fakeProv{}
				return p, gohcl.DecodeBody(dc.Body, dc.Eval, p)
			},
		},
	}
}

const base = `
variable "image" {
  type    = string
  default = "localbase/debian:bookworm"
}
variable "count" {
  type    = number
  default = 1
  validation {
    condition     = var.count < 10
    error_message = "count must be below 10."
  }
}
variable "token" {
  type      = string
  default   = "s3cr3t-token"
  sensitive = true
}
locals {
  tag   = "${local.stem}-${var.count}"
  stem  = "app"
}
source "docker" "app" {
  image = var.image
  tag   = local.tag
}
build {
  name    = "web"
  sources = ["source.docker.app"]
  provisioner "shell" {
    inline = ["echo ${bake.version} ${source.name}"]
  }
}
`

func jobs(t *testing.T, o Options) ([]*bake.Job, error) {
	t.Helper()
	c, err := Load(o)
	if err != nil {
		return nil, err
	}
	return c.Jobs(ExpandOptions{Plugins: testPlugins(), Version: "1.2.3", BuildTime: time.Unix(0, 0), RunUUID: "run"})
}

func TestLoadResolves(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		extra   map[string]string
		vars    []string
		env     []string
		wantImg string
		wantTag string
	}{
		{name: "defaults", wantImg: "localbase/debian:bookworm", wantTag: "app-1"},
		{name: "env", env: []string{"BAKE_VAR_image=from-env"}, wantImg: "from-env", wantTag: "app-1"},
		{name: "packer env", env: []string{"PKR_VAR_image=from-pkr"}, wantImg: "from-pkr", wantTag: "app-1"},
		{name: "auto var file beats env", extra: map[string]string{"x.auto.bakevars.hcl": `image = "from-file"`},
			env: []string{"BAKE_VAR_image=from-env"}, wantImg: "from-file", wantTag: "app-1"},
		{name: "-var beats all", extra: map[string]string{"x.auto.pkrvars.hcl": `image = "from-file"`},
			vars: []string{"image=from-flag", "count=3"}, wantImg: "from-flag", wantTag: "app-3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			files := map[string]string{"app.bake.hcl": base}
			for k, v := range tt.extra {
				files[k] = v
			}
			js, err := jobs(t, Options{Path: write(t, files), Vars: tt.vars, Env: tt.env})
			if err != nil {
				t.Fatal(err)
			}
			if len(js) != 1 || js[0].Name != "web.docker.app" {
				t.Fatalf("jobs = %v", js)
			}
			b := js[0].Builder.(*fakeBuilder)
			if b.cfg.Image != tt.wantImg || b.cfg.Tag != tt.wantTag {
				t.Errorf("source = %+v, want image %q tag %q", b.cfg, tt.wantImg, tt.wantTag)
			}
			p := js[0].Steps[0].Provisioner.(*fakeProv)
			if got := p.Inline[0]; got != "echo 1.2.3 app" {
				t.Errorf("inline = %q", got)
			}
			if strings.Contains(string(js[0].Inputs), "s3cr3t") || strings.Contains(string(js[0].Inputs), "1.2.3") {
				t.Errorf("inputs carry a secret or the version: %s", js[0].Inputs)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		file  string
		vars  []string
		wants []string
	}{
		{name: "syntax", file: "source \"docker\" \"a\" {\n  image = \n}\n", wants: []string{"app.bake.hcl:2:", "Invalid expression"}},
		{name: "unknown field", file: base + "\nsource \"docker\" \"b\" {\n  image = \"x\"\n  imgae = \"y\"\n}\nbuild {\n  sources = [\"source.docker.b\"]\n}\n",
			wants: []string{"app.bake.hcl:", ":3:", "Unsupported argument", `"imgae"`}},
		{name: "missing variable", file: "variable \"need\" {\n  type = string\n}\n" + base, wants: []string{"app.bake.hcl:1:1", `variable "need" has no value`, "-var need=", "BAKE_VAR_need"}},
		{name: "validation", file: base, vars: []string{"count=12"}, wants: []string{"count must be below 10", "(from -var count)"}},
		{name: "wrong type", file: base, vars: []string{"count=many"}, wants: []string{"count", "number"}},
		{name: "undeclared -var", file: base, vars: []string{"nope=1"}, wants: []string{`no variable "nope" is declared`}},
		{name: "unknown source", file: base + "\nbuild {\n  sources = [\"source.docker.missing\"]\n}\n", wants: []string{"source.docker.missing", "not defined", "source.docker.app"}},
		{name: "unknown source type", file: base + "\nsource \"vagrant\" \"v\" {}\nbuild {\n  sources = [\"source.vagrant.v\"]\n}\n", wants: []string{`source type "vagrant"`, "docker"}},
		{name: "unknown provisioner", file: base + "\nbuild {\n  sources = [\"source.docker.app\"]\n  provisioner \"ansible\" {}\n}\n", wants: []string{`provisioner type "ansible"`, "shell"}},
		{name: "no build", file: "source \"docker\" \"a\" {\n  image = \"x\"\n}\n", wants: []string{"no build block"}},
		{name: "local cycle", file: strings.Replace(base, `stem  = "app"`, `stem  = local.tag`, 1), wants: []string{"Local value cycle"}},
		{name: "sensitive value hidden in validation", file: strings.Replace(base, `sensitive = true`, "sensitive = true\n  validation {\n    condition = length(var.token) > 100\n    error_message = \"too short\"\n  }", 1),
			wants: []string{"<sensitive>", "too short"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := jobs(t, Options{Path: write(t, map[string]string{"app.bake.hcl": tt.file}), Vars: tt.vars})
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
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error shows the sensitive value:\n%s", err)
			}
		})
	}
}

func TestOnlyExcept(t *testing.T) {
	t.Parallel()
	file := base + `
source "docker" "worker" {
  image = "x"
}
build {
  name    = "jobs"
  sources = ["source.docker.worker", "source.docker.app"]
  provisioner "shell" {
    only   = ["docker.worker"]
    inline = ["only on worker"]
  }
}
`
	dir := write(t, map[string]string{"app.bake.hcl": file})
	c, err := Load(Options{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		only, except []string
		want         []string
	}{
		{want: []string{"web.docker.app", "jobs.docker.worker", "jobs.docker.app"}},
		{only: []string{"jobs.*"}, want: []string{"jobs.docker.worker", "jobs.docker.app"}},
		{only: []string{"docker.app"}, want: []string{"web.docker.app", "jobs.docker.app"}},
		{except: []string{"docker.app"}, want: []string{"jobs.docker.worker"}},
	}
	for _, tt := range tests {
		js, err := c.Jobs(ExpandOptions{Plugins: testPlugins(), Only: tt.only, Except: tt.except, Version: "v", RunUUID: "r"})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, j := range js {
			got = append(got, j.Name)
			if j.Name == "jobs.docker.worker" && len(j.Steps) != 1 || j.Name == "jobs.docker.app" && len(j.Steps) != 0 {
				t.Errorf("%s has %d steps: only = [...] not honoured", j.Name, len(j.Steps))
			}
		}
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("only %v except %v = %v, want %v", tt.only, tt.except, got, tt.want)
		}
	}
	if _, err := c.Jobs(ExpandOptions{Plugins: testPlugins(), Only: []string{"nothing"}}); err == nil || !strings.Contains(err.Error(), "selects no build") {
		t.Errorf("-only nothing: %v", err)
	}
}

func TestSecrets(t *testing.T) {
	t.Parallel()
	c, err := Load(Options{Path: write(t, map[string]string{"app.bake.hcl": base}), Vars: []string{"token=from-flag-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Secrets(); len(s) != 1 || s[0] != "from-flag-secret" {
		t.Errorf("secrets = %q", s)
	}
}

func TestInputsStableAcrossVersions(t *testing.T) {
	t.Parallel()
	dir := write(t, map[string]string{"app.bake.hcl": base})
	c, err := Load(Options{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := c.Jobs(ExpandOptions{Plugins: testPlugins(), Version: "1", RunUUID: "a"})
	b, _ := c.Jobs(ExpandOptions{Plugins: testPlugins(), Version: "2", RunUUID: "b"})
	if string(a[0].Inputs) != string(b[0].Inputs) {
		t.Errorf("inputs differ between versions:\n%s\n---\n%s", a[0].Inputs, b[0].Inputs)
	}
	c2, _ := Load(Options{Path: dir, Vars: []string{"count=2"}})
	d, _ := c2.Jobs(ExpandOptions{Plugins: testPlugins(), Version: "1", RunUUID: "a"})
	if string(a[0].Inputs) == string(d[0].Inputs) {
		t.Errorf("inputs do not change when a variable used by the source changes")
	}
}
