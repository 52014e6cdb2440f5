package shell

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/bakehq/bake/bake"
)

// recorder is a communicator that records what it is asked to do.
type recorder struct {
	mu    sync.Mutex
	cmds  []string
	files map[string]string
	exit  int
}

func (r *recorder) Run(ctx context.Context, cmd *bake.RemoteCmd) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cmds = append(r.cmds, cmd.Command)
	if strings.HasPrefix(cmd.Command, "rm -f") {
		return 0, nil
	}
	io.WriteString(cmd.Stderr, "some output\n")
	return r.exit, nil
}

func (r *recorder) Upload(ctx context.Context, dst string, rd io.Reader, fi bake.FileInfo) error {
	b, _ := io.ReadAll(rd)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.files == nil {
		r.files = map[string]string{}
	}
	r.files[dst] = string(b)
	return nil
}

func (r *recorder) Download(ctx context.Context, src string, w io.Writer) error { return nil }

func decode(t *testing.T, dir, src string) (bake.Provisioner, hcl.Diagnostics) {
	t.Helper()
	f, diags := hclparse.NewParser().ParseHCL([]byte(src), "p.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return New(bake.DecodeContext{Body: f.Body, Dir: dir, Name: "provisioner shell #1"})
}

func TestProvision(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.sh"), []byte("#!/bin/sh\necho a\n"), 0o755)
	tests := []struct {
		name      string
		src       string
		wantCmds  []string // substrings, in order
		wantFiles int
	}{
		{name: "inline runs without upload",
			src:      `inline = ["echo one", "echo 'two'"]` + "\n" + `environment_vars = ["GREETING=it's me"]`,
			wantCmds: []string{`GREETING='it'"'"'s me' `, `/bin/sh -e -c 'echo one`}},
		{name: "custom execute_command uploads",
			src:       `inline = ["id"]` + "\n" + `execute_command = "sudo -E sh -c '{{ .Vars }} {{ .Path }}'"`,
			wantCmds:  []string{"sudo -E sh -c '", "/tmp/bake-script-", "rm -f /tmp/bake-script-"},
			wantFiles: 1},
		{name: "scripts upload each",
			src:       `scripts = ["a.sh", "a.sh"]`,
			wantCmds:  []string{"chmod +x /tmp/bake-script-", "rm -f", "chmod +x", "rm -f"},
			wantFiles: 2},
		{name: "skip_clean keeps the script",
			src:       `script = "a.sh"` + "\n" + `skip_clean = true` + "\n" + `remote_path = "/opt/x.sh"`,
			wantCmds:  []string{"chmod +x /opt/x.sh; "},
			wantFiles: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, diags := decode(t, dir, tt.src)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			r := &recorder{}
			if err := p.Provision(context.Background(), &bake.Target{Comm: r, Source: "b.docker.x", Version: "v9"}); err != nil {
				t.Fatal(err)
			}
			all := strings.Join(r.cmds, "\n")
			rest := all
			for _, w := range tt.wantCmds {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("commands lack %q (in order):\n%s", w, all)
				}
				rest = rest[i+len(w):]
			}
			if !strings.Contains(all, "BAKE_VERSION='v9'") && !strings.Contains(tt.src, "skip_clean") {
				t.Errorf("BAKE_VERSION not passed:\n%s", all)
			}
			if len(r.files) != tt.wantFiles {
				t.Errorf("uploaded %d files, want %d", len(r.files), tt.wantFiles)
			}
		})
	}
}

func TestProvisionFailure(t *testing.T) {
	t.Parallel()
	p, _ := decode(t, "", `inline = ["false"]`)
	err := p.Provision(context.Background(), &bake.Target{Comm: &recorder{exit: 127}})
	re, ok := err.(*bake.RunError)
	if !ok || re.ExitCode != 127 || !strings.Contains(re.Output, "some output") || !strings.Contains(re.Hint, "not found") {
		t.Errorf("err = %#v", err)
	}
	p, _ = decode(t, "", `inline = ["exit 2"]`+"\n"+`valid_exit_codes = [0, 2]`)
	if err := p.Provision(context.Background(), &bake.Target{Comm: &recorder{exit: 2}}); err != nil {
		t.Errorf("valid_exit_codes not honoured: %v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	for src, want := range map[string]string{
		``:                                       "exactly one of inline, script or scripts",
		`inline = ["a"]` + "\n" + `script = "b"`: "exactly one",
		`script = "missing.sh"`:                  "missing.sh",
		`inline = ["a"]` + "\n" + `environment_vars = ["NOVALUE"]`: "NAME=value",
		`inline = ["a"]` + "\n" + `execute_command = "{{ .Path "`:  "execute_command",
		`inline = ["a"]` + "\n" + `pause_after = "soon"`:           "pause_after",
		`inlin = ["a"]`: "Unsupported argument",
	} {
		_, diags := decode(t, t.TempDir(), src)
		if !diags.HasErrors() || !strings.Contains(diags.Error(), want) {
			t.Errorf("%q: diags %v, want %q", src, diags, want)
		}
	}
}
