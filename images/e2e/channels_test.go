package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/bakehq/bake/images"
)

// TestPromoteAndPrune bakes 6 pushed versions into a real registry,
// promotes one to prod, runs a container from another, and checks that
// prune --keep 2 plans the right removals, changes nothing without
// --apply, and with it removes exactly the 2 unpinned old versions from
// the registry and the engine.
func TestPromoteAndPrune(t *testing.T) {
	c := engine(t)
	reg := startRegistry(t)
	prefix := uniq("bake-e2e-prune")
	repo := reg + "/" + prefix + "/app"
	removeRepos(t, c, reg+"/"+prefix)
	ctx := context.Background()

	dir := writeAppBake(t, repo)
	for i := 1; i <= 6; i++ {
		r := bake(t, "build", "--manifest", "", "--version", fmt.Sprintf("v%d", i), "-var", fmt.Sprintf("msg=m%d", i), dir)
		if r.code != 0 {
			t.Fatalf("bake v%d: %s", i, r)
		}
	}
	// The same inputs again: the registry has them, nothing is baked.
	if r := bake(t, "build", "--skip-unchanged", "--manifest", "", "--version", "v7", "-var", "msg=m6", dir); r.code != 0 || !strings.Contains(r.stdout, "unchanged, skipped: "+repo+":v6") {
		t.Fatalf("build --skip-unchanged of v6's inputs: %s", r)
	}

	if r := bake(t, "promote", repo, "v2", "--channel", "prod"); r.code != 0 || !strings.Contains(r.stdout, "channel prod now points at v2") {
		t.Fatalf("promote: %s", r)
	}
	r := bake(t, "images", repo, "--channel", "prod")
	if rows := table(r.stdout); r.code != 0 || len(rows) != 1 || rows[0][0] != "v2" {
		t.Fatalf("images --channel prod: %s", r)
	}
	registry := images.NewRegistry(reg)
	v2, err := registry.GetManifest(ctx, prefix+"/app", "v2")
	if err != nil {
		t.Fatal(err)
	}
	prod, err := registry.GetManifest(ctx, prefix+"/app", "prod")
	if err != nil || prod.Digest != v2.Digest {
		t.Fatalf("registry tag prod = %s (%v), want v2's %s", prod.Digest, err, v2.Digest)
	}
	startContainer(t, c, repo+":v3")

	r = bake(t, "images", repo)
	if r.code != 0 {
		t.Fatalf("images: %s", r)
	}
	rows := table(r.stdout)
	if len(rows) != 6 || rows[0][0] != "v6" || rows[5][0] != "v1" {
		t.Fatalf("images: want v6..v1 newest first:\n%s", r)
	}
	if !strings.Contains(r.stdout, "prod") || !strings.Contains(r.stdout, "(running)") || !strings.Contains(r.stdout, "local, registry") {
		t.Errorf("images shows no channel, use or place:\n%s", r.stdout)
	}

	want := map[string]string{
		"v6": "keep", "v5": "keep", "v4": "remove", "v3": "keep", "v2": "keep", "v1": "remove",
	}
	whyKept := map[string]string{"v6": "one of the 2 newest", "v5": "one of the 2 newest", "v3": "in use by container", "v2": "channel prod"}
	checkPlan := func(out string) {
		t.Helper()
		got := map[string]string{}
		for _, f := range table(out) {
			got[f[0]] = f[2]
			if w, ok := whyKept[f[0]]; ok && !strings.Contains(f[3], w) {
				t.Errorf("%s kept because %q, want it to say %q", f[0], f[3], w)
			}
		}
		for v, a := range want {
			if got[v] != a {
				t.Errorf("plan for %s = %q, want %q:\n%s", v, got[v], a, out)
			}
		}
	}
	before := tags(t, registry, prefix+"/app")
	r = bake(t, "prune", repo, "--keep", "2")
	if r.code != 0 || !strings.Contains(r.stdout, "plan only: 2 of 6 versions would be removed") {
		t.Fatalf("prune (plan): %s", r)
	}
	checkPlan(r.stdout)
	if after := tags(t, registry, prefix+"/app"); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Fatalf("prune without --apply changed the registry: %v → %v", before, after)
	}
	for i := 1; i <= 6; i++ {
		if _, err := c.ImageInspect(ctx, fmt.Sprintf("%s:v%d", repo, i)); err != nil {
			t.Fatalf("prune without --apply removed v%d: %v", i, err)
		}
	}

	r = bake(t, "prune", repo, "--keep", "2", "--apply")
	if r.code != 0 {
		t.Fatalf("prune --apply: %s", r)
	}
	checkPlan(r.stdout)
	if got := strings.Join(tags(t, registry, prefix+"/app"), ","); got != "prod,v2,v3,v5,v6" {
		t.Errorf("registry tags after prune = %s, want prod,v2,v3,v5,v6", got)
	}
	for i := 1; i <= 6; i++ {
		_, err := c.ImageInspect(ctx, fmt.Sprintf("%s:v%d", repo, i))
		if gone := err != nil; gone != (i == 1 || i == 4) {
			t.Errorf("after prune, v%d on the engine: %v", i, err)
		}
	}
	// Removed manifests are gone, not just untagged.
	if _, err := registry.GetManifest(ctx, prefix+"/app", v2.Digest); err != nil {
		t.Errorf("v2's manifest: %v", err)
	}
}

func tags(t *testing.T, r *images.Registry, path string) []string {
	t.Helper()
	ts, err := r.Tags(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(ts)
	return ts
}

// TestBadInput: unknown versions and channels, bad channel names and a
// prune without --keep are the user's to fix (exit 2) and change nothing.
func TestBadInput(t *testing.T) {
	c := engine(t)
	prefix := uniq("bake-e2e-bad")
	removeRepos(t, c, prefix)
	dir := t.TempDir()
	writeBake(t, dir, prefix, "app", baseImage, "one")
	repo := prefix + "/app"
	if r := bake(t, "build", "--manifest", "", "--version", "v1", filepath.Join(dir, "app")); r.code != 0 {
		t.Fatalf("bake: %s", r)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown version", []string{"promote", repo, "v9", "--channel", "prod"}, `has no version "v9"; it has v1`},
		{"unknown image", []string{"promote", prefix + "/nothing", "v1", "--channel", "prod"}, "has no versions"},
		{"unknown channel", []string{"images", repo, "--channel", "staging"}, `has no channel "staging"`},
		{"bad channel name", []string{"promote", repo, "v1", "--channel", "Prod!"}, `channel "Prod!"`},
		{"no channel", []string{"promote", repo, "v1"}, "--channel"},
		{"prune without --keep", []string{"prune", repo}, "--keep N"},
		{"bad age", []string{"prune", repo, "--keep", "1", "--older-than", "soon"}, "--older-than"},
		{"unknown kind", []string{"images", repo, "--kind", "podman"}, "want docker or amazon-ebs"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := bake(t, tc.args...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("bake %s: want exit 2 saying %q, got %s", strings.Join(tc.args, " "), tc.want, r)
			}
		})
	}
	if _, err := c.ImageInspect(context.Background(), repo+":prod"); err == nil {
		t.Error("a refused promote tagged the image")
	}
	r := bake(t, "prune", repo, "--keep", "0")
	if r.code != 0 || !strings.Contains(r.stdout, "plan only: 1 of 1") {
		t.Fatalf("prune --keep 0 (plan): %s", r)
	}
	if _, err := c.ImageInspect(context.Background(), repo+":v1"); err != nil {
		t.Errorf("prune without --apply removed v1: %v", err)
	}
}
