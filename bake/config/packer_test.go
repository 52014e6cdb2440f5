package config

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/bakehq/bake/bake"
)

// fakeData is an in-memory data source: it returns its input as id and
// counts how often it ran.
type fakeData struct {
	Input     string `hcl:"input,optional"`
	Fail      bool   `hcl:"fail,optional"`
	local     bool
	sensitive bool
	runs      *atomic.Int32
}

func (d *fakeData) OutputType() cty.Type { return cty.Object(map[string]cty.Type{"id": cty.String}) }
func (d *fakeData) Execute(context.Context) (cty.Value, error) {
	d.runs.Add(1)
	if d.Fail {
		return cty.NilVal, fmt.Errorf("the remote said no")
	}
	return cty.ObjectVal(map[string]cty.Value{"id": cty.StringVal("id-" + d.Input)}), nil
}
func (d *fakeData) LocalOnly() bool { return d.local }
func (d *fakeData) Sensitive() bool { return d.sensitive }

// fakeBlocks is a provisioner with nested blocks, for dynamic blocks.
type fakeBlocks struct {
	bake.Provisioner
	Items []struct {
		Name string `hcl:"name"`
	} `hcl:"item,block"`
}

func packerPlugins(runs *atomic.Int32) bake.Plugins {
	p := testPlugins()
	ds := func(local, sensitive bool) func(bake.DecodeContext) (bake.DataSource, hcl.Diagnostics) {
		return func(dc bake.DecodeContext) (bake.DataSource, hcl.Diagnostics) {
			d := &fakeData{local: local, sensitive: sensitive, runs: runs}
			return d, gohcl.DecodeBody(dc.Body, dc.Eval, d)
		}
	}
	p.DataSources = map[string]func(bake.DecodeContext) (bake.DataSource, hcl.Diagnostics){
		"remote": ds(false, false), "null": ds(true, false), "secret": ds(false, true),
	}
	p.Provisioners["blocks"] = func(dc bake.DecodeContext) (bake.Provisioner, hcl.Diagnostics) {
		b := &fakeBlocks{}
		return b, gohcl.DecodeBody(dc.Body, dc.Eval, b)
	}
	return p
}

func loadJobs(t *testing.T, src string, execute bool) (*Config, []*bake.Job, *atomic.Int32, error) {
	t.Helper()
	runs := &atomic.Int32{}
	pl := packerPlugins(runs)
	c, err := Load(Options{Path: write(t, map[string]string{"app.pkr.hcl": src}), Plugins: pl, ExecuteData: execute})
	if err != nil {
		return nil, nil, runs, err
	}
	js, err := c.Jobs(ExpandOptions{Plugins: pl, Version: "1.0", RunUUID: "run"})
	return c, js, runs, err
}

const dataTemplate = `
locals {
  stem = "base"
  tag  = "${data.remote.ami.id}-${local.stem}"
}
data "null" "n" {
  input = local.stem
}
data "remote" "ami" {
  input = data.null.n.id
}
source "docker" "app" {
  image = "img"
  tag   = local.tag
}
build {
  sources = ["docker.app"]
  provisioner "shell" {
    inline = ["echo ${data.remote.ami.id}"]
  }
}
`

func TestDataSources(t *testing.T) {
	t.Parallel()
	t.Run("build runs every data source in dependency order", func(t *testing.T) {
		t.Parallel()
		c, js, runs, err := loadJobs(t, dataTemplate, true)
		if err != nil {
			t.Fatal(err)
		}
		if got := js[0].Builder.(*fakeBuilder).cfg.Tag; got != "id-id-base-base" {
			t.Errorf("tag = %q, want id-id-base-base (local -> data.null -> data.remote -> local)", got)
		}
		if runs.Load() != 2 || !c.Data["remote.ami"].Executed {
			t.Errorf("runs = %d, want 2", runs.Load())
		}
	})
	t.Run("validate runs only local ones and tolerates unknowns", func(t *testing.T) {
		t.Parallel()
		c, js, runs, err := loadJobs(t, dataTemplate, false)
		if err != nil {
			t.Fatal(err)
		}
		if runs.Load() != 1 || !c.Data["null.n"].Executed || c.Data["remote.ami"].Executed {
			t.Errorf("runs = %d: validate must run data.null only", runs.Load())
		}
		if got := js[0].Builder.(*fakeBuilder).cfg.Tag; got != unknownString {
			t.Errorf("tag = %q, want Packer's placeholder for an unknown", got)
		}
		if got := js[0].Steps[0].Provisioner.(*fakeProv).Inline[0]; got != unknownString {
			t.Errorf("inline = %q", got)
		}
	})
	t.Run("a cycle names both blocks", func(t *testing.T) {
		t.Parallel()
		src := strings.Replace(dataTemplate, `input = local.stem`, `input = local.tag`, 1)
		_, _, _, err := loadJobs(t, src, true)
		for _, w := range []string{"Cycle between locals and data", `data "null" "n"`, `data "remote" "ami"`, `local "tag"`, "break the cycle"} {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("error does not say %q: %v", w, err)
			}
		}
		if strings.Count(err.Error(), "Cycle") != 1 {
			t.Errorf("one cycle, reported more than once:\n%v", err)
		}
	})
	t.Run("a failing data source does not hide other errors", func(t *testing.T) {
		t.Parallel()
		src := strings.Replace(dataTemplate, `input = data.null.n.id`, "input = data.null.n.id\n  fail = true", 1) +
			"\nsource \"docker\" \"b\" {\n  imgae = \"x\"\n}\nbuild {\n  sources = [\"source.docker.b\"]\n}\n"
		_, _, _, err := loadJobs(t, src, true)
		if err == nil {
			t.Fatal("no error")
		}
		for _, w := range []string{"Data source failed", "the remote said no", `"imgae"`} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error does not say %q:\n%v", w, err)
			}
		}
		if strings.Contains(err.Error(), "Unsupported attribute") || strings.Contains(err.Error(), "Unknown variable") {
			t.Errorf("what uses the failed data source reports errors of its own:\n%v", err)
		}
	})
	t.Run("unknown type", func(t *testing.T) {
		t.Parallel()
		_, _, _, err := loadJobs(t, strings.Replace(dataTemplate, `data "null"`, `data "nope"`, 1), true)
		if err == nil || !strings.Contains(err.Error(), `data source type "nope"`) || !strings.Contains(err.Error(), "null, remote, secret") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("sensitive values are redacted", func(t *testing.T) {
		t.Parallel()
		src := strings.Replace(dataTemplate, `data "remote" "ami"`, `data "secret" "ami"`, 1)
		src = strings.ReplaceAll(src, "data.remote.ami", "data.secret.ami")
		c, js, _, err := loadJobs(t, src, true)
		if err != nil {
			t.Fatal(err)
		}
		secrets := strings.Join(c.Secrets(), " ")
		if !strings.Contains(secrets, "id-id-base") {
			t.Errorf("secrets %q lack the sensitive data value", secrets)
		}
		if strings.Contains(string(js[0].Inputs), "id-id-base") || !strings.Contains(string(js[0].Inputs), bake.Redacted) {
			t.Errorf("inputs show a sensitive value:\n%s", js[0].Inputs)
		}
		if got := js[0].Steps[0].Provisioner.(*fakeProv).Inline[0]; got != "echo id-id-base" {
			t.Errorf("the plugin gets %q, want the real value", got)
		}
	})
}

func TestBuildSourceOverrides(t *testing.T) {
	t.Parallel()
	src := `
source "docker" "app" {
  image = "img"
}
build {
  name = "b-${local.x}"
  description = "built ${var.v}"
  source "source.docker.app" {
    name = "first"
    tag  = "t1"
  }
  source "docker.app" {
    name = "second"
  }
  hcp_packer_registry {
    description   = "d"
    bucket_labels = { os = "debian" }
    build_labels  = { v = var.v }
  }
}
variable "v" {
  default = "7"
}
locals {
  x = "one"
}
packer {
  required_version = ">= 1.7.0"
  required_plugins {
    docker = { version = ">= 1.0.0", source = "github.com/hashicorp/docker" }
  }
}
`
	c, js, _, err := loadJobs(t, src, false)
	if err != nil {
		t.Fatal(err)
	}
	b := c.Builds[0]
	if b.Name != "b-one" || b.Description != "built 7" {
		t.Errorf("name %q description %q: var/local not evaluated", b.Name, b.Description)
	}
	if len(js) != 2 || js[0].Name != "b-one.docker.first" || js[1].Name != "b-one.docker.second" {
		t.Fatalf("jobs = %v", js)
	}
	if got := js[0].Builder.(*fakeBuilder).cfg; got.Tag != "t1" || got.Image != "img" {
		t.Errorf("first = %+v: override not merged", got)
	}
	if got := js[1].Builder.(*fakeBuilder).cfg; got.Tag != "" {
		t.Errorf("second = %+v: the first's override leaked", got)
	}
	if string(js[0].Inputs) == string(js[1].Inputs) {
		t.Errorf("an override does not change the inputs")
	}
	r := b.Registry
	if r == nil || r.BucketName != "b-one" || r.BucketLabels["os"] != "debian" || r.BuildLabels["v"] != "7" {
		t.Errorf("registry = %+v", r)
	}
	warns := strings.Join(c.Warnings, "\n")
	if strings.Count(warns, "hcp_packer_registry recorded in lineage only") != 1 || strings.Count(warns, "required_plugins docker (github.com/hashicorp/docker >= 1.0.0)") != 1 {
		t.Errorf("warnings = %q", warns)
	}

	dup := strings.Replace(src, `image = "img"`, "image = \"img\"\n  tag = \"top\"", 1)
	_, _, _, err = loadJobs(t, dup, false)
	if err == nil || !strings.Contains(err.Error(), `"tag" is already defined in source "docker.app"`) {
		t.Errorf("setting an argument twice: %v", err)
	}
}

func TestNullDynamicAndContext(t *testing.T) {
	t.Parallel()
	src := `
variable "tag" {
  type    = string
  default = null
}
source "docker" "app" {
  image = "img"
  tag   = var.tag
}
build {
  sources = ["source.docker.app"]
  provisioner "blocks" {
    max_retries = null
    dynamic "item" {
      for_each = ["a", "b"]
      content {
        name = "${item.value}-${source.name}"
      }
    }
  }
  provisioner "shell" {
    inline = ["${source.type} ${packer.version} ${build.SourceAMI} ${path.root} ${path.cwd}"]
  }
}
`
	c, js, _, err := loadJobs(t, src, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := js[0].Builder.(*fakeBuilder).cfg.Tag; got != "" {
		t.Errorf("tag = null gave %q, want unset", got)
	}
	items := js[0].Steps[0].Provisioner.(*fakeBlocks).Items
	if len(items) != 2 || items[0].Name != "a-app" || items[1].Name != "b-app" {
		t.Errorf("dynamic blocks = %+v", items)
	}
	cwd, _ := os.Getwd()
	want := fmt.Sprintf("docker %s {{ build `SourceAMI` }} %s %s", PackerVersion, c.Dir, cwd)
	if got := js[0].Steps[1].Provisioner.(*fakeProv).Inline[0]; got != want {
		t.Errorf("inline = %q, want %q", got, want)
	}
}

func TestDiagnosticsOnceAndSorted(t *testing.T) {
	t.Parallel()
	src := `
source "docker" "bad" {
  imgae = "x"
}
build {
  name    = "one"
  sources = ["source.docker.bad"]
}
build {
  name    = "two"
  sources = ["source.docker.bad"]
  provisioner "shell" {
    nope = 1
  }
}
build {
  name    = "three"
  sources = ["source.docker.bad"]
}
`
	var first string
	for i := 0; i < 10; i++ {
		_, _, _, err := loadJobs(t, src, false)
		if err == nil {
			t.Fatal("no error")
		}
		msg := regexpTemp.ReplaceAllString(err.Error(), "DIR")
		if i == 0 {
			first = msg
			if n := strings.Count(msg, `"imgae"`); n != 1 {
				t.Errorf("the source's error appears %d times, want once:\n%s", n, msg)
			}
			if a, b := strings.Index(msg, "imgae"), strings.Index(msg, "nope"); a < 0 || b < 0 || a > b {
				t.Errorf("errors not in file order:\n%s", msg)
			}
		} else if msg != first {
			t.Fatalf("run %d differs:\n%s\n---\n%s", i, msg, first)
		}
	}
}

func TestFunctions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "t.tpl"), []byte("hello ${name}%{ for x in xs }-${x}%{ endfor }"), 0o644); err != nil {
		t.Fatal(err)
	}
	tpl := filepath.Join(dir, "t.tpl")
	tests := map[string]string{
		`templatefile("` + tpl + `", { name = "w", xs = ["a", "b"] })`:           "hello w-a-b",
		`try(local.nope, "fallback")`:                                            "fallback",
		`tostring(can(regex("^ami-", "ami-1")))`:                                 "true",
		`regex_replace("a.b.c", "\\.", "-")`:                                     "a-b-c",
		`tostring(jsondecode("{\"a\":1}").a)`:                                    "1",
		`coalesce("", "x")`:                                                      "x",
		`yamlencode({ a = 1 })`:                                                  "\"a\": 1\n",
		`tostring(strcontains("abc", "b"))`:                                      "true",
		`tostring(startswith("abc", "a"))`:                                       "true",
		`tostring(endswith("abc", "c"))`:                                         "true",
		`tostring(index(["a", "b"], "b"))`:                                       "1",
		`cidrsubnet("10.0.0.0/16", 8, 2)`:                                        "10.0.2.0/24",
		`textencodebase64("hi", "UTF-16LE")`:                                     "aABpAA==",
		`legacy_strftime("%Y") == formatdate("YYYY", timestamp()) ? "ok" : "no"`: "ok",
		`basename(abspath("x/y.txt"))`:                                           "y.txt",
		`tostring(sum([1, 2]))`:                                                  "3",
		`convert(1, string)`:                                                     "1",
		`sensitive("s")`:                                                         "s",
		`tostring(fileexists("` + tpl + `"))`:                                    "true",
	}
	c := &Config{cwd: dir, Locals: map[string]*Local{}}
	for expr, want := range tests {
		e, diags := hclParse(expr)
		if diags.HasErrors() {
			t.Errorf("%s: %s", expr, diags)
			continue
		}
		v, diags := e.Value(c.EvalContext(nil))
		if diags.HasErrors() {
			t.Errorf("%s: %s", expr, diags)
			continue
		}
		v, _ = v.Unmark()
		if v.Type() != cty.String || v.AsString() != want {
			t.Errorf("%s = %#v, want %q", expr, v, want)
		}
	}
	e, _ := hclParse(`vault("secret/x", "k")`)
	if _, diags := e.Value(c.EvalContext(nil)); !diags.HasErrors() || !strings.Contains(diags.Error(), "bake does not support vault()") {
		t.Errorf("vault: %v", diags)
	}
}

func TestRelativePathsFromWorkingDirectory(t *testing.T) {
	t.Parallel()
	// file() reads relative to the working directory, as in Packer; a
	// template reaches its own folder with path.root.
	dir := write(t, map[string]string{"x.txt": "beside"})
	src := `
source "docker" "app" {
  image = file("${path.root}/x.txt")
  tag   = fileexists("x.txt") ? "cwd" : "root-only"
}
build {
  sources = ["source.docker.app"]
}
`
	if err := os.WriteFile(filepath.Join(dir, "app.pkr.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(Options{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	js, err := c.Jobs(ExpandOptions{Plugins: testPlugins(), Version: "v", RunUUID: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if got := js[0].Builder.(*fakeBuilder).cfg; got.Image != "beside" || got.Tag != "root-only" {
		t.Errorf("source = %+v", got)
	}
}

var regexpTemp = regexp.MustCompile(`/tmp/[^ :]*`)

func hclParse(s string) (hcl.Expression, hcl.Diagnostics) {
	return hclsyntax.ParseExpression([]byte(s), "t.hcl", hcl.InitialPos)
}
