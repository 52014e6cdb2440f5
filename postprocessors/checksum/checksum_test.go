package checksum

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/bakehq/bake/bake"
)

func TestChecksum(t *testing.T) {
	dir := t.TempDir()
	tarball := filepath.Join(dir, "exp.tar")
	if err := os.WriteFile(tarball, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := `checksum_types = ["sha256", "md5"]
output = "` + dir + `/{{.BuildName}}_{{.BuilderType}}.{{.ChecksumType}}"`
	f, diags := hclsyntax.ParseConfig([]byte(src), "t.pkr.hcl", hcl.Pos{Line: 1, Column: 1})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	eval := &hcl.EvalContext{Variables: map[string]cty.Value{"source": cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("exp")})}}
	pp, diags := New(bake.DecodeContext{Body: f.Body, Eval: eval})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	a := &bake.Artifact{BuilderType: "docker", ID: "Container", Extra: map[string]string{"files": tarball}}
	if _, err := pp.PostProcess(context.Background(), a, bake.Log{R: bake.ReporterFunc(func(bake.Event) {})}); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		"exp_docker.sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\texp.tar\n",
		"exp_docker.md5":    "900150983cd24fb0d6963f7d28e17f72\texp.tar\n",
	} {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil || string(b) != want {
			t.Errorf("%s: %q %v, want %q", file, b, err, want)
		}
	}
}
