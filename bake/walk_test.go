package bake

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestWalkTree(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	for _, d := range []string{"b", "b/c"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"a.txt", "b/c/d.txt"} {
		if err := os.WriteFile(filepath.Join(root, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("b", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	var got []string
	err := WalkTree(root, func(p, rel string, info fs.FileInfo) error {
		if p != filepath.Join(root, filepath.FromSlash(rel)) {
			t.Errorf("path %s is not root/%s", p, rel)
		}
		kind := "file"
		switch {
		case info.IsDir():
			kind = "dir"
		case info.Mode()&fs.ModeSymlink != 0:
			kind = "link"
		}
		got = append(got, rel+" "+kind)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{". dir", "a.txt file", "b dir", "b/c dir", "b/c/d.txt file", "link link"}
	if !slices.Equal(got, want) {
		t.Errorf("WalkTree visited %q, want %q", got, want)
	}
}
