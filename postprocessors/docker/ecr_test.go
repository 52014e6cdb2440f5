package docker

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/bakehq/bake/bake"
	dockerbuilder "github.com/bakehq/bake/builders/docker"
	"github.com/bakehq/bake/internal/testenv"
	"github.com/bakehq/bake/sim/core"
	"github.com/bakehq/bake/sim/ecr"
)

// TestPushECRLogin pushes with ecr_login: the token comes from the sim's
// ECR (GetAuthorizationToken) and is the only credential the real
// registry's token server takes.
func TestPushECRLogin(t *testing.T) {
	api, err := dockerbuilder.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := api.ImageInspect(ctx, "localbase/debian:bookworm"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("base image missing: %v", err)
		}
		t.Skipf("base image missing (bash hack/base-image.sh): %v", err)
	}
	reg := testenv.StartTokenRegistry(t, ecr.User, ecr.Password)

	srv := core.NewServer(core.Config{Region: "us-east-1"})
	if err := srv.Add(ecr.New()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(context.Background())
	go srv.Serve(sctx, ln)
	t.Cleanup(func() {
		stop()
		ln.Close()
		srv.Close(context.Background())
	})
	testenv.UseSim(t, "http://"+ln.Addr().String())

	ref := reg.Host + "/bake-test/ecr:" + strings.ReplaceAll(t.Name(), "/", "-")
	if err := api.ImageTag(ctx, "localbase/debian:bookworm", ref); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := api.ImageRemove(context.Background(), ref, image.RemoveOptions{}); err != nil {
			t.Errorf("remove %s: %v", ref, err)
		}
	})
	src := `ecr_login = true
login_server = "` + reg.Host + `"
aws_access_key = "AKIDTEST"
aws_secret_key = "secret-never-logged"
`
	f, diags := hclsyntax.ParseConfig([]byte(src), "t.pkr.hcl", hcl.Pos{Line: 1, Column: 1})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	pp, diags := NewPush(bake.DecodeContext{Body: f.Body, Range: f.Body.(*hclsyntax.Body).SrcRange})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var msgs []string
	log := bake.Log{R: bake.ReporterFunc(func(e bake.Event) { msgs = append(msgs, e.Message) })}
	img, err := api.ImageInspect(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	before := reg.Issued()
	out, err := pp.PostProcess(ctx, &bake.Artifact{BuilderType: "docker", ID: img.ID, Names: []string{ref}}, log)
	if err != nil {
		t.Fatalf("push with ecr_login: %v\n%s", err, strings.Join(msgs, "\n"))
	}
	if reg.Issued() == before || out.Extra["digest"] == "" {
		t.Errorf("issued %d tokens, digest %q: the push did not authenticate with the ECR token", reg.Issued()-before, out.Extra["digest"])
	}
	for _, m := range msgs {
		if strings.Contains(m, ecr.Password) || strings.Contains(m, "secret-never-logged") {
			t.Errorf("a secret reached the log: %q", m)
		}
	}

	// Without ecr_login the registry refuses the push.
	plain, _ := NewPush(bake.DecodeContext{Body: hcl.EmptyBody()})
	if _, err := plain.PostProcess(ctx, &bake.Artifact{BuilderType: "docker", ID: img.ID, Names: []string{ref}}, log); err == nil {
		t.Error("an anonymous push was taken: the test registry does not check credentials")
	}
}
