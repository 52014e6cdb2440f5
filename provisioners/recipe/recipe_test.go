package recipe

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/bakehq/bake/bake"
	dockercomm "github.com/bakehq/bake/communicators/docker"
	"github.com/bakehq/bake/internal/testenv"
)

const baseImage = "localbase/debian:bookworm"

func decode(t *testing.T, dir, src string) (bake.Provisioner, hcl.Diagnostics) {
	t.Helper()
	f, diags := hclsyntax.ParseConfig([]byte(src), filepath.Join(dir, "app.bake.hcl"), hcl.Pos{Line: 10, Column: 1})
	if diags.HasErrors() {
		t.Fatalf("parse: %v", diags)
	}
	return New(bake.DecodeContext{Body: f.Body, Dir: dir, Name: "recipe", Range: hcl.Range{Filename: filepath.Join(dir, "app.bake.hcl"), Start: hcl.Pos{Line: 9, Column: 1}}})
}

// TestNewErrors: bad input in a bake file is a diagnostic at its line.
func TestNewErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"unknown recipe", `name = "ngnix"`, []string{`unknown recipe "ngnix"`, `Did you mean "nginx"`}},
		{"unknown param", "name = \"nginx\"\nparams = { prot = 8080 }", []string{`unknown param "prot"`, "app.bake.hcl:11", `Did you mean "port"`}},
		{"mistyped param", "name = \"nginx\"\nparams = { port = \"eighty\" }", []string{`wrong type for param "port"`, "app.bake.hcl:11", "nginx.hcl"}},
		{"invalid param", "name = \"nginx\"\nparams = { port = 70000 }", []string{"port must be between 1 and 65535", "app.bake.hcl:11"}},
		{"missing param", `name = "haproxy"`, []string{`missing param "backends"`, "haproxy.hcl"}},
		{"no name", `params = {}`, []string{"Missing recipe name"}},
		{"unknown attribute", "name = \"nginx\"\nparms = {}", []string{"parms"}},
		{"inline recipe missing field", "recipe \"mine\" {\n  symlink \"/x\" {}\n}", []string{`"target" is required`, "app.bake.hcl:11"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, diags := decode(t, t.TempDir(), tt.src)
			if !diags.HasErrors() {
				t.Fatal("decoded; want an error")
			}
			var msgs []string
			for _, d := range diags {
				m := d.Summary + ": " + d.Detail
				if d.Subject != nil {
					m = d.Subject.String() + ": " + m
				}
				msgs = append(msgs, m)
			}
			got := strings.Join(msgs, "\n")
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("diagnostics lack %q:\n%s", w, got)
				}
			}
		})
	}
}

// TestRecipeSources: a recipe can be inline in the provisioner, in the
// bake file, or in its own .hcl file next to it; the built-in library is
// the fallback, and an inline recipe shadows a built-in of its name.
func TestRecipeSources(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("motd.hcl", "recipe \"motd\" {\n  param \"text\" { default = \"hi\" }\n  file \"/etc/motd\" { content = \"${param.text}\\n\" }\n}\n")
	write("app.bake.hcl", "recipe \"banner\" {\n  file \"/etc/banner\" { content = \"b\\n\" }\n}\nbuild {}\n")
	write("vars.pkrvars.hcl", "x = 1\n")
	tests := []struct{ src, want string }{
		{"name = \"motd\"\nparams = { text = \"hello\" }", "hello"},
		{`name = "banner"`, "/etc/banner"},
		{"recipe \"nginx\" {\n  file \"/etc/mine\" { content = \"m\\n\" }\n}\nname = \"nginx\"", "/etc/mine"},
		{"recipe \"only\" {\n  file \"/etc/only\" { content = \"o\\n\" }\n}", "/etc/only"},
		{`name = "redis"`, "redis-server"},
	}
	for _, tt := range tests {
		p, diags := decode(t, dir, tt.src)
		if diags.HasErrors() {
			t.Errorf("%s: %v", tt.src, diags)
			continue
		}
		if s := p.(*Provisioner).Script.Text; !strings.Contains(s, tt.want) {
			t.Errorf("%s: script lacks %q", tt.src, tt.want)
		}
	}
}

type fpRecorder map[string]string

func (f fpRecorder) Add(name string, value []byte) { f[name] = string(value) }
func (f fpRecorder) AddFile(name, path string) error {
	f[name] = path
	return nil
}

func TestFingerprintFollowsParams(t *testing.T) {
	t.Parallel()
	fp := func(src string) string {
		p, diags := decode(t, t.TempDir(), src)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		r := fpRecorder{}
		if err := p.(bake.Fingerprinter).Fingerprint(r); err != nil {
			t.Fatal(err)
		}
		return r["recipe-script"]
	}
	a, b := fp("name = \"nginx\"\nparams = { port = 80 }"), fp("name = \"nginx\"\nparams = { port = 81 }")
	if a == b {
		t.Error("the fingerprint does not change with the params")
	}
	if a != fp("name = \"nginx\"") {
		t.Error("the fingerprint changes between equal configurations")
	}
}

// runContainer starts a labelled container of the base image for a test.
func runContainer(t *testing.T) (*client.Client, string) {
	t.Helper()
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		testenv.SkipOrFail(t, "docker engine not reachable: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := api.Ping(ctx); err != nil {
		testenv.SkipOrFail(t, "docker engine not reachable: %v", err)
	}
	if _, err := api.ImageInspect(ctx, baseImage); err != nil {
		testenv.SkipOrFail(t, "base image %s is not here (run hack/base-image.sh): %v", baseImage, err)
	}
	c, err := api.ContainerCreate(ctx, &container.Config{Image: baseImage, Cmd: []string{"sleep", "infinity"}, Labels: map[string]string{"bake.test": "provisioners/recipe", runLabel: testRun}},
		&container.HostConfig{Init: func() *bool { b := true; return &b }()}, nil, nil, "")
	if err != nil {
		t.Fatalf("create container: %v", err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := api.ContainerRemove(cctx, c.ID, container.RemoveOptions{Force: true}); err != nil {
			t.Errorf("remove container: %v", err)
		}
	})
	if err := api.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		t.Fatalf("start container: %v", err)
	}
	return api, c.ID
}

// TestApplyIsIdempotent applies every resource kind that needs no network
// twice: the first run changes each, the second none.
func TestApplyIsIdempotent(t *testing.T) {
	t.Parallel()
	api, id := runContainer(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "site", "css"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"site/index.html": "<p>hi</p>\n", "site/css/a.css": "p{}\n", "motd.txt": "welcome\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src := `recipe "all" {
  param "name" { default = "web" }
  group "web" {
    system = true
  }
  user "web" {
    system = true
    group  = "web"
    groups = ["adm"]
    home   = "/srv/web"
    shell  = "/usr/sbin/nologin"
  }
  directory "/srv/web" {
    mode   = "0750"
    owner  = "web"
    group  = "web"
    source = "site"
  }
  file "/etc/motd" { source = "motd.txt" }
  file "/etc/web.conf" {
    template = "name={{ .name }}\n"
    mode     = "0600"
    owner    = "web"
    notify   = ["web"]
  }
  file "/etc/no-newline" { content = "x" }
  symlink "/etc/web-link" { target = "/etc/web.conf" }
  file "/etc/old" { state = "absent" }
  line_in_file "limits" {
    path  = "/etc/security/limits.conf"
    match = "^web +soft +nofile"
    line  = "web soft nofile 65536"
  }
  command "stamp" {
    run     = "date > /var/tmp/stamp"
    creates = "/var/tmp/stamp"
  }
  command "as-user" {
    run    = "id -un > /tmp/who && pwd >> /tmp/who"
    user   = "web"
    dir    = "/srv/web"
    unless = "grep -qx web /tmp/who"
  }
  service "web" {
    run  = "exec sleep infinity"
    user = "web"
  }
}
name = "all"
`
	p, diags := decode(t, dir, src)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	s := p.(*Provisioner).Script
	comm := dockercomm.New(api, id, "")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// /etc/old exists before the first run, so that removing it is a change.
	if err := bake.RunChecked(ctx, comm, "touch /etc/old", nil); err != nil {
		t.Fatal(err)
	}
	first, err := Apply(ctx, comm, s, nil, bake.Log{})
	if err != nil {
		t.Fatalf("first apply: %v", err)
	}
	if len(first.Changed) != s.Resources || len(first.OK) != 0 {
		t.Errorf("first apply changed %v, left %v; want all %d changed", first.Changed, first.OK, s.Resources)
	}
	if first.ImageCmd != "/usr/local/sbin/bake-services" {
		t.Errorf("image cmd = %q", first.ImageCmd)
	}
	second, err := Apply(ctx, comm, s, nil, bake.Log{})
	if err != nil {
		t.Fatalf("second apply: %v", err)
	}
	if len(second.Changed) != 0 || len(second.OK) != s.Resources {
		t.Errorf("second apply changed %v; want nothing", second.Changed)
	}
	var out strings.Builder
	code, err := comm.Run(ctx, &bake.RemoteCmd{Command: "cat /tmp/who /srv/web/css/a.css /etc/web.conf; stat -c '%a %U' /srv/web /etc/web.conf /srv/web/index.html; readlink /etc/web-link; test ! -e /etc/old; ls /tmp | grep -c bake-recipe || true", Stdout: &out, Stderr: &out})
	if err != nil || code != 0 {
		t.Fatalf("check: exit %d, %v: %s", code, err, out.String())
	}
	want := "web\n/srv/web\np{}\nname=web\n750 web\n600 web\n644 web\n/etc/web.conf\n0\n"
	if out.String() != want {
		t.Errorf("machine state:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestApplyFailureNamesResource: the script stops at the failing
// resource; the error names it, its file:line and the output tail.
func TestApplyFailureNamesResource(t *testing.T) {
	t.Parallel()
	api, id := runContainer(t)
	src := `recipe "broken" {
  file "/etc/before" { content = "1\n" }
  command "boom" {
    run = "echo checking the widget; echo widget is missing >&2; exit 3"
  }
  file "/etc/after" { content = "2\n" }
}
`
	p, diags := decode(t, t.TempDir(), src)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	comm := dockercomm.New(api, id, "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := Apply(ctx, comm, p.(*Provisioner).Script, nil, bake.Log{})
	var re *bake.RunError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want a *bake.RunError", err)
	}
	msg := re.Error()
	for _, w := range []string{"command[boom]", "app.bake.hcl:12", "widget is missing", "checking the widget", "exit=3"} {
		if !strings.Contains(msg, w) {
			t.Errorf("error lacks %q:\n%s", w, msg)
		}
	}
	if len(res.Changed) != 1 || res.Changed[0] != "file[/etc/before]" {
		t.Errorf("changed = %v, want only file[/etc/before]", res.Changed)
	}
	code, err := comm.Run(ctx, &bake.RemoteCmd{Command: "test ! -e /etc/after && ! ls -d /tmp/bake-recipe*"})
	if err != nil || code != 0 {
		t.Errorf("the script went past the failure or left its files: exit %d, %v", code, err)
	}
}
