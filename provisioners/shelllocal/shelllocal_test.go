package shelllocal

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/bakehq/bake/bake"
)

func decode(t *testing.T, src string) (*Config, hcl.Diagnostics) {
	t.Helper()
	f, diags := hclsyntax.ParseConfig([]byte(src), "t.pkr.hcl", hcl.Pos{Line: 1, Column: 1})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	eval := &hcl.EvalContext{Variables: map[string]cty.Value{"source": cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("web"), "type": cty.StringVal("docker")})}}
	return Decode(bake.DecodeContext{Body: f.Body, Eval: eval, Name: "shell-local", Range: f.Body.(*hclsyntax.Body).SrcRange}, "provisioner")
}

type lines struct {
	mu  sync.Mutex
	out []string
}

func (l *lines) log() bake.Log {
	return bake.Log{R: bake.ReporterFunc(func(e bake.Event) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.out = append(l.out, e.Message)
	})}
}

// TestShellLocal runs real sh: Packer's variables, env, environment_vars,
// a script, execute_command, and a failing command's exit code and output.
func TestShellLocal(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "s.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho script-$PACKER_BUILD_NAME-$X\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, src, want string }{
		{"inline", `inline = ["echo $PACKER_BUILD_NAME $PACKER_BUILDER_TYPE $A $B"]
environment_vars = ["A=it's"]
env = { B = "b" }`, "web docker it's b"},
		{"script", `script = "` + script + `"
environment_vars = ["X=x"]`, "script-web-x"},
		{"execute_command", `inline = ["echo never"]
execute_command = ["/bin/sh", "-c", "echo custom {{ build_name }}"]`, "custom web"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, diags := decode(t, c.src)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			var l lines
			if err := cfg.Run(context.Background(), l.log()); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(strings.Join(l.out, "\n"), c.want) {
				t.Errorf("output %q lacks %q", l.out, c.want)
			}
		})
	}
	cfg, diags := decode(t, `inline = ["echo before-failing", "exit 3"]`)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var l lines
	err := cfg.Run(context.Background(), l.log())
	var re *bake.RunError
	if !errors.As(err, &re) || re.ExitCode != 3 || !strings.Contains(re.Output, "before-failing") {
		t.Fatalf("error %v, want a RunError with exit code 3 and the output", err)
	}
	if _, diags := decode(t, `inline = ["a"]
script = "x"`); !diags.HasErrors() {
		t.Error("inline and script together were accepted")
	}
}
