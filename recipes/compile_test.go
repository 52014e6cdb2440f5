package recipes

import (
	"bytes"
	"io/fs"
	"os/exec"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// compileSrc compiles the recipe "t" of src with args given as flags.
func compileSrc(t *testing.T, src string, flags ...string) (*Script, error) {
	t.Helper()
	rs, diags := ParseFile("test.hcl", []byte(src))
	if diags.HasErrors() {
		return nil, diagError(diags)
	}
	lib, err := NewLibrary()
	if err != nil {
		t.Fatal(err)
	}
	if d := lib.Add(rs...); d.HasErrors() {
		return nil, diagError(d)
	}
	args := map[string]Arg{}
	for _, f := range flags {
		k, a, err := ParseFlag(f)
		if err != nil {
			t.Fatal(err)
		}
		args[k] = a
	}
	return lib.Compile("t", args, t.TempDir())
}

func TestCompileRendersResources(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		body  string
		flags []string
		want  []string // fragments of the script, in order
		not   []string
	}{
		{"package batch", `package "curl" {}
package "nginx-light" { version = "1.22*" }`,
			nil, []string{"# 2 packages, installed in one transaction", "_pkg 'package[curl]' curl ''", "_pkg 'package[nginx-light]' nginx-light '1.22*'", "_pkg_commit test.hcl:2"}, nil},
		{"file content heredoc", `file "/etc/motd" {
  content = "hello\n"
  mode = "0640"
  owner = "root"
}`, nil, []string{"_begin 'file[/etc/motd]' test.hcl:2", "_content <<'BAKE_EOF'\nhello\nBAKE_EOF", "_file /etc/motd mode=640 owner=root", "_end"}, nil},
		{"file without trailing newline", `file "/etc/x" { content = "a'b" }`, nil,
			[]string{`printf '%s' 'a'"'"'b' >"$_bake_tmp/content"`}, []string{"_content <<"}},
		{"heredoc delimiter in content", `file "/etc/x" { content = "BAKE_EOF\n" }`, nil,
			[]string{"_content <<'BAKE_EOF_2'\nBAKE_EOF\nBAKE_EOF_2"}, nil},
		{"template with params", `param "port" {
  type = number
  default = 80
}
file "/etc/x.conf" { template = "listen {{ .port }};\n" }`, []string{"port=8080"}, []string{"listen 8080;"}, nil},
		{"when false drops the resource", `param "on" {
  type = bool
  default = false
}
file "/etc/x" {
  when = param.on
  content = "x\n"
}
file "/etc/y" { content = "y\n" }`, nil, []string{"file[/etc/y]"}, []string{"file[/etc/x]"}},
		{"for_each over a list", `param "users" {
  type = list(string)
  default = ["ann", "bo"]
}
user "admins" {
  for_each = param.users
  name = each.value
  groups = ["sudo", "adm"]
}`, nil, []string{"_begin 'user[admins:ann]'", "_user ann groups='sudo adm'", "_begin 'user[admins:bo]'", "_user bo"}, nil},
		{"template sees each", `file "conf" {
  for_each = { a = "1", b = "2" }
  path = "/etc/${each.key}.conf"
  template = "{{ .each.key }}={{ .each.value }}\n"
}`, nil, []string{"a=1\nBAKE_EOF\n_file /etc/a.conf", "b=2\nBAKE_EOF\n_file /etc/b.conf"}, nil},
		{"command guards", `command "gen" {
  run = "make-it"
  creates = "/var/made"
  unless = "test -f /var/other"
}`, nil, []string{"if [ -e /var/made ]; then", "elif _sh <<'BAKE_EOF'\ntest -f /var/other\nBAKE_EOF\nthen", "else\n\t_sh <<'BAKE_EOF'\nmake-it\nBAKE_EOF\n\t_changed\nfi"}, nil},
		{"command runs as a user with env", `command "x" {
  run = "id"
  user = "app"
  dir = "/srv"
  env = { B = "2", A = "1 1" }
}`, nil, []string{"_sh user=app dir=/srv <<'BAKE_EOF'\nexport A='1 1'\nexport B=2\nid\nBAKE_EOF"}, nil},
		{"line_in_file", `line_in_file "bind" {
  path = "/etc/redis/redis.conf"
  match = "^bind "
  line = "bind 0.0.0.0"
}`, nil, []string{"_line_in_file /etc/redis/redis.conf '^bind ' 'bind 0.0.0.0'"}, nil},
		{"symlink and absent", `symlink "/etc/localtime" { target = "/usr/share/zoneinfo/UTC" }
file "/etc/old" { state = "absent" }`, nil, []string{"_symlink /etc/localtime /usr/share/zoneinfo/UTC", "_absent /etc/old"}, nil},
		{"service and notify", `file "/etc/app.conf" {
  content = "x\n"
  notify = ["app"]
}
service "app" {
  run = "exec app --foreground"
  user = "app"
}`, nil, []string{"_end app\n", "exec setpriv --reuid=app", "_service app\n", "_restart app\n", "_bake_done t"}, nil},
		{"service with its package's unit", `service "redis" {
  run = "exec redis-server"
  unit = "redis-server"
}`, nil, []string{"_service redis redis-server\n"}, []string{"_restart"}},
		{"include runs the included recipe first", `include "java" {}
file "/etc/x" { content = "x\n" }`, nil, []string{"# === recipe java ===", "_pkg 'package[java]' default-jre-headless ''", "# === recipe t ===", "file[/etc/x]"}, nil},
		{"groups and users", `group "app" {
  gid = 900
  system = true
}`, nil, []string{"_group app gid=900 system=yes"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := compileSrc(t, "recipe \"t\" {\n"+tt.body+"\n}\n", tt.flags...)
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			rest := s.Text
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("script lacks %q (in order); script body:\n%s", w, body(s.Text))
				}
				rest = rest[i+len(w):]
			}
			for _, n := range tt.not {
				if strings.Contains(body(s.Text), n) {
					t.Errorf("script has %q:\n%s", n, body(s.Text))
				}
			}
			checkSyntax(t, s.Text)
		})
	}
}

func body(script string) string {
	if i := strings.Index(script, "# --- end of runtime"); i >= 0 {
		return script[i:]
	}
	return script
}

func checkSyntax(t *testing.T, script string) {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		return
	}
	cmd := exec.Command(sh, "-n")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("sh -n: %v: %s", err, out)
	}
}

// TestCompileErrors: bad input is an error that names the file and line.
func TestCompileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		src   string
		flags []string
		want  []string
	}{
		{"missing required field", "recipe \"t\" {\n  symlink \"/x\" {}\n}\n", nil, []string{"test.hcl:2", `"target" is required`}},
		{"unknown field", "recipe \"t\" {\n  file \"/x\" {\n    contnt = \"x\"\n  }\n}\n", nil, []string{"test.hcl:3", "contnt"}},
		{"unknown resource type", "recipe \"t\" {\n  packge \"x\" {}\n}\n", nil, []string{"test.hcl:2", "packge"}},
		{"file without content", "recipe \"t\" {\n  file \"/x\" { mode = \"0644\" }\n}\n", nil, []string{"test.hcl:2", "needs its content"}},
		{"unknown param", "recipe \"t\" {\n  param \"port\" {\n    type = number\n    default = 1\n  }\n}\n", []string{"prot=2"}, []string{`unknown param "prot"`, "test.hcl:1", `Did you mean "port"`}},
		{"mistyped param", "recipe \"t\" {\n  param \"port\" {\n    type = number\n    default = 1\n  }\n}\n", []string{"port=eighty"}, []string{`wrong type for param "port"`, "test.hcl:2", "-p port=eighty"}},
		{"missing param", "recipe \"t\" {\n  param \"backends\" { type = list(string) }\n}\n", nil, []string{`missing param "backends"`, "test.hcl:2"}},
		{"validation", "recipe \"t\" {\n  param \"n\" {\n    type = number\n    default = 1\n    validation {\n      condition = param.n > 5\n      error_message = \"n must be above 5\"\n    }\n  }\n}\n", nil, []string{"test.hcl:5", "n must be above 5"}},
		{"relative path", "recipe \"t\" {\n  file \"etc/x\" { content = \"x\" }\n}\n", nil, []string{"test.hcl:2", "not absolute"}},
		{"bad mode", "recipe \"t\" {\n  file \"/x\" {\n    content = \"x\"\n    mode = \"0999\"\n  }\n}\n", nil, []string{"test.hcl:4", "not an octal file mode"}},
		{"notify without service", "recipe \"t\" {\n  file \"/x\" {\n    content = \"x\"\n    notify = [\"nginx\"]\n  }\n}\n", nil, []string{"test.hcl:4", `no service "nginx"`}},
		{"unknown include", "recipe \"t\" {\n  include \"jav\" {}\n}\n", nil, []string{"test.hcl:2", `unknown recipe "jav"`}},
		{"include cycle", "recipe \"t\" {\n  include \"u\" {}\n}\nrecipe \"u\" {\n  include \"t\" {}\n}\n", nil, []string{"test.hcl:5", "t -> u -> t"}},
		{"bad template", "recipe \"t\" {\n  file \"/x\" { template = \"{{ .nope }}\" }\n}\n", nil, []string{"test.hcl:2", "run the template"}},
		{"hcl syntax", "recipe \"t\" {\n  file \"/x\" {\n", nil, []string{"test.hcl:"}},
		{"bad regexp", "recipe \"t\" {\n  line_in_file \"x\" {\n    path = \"/x\"\n    line = \"a\"\n    match = \"(\"\n  }\n}\n", nil, []string{"test.hcl:5", "not an extended regular expression"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := compileSrc(t, tt.src, tt.flags...)
			if err == nil {
				t.Fatal("compiled; want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestUnknownRecipe(t *testing.T) {
	t.Parallel()
	lib, err := NewLibrary()
	if err != nil {
		t.Fatal(err)
	}
	_, err = lib.Compile("ngnix", nil, "")
	if err == nil || !strings.Contains(err.Error(), `unknown recipe "ngnix"`) || !strings.Contains(err.Error(), `Did you mean "nginx"`) {
		t.Fatalf("err = %v", err)
	}
}

// TestBuiltinsCompile: every built-in recipe compiles with its defaults
// (and the required params), to a script sh can parse, and has a doc.
func TestBuiltinsCompile(t *testing.T) {
	t.Parallel()
	lib, err := NewLibrary()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"base", "haproxy", "java", "mariadb", "memcached", "nginx", "nodejs", "php-fpm", "redis", "security-patches", "tomcat"}
	if got := strings.Join(lib.Names(), " "); got != strings.Join(want, " ") {
		t.Errorf("built-in recipes = %s, want %s", got, strings.Join(want, " "))
	}
	required := map[string]map[string]Arg{
		"haproxy": {"backends": {Value: cty.TupleVal([]cty.Value{cty.StringVal("127.0.0.1:8080")})}},
		"nodejs":  {"app_source": {Value: cty.StringVal(".")}},
	}
	for _, r := range lib.Recipes() {
		t.Run(r.Name, func(t *testing.T) {
			t.Parallel()
			if !strings.Contains(r.Doc, "Example:") {
				t.Errorf("doc has no example:\n%s", r.Doc)
			}
			for _, p := range r.Params {
				if p.Description == "" && len(r.Params) > 3 && p.Name != "port" {
					t.Logf("param %s has no description", p.Name)
				}
			}
			s, err := lib.Compile(r.Name, required[r.Name], t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if s.Resources == 0 {
				t.Error("no resources")
			}
			checkSyntax(t, s.Text)
		})
	}
}

func TestFlagValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		typ  cty.Type
		want string
		bad  bool
	}{
		{"8080", cty.Number, "8080", false},
		{"x", cty.Number, "", true},
		{"true", cty.Bool, "true", false},
		{"a,b", cty.List(cty.String), `["a", "b"]`, false},
		{`["a", "b"]`, cty.List(cty.String), `["a", "b"]`, false},
		{`{a = "1"}`, cty.Map(cty.String), `{a="1"}`, false},
		{"a=1", cty.Map(cty.String), "", true},
	}
	for _, tt := range tests {
		v, err := flagValue(tt.in, tt.typ)
		if tt.bad {
			if err == nil {
				t.Errorf("%q as %s: no error", tt.in, typeString(tt.typ))
			}
			continue
		}
		if err != nil {
			t.Errorf("%q as %s: %v", tt.in, typeString(tt.typ), err)
			continue
		}
		if got := showValue(v); got != tt.want {
			t.Errorf("%q as %s = %s, want %s", tt.in, typeString(tt.typ), got, tt.want)
		}
	}
}

// FuzzParseFile: parsing and compiling any input never panics, and an
// error always names a position.
func FuzzParseFile(f *testing.F) {
	f.Add([]byte("recipe \"t\" {\n  file \"/x\" { content = \"x\" }\n}\n"))
	f.Add([]byte("recipe \"t\" {\n  param \"p\" {\n    type = list(string)\n    default = [\"a\"]\n  }\n  user \"u\" {\n    for_each = param.p\n    name = each.value\n  }\n}\n"))
	f.Add([]byte("recipe \"t\" {\n  include \"nginx\" { params = { port = 1 } }\n  command \"c\" {\n    run = \"x\"\n    unless = \"y\"\n  }\n}\n"))
	f.Add([]byte("recipe \"\" { package \"\" {} }"))
	lib, err := NewLibrary()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		rs, diags := ParseFile("fuzz.hcl", src)
		if diags.HasErrors() {
			for _, d := range diags {
				if d.Severity == 0 {
					t.Fatalf("diagnostic without severity: %v", d)
				}
			}
			return
		}
		l := &Library{byName: map[string]*Recipe{}}
		for k, v := range lib.byName {
			l.byName[k] = v
		}
		if d := l.Add(rs...); d.HasErrors() {
			return
		}
		for _, r := range rs {
			s, err := l.Compile(r.Name, nil, t.TempDir())
			if err == nil && !strings.Contains(s.Text, "_bake_done") {
				t.Fatalf("script of %s has no end", r.Name)
			}
		}
	})
}

// TestLibraryIsFormatted: the built-in recipes are in canonical HCL style.
func TestLibraryIsFormatted(t *testing.T) {
	t.Parallel()
	files, err := fs.Glob(builtinFS, "library/*.hcl")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		src, err := builtinFS.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := hclwrite.Format(src); !bytes.Equal(got, src) {
			t.Errorf("%s is not formatted as hclwrite.Format would", f)
		}
	}
}
