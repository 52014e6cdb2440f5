package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the bake-file parser: it must return
// a value or an error, never panic.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(base))
	f.Add([]byte("build {\n sources = [\"source.docker.a\"]\n}\n"))
	f.Add([]byte("variable \"x\" {\n type = list(string)\n default = [\"a\"]\n}\n"))
	f.Add([]byte("locals { a = local.b\n b = local.a }\n"))
	if b, err := os.ReadFile("../../testdata/hello/hello.bake.hcl"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		dir := t.TempDir()
		p := filepath.Join(dir, "f.bake.hcl")
		if err := os.WriteFile(p, src, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Load(Options{Path: p, Vars: []string{"image=x"}})
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		c.Jobs(ExpandOptions{Plugins: testPlugins(), Version: "v", RunUUID: "r"})
	})
}
