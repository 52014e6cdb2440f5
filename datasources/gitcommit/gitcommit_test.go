package gitcommit_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bakehq/bake/datasources/gitcommit"
	"github.com/bakehq/bake/datasources/internal/dstest"
	"github.com/bakehq/bake/internal/testenv"
)

// repo makes a git repository with two commits using the git CLI, and
// returns its folder and `git rev-parse` of rev.
func repo(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("git is not installed: apt-get install git")
		}
		testenv.SkipOrFail(t, "git is not installed")
	}
	dir := t.TempDir()
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"commit", "-q", "--allow-empty", "-m", "first"},
		{"commit", "-q", "--allow-empty", "-m", "second\n\nwith a body"},
		{"branch", "release"},
		{"tag", "v1", "HEAD~1"},
	} {
		git(t, dir, args...)
	}
	return dir
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Ada Author", "GIT_AUTHOR_EMAIL=ada@example.com",
		"GIT_COMMITTER_NAME=Cy Committer", "GIT_COMMITTER_EMAIL=cy@example.com", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestGitCommit(t *testing.T) {
	t.Parallel()
	dir := repo(t)
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	head := git(t, dir, "rev-parse", "HEAD")
	first := git(t, dir, "rev-parse", "v1")
	for _, tc := range []struct {
		name, body, hash, message, parents, branches string
	}{
		// A folder inside the checkout finds the repository, as Packer's does.
		{"HEAD from a subfolder", fmt.Sprintf("path = %q", sub), head, "second\n\nwith a body\n", first, "main release"},
		{"a tag", fmt.Sprintf("path = %q\ncommit_ish = \"v1\"", dir), first, "first\n", "", ""},
		{"a relative revision", fmt.Sprintf("path = %q\ncommit_ish = \"main~1\"", dir), first, "first\n", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ds, diags := gitcommit.New(dstest.Context(t, "data \"git-commit\" \"c\" {\n"+tc.body+"\n}", nil))
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			got, err := ds.Execute(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !got.Type().Equals(ds.OutputType()) {
				t.Fatalf("type %#v, OutputType %#v", got.Type(), ds.OutputType())
			}
			str := func(k string) string { return got.GetAttr(k).AsString() }
			list := func(k string) string {
				var out []string
				for _, v := range got.GetAttr(k).AsValueSlice() {
					out = append(out, v.AsString())
				}
				return strings.Join(out, " ")
			}
			if str("hash") != tc.hash || str("message") != tc.message || list("parent_hashes") != tc.parents || list("branches") != tc.branches {
				t.Fatalf("hash %s message %q parents %q branches %q", str("hash"), str("message"), list("parent_hashes"), list("branches"))
			}
			if str("author") != "Ada Author <ada@example.com>" || str("committer") != "Cy Committer <cy@example.com>" {
				t.Fatalf("author %q committer %q", str("author"), str("committer"))
			}
			if tree := git(t, dir, "rev-parse", tc.hash+"^{tree}"); str("tree_hash") != tree {
				t.Fatalf("tree_hash %s, git says %s", str("tree_hash"), tree)
			}
		})
	}
}

func TestGitCommitErrors(t *testing.T) {
	t.Parallel()
	dir := repo(t)
	notRepo := t.TempDir()
	for body, want := range map[string]string{
		fmt.Sprintf("path = %q", notRepo):                    "is not in a git repository",
		fmt.Sprintf("path = %q\ncommit_ish = \"nope\"", dir): `commit_ish "nope" names no commit`,
	} {
		ds, diags := gitcommit.New(dstest.Context(t, "data \"git-commit\" \"c\" {\n"+body+"\n}", nil))
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		_, err := ds.Execute(context.Background())
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "data.git-commit.c at t.pkr.hcl:1") {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
}
