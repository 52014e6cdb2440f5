package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bakehq/bake/images"
	"github.com/bakehq/bake/internal/testenv"
)

// useDockerConfig points DOCKER_CONFIG at a temp dir whose config.json
// holds user:password for host, as docker login writes it.
func useDockerConfig(t *testing.T, host, user, password string) {
	t.Helper()
	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	b, err := json.Marshal(map[string]any{"auths": map[string]any{host: map[string]string{"auth": auth}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
}

// TestTokenRegistry pushes 3 versions through the engine into a real
// registry that wants bearer tokens, with credentials only in the docker
// config, then runs build --skip-unchanged, images, promote and
// prune --apply against it; with a wrong password every one of them
// fails saying which registry and what to do, and never shows the
// password.
func TestTokenRegistry(t *testing.T) {
	c := engine(t)
	const password = "tok-e2e-Pa55word"
	reg := testenv.StartTokenRegistry(t, "alice", password)
	prefix := uniq("bake-e2e-token")
	repo := reg.Host + "/" + prefix + "/app"
	removeRepos(t, c, reg.Host+"/"+prefix)
	useDockerConfig(t, reg.Host, "alice", password)
	ctx := context.Background()

	dir := t.TempDir()
	job := strings.ReplaceAll(prefix, "-", "_")
	src := fmt.Sprintf(`variable "msg" { default = "one" }
source "docker" %q {
  image      = %q
  repository = %q
  push       = true
}
build {
  sources = ["source.docker.%s"]
  provisioner "shell" { inline = ["echo ${var.msg} > /etc/bake-test"] }
}
`, job, baseImage, repo, job)
	if err := os.WriteFile(filepath.Join(dir, "app.bake.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { noLeftovers(t, c, job) })
	for i := 1; i <= 3; i++ {
		r := bake(t, "build", "--manifest", "", "--version", fmt.Sprintf("v%d", i), "-var", fmt.Sprintf("msg=m%d", i), dir)
		if r.code != 0 {
			t.Fatalf("bake v%d: %s", i, r)
		}
	}
	if reg.Issued() == 0 {
		t.Fatal("the pushes got no token from the token server")
	}
	// The registry has v3's inputs: --skip-unchanged finds them there.
	if r := bake(t, "build", "--skip-unchanged", "--manifest", "", "--version", "v4", "-var", "msg=m3", dir); r.code != 0 || !strings.Contains(r.stdout, "unchanged, skipped: "+repo+":v3") {
		t.Fatalf("build --skip-unchanged of v3's inputs: %s", r)
	}
	r := bake(t, "images", repo)
	if rows := table(r.stdout); r.code != 0 || len(rows) != 3 || rows[0][0] != "v3" || !strings.Contains(r.stdout, "local, registry") {
		t.Fatalf("images: want v3..v1, local and in the registry: %s", r)
	}
	if r := bake(t, "promote", repo, "v1", "--channel", "prod"); r.code != 0 || !strings.Contains(r.stdout, "channel prod now points at v1") {
		t.Fatalf("promote: %s", r)
	}
	registry := images.NewRegistry(reg.Host) // credentials from DOCKER_CONFIG
	v1, err := registry.GetManifest(ctx, prefix+"/app", "v1")
	if err != nil {
		t.Fatal(err)
	}
	if prod, err := registry.GetManifest(ctx, prefix+"/app", "prod"); err != nil || prod.Digest != v1.Digest {
		t.Fatalf("registry tag prod = %s (%v), want v1's %s", prod.Digest, err, v1.Digest)
	}

	// Wrong password: each command fails naming the registry.
	t.Run("wrong password", func(t *testing.T) {
		const wrong = "not-the-Pa55word"
		useDockerConfig(t, reg.Host, "alice", wrong)
		refused := reg.Refused()
		for _, args := range [][]string{
			{"images", repo},
			{"promote", repo, "v2", "--channel", "staging"},
			{"prune", repo, "--keep", "1", "--apply"},
			{"build", "--skip-unchanged", "--manifest", "", "--version", "v5", "-var", "msg=m3", dir},
		} {
			r := bake(t, args...)
			t.Logf("bake %s: exit %d: %s", args[0], r.code, r.stderr)
			if r.code != 1 && r.code != 2 {
				t.Errorf("bake %s with a wrong password: want exit 1 or 2, got %s", args[0], r)
			}
			for _, want := range []string{reg.Host, "docker login " + reg.Host} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("bake %s with a wrong password does not say %q: %s", args[0], want, r)
				}
			}
			if strings.Contains(r.stdout+r.stderr, wrong) || strings.Contains(r.stdout+r.stderr, password) {
				t.Errorf("bake %s shows a password: %s", args[0], r)
			}
		}
		if reg.Refused() == refused {
			t.Error("the token server saw no wrong credentials")
		}
		if got := strings.Join(tags(t, registry, prefix+"/app"), ","); got != "prod,v1,v2,v3" {
			t.Errorf("registry tags after the refused commands = %s, want prod,v1,v2,v3", got)
		}
	})
	useDockerConfig(t, reg.Host, "alice", password)

	r = bake(t, "prune", repo, "--keep", "1", "--apply")
	if r.code != 0 {
		t.Fatalf("prune --apply: %s", r)
	}
	if got := strings.Join(tags(t, registry, prefix+"/app"), ","); got != "prod,v1,v3" {
		t.Errorf("registry tags after prune = %s, want prod,v1,v3", got)
	}
	if _, err := c.ImageInspect(ctx, repo+":v2"); err == nil {
		t.Errorf("prune left %s:v2 on the engine", repo)
	}
}
