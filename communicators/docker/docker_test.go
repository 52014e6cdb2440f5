package docker

import (
	"context"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/bake/baketest"
	"github.com/bakehq/bake/internal/testenv"
)

const baseImage = "localbase/debian:bookworm"

// TestCommunicator runs the communicator contract against a real
// container, as root and as an unprivileged exec user.
func TestCommunicator(t *testing.T) {
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err == nil {
		_, err = api.Ping(context.Background())
	}
	if err != nil {
		testenv.SkipOrFail(t, "docker engine not reachable: %v", err)
	}
	if _, err := api.ImageInspect(context.Background(), baseImage); err != nil {
		testenv.SkipOrFail(t, "base image %s missing (make base-image): %v", baseImage, err)
	}
	ctx := context.Background()
	c, err := api.ContainerCreate(ctx, &container.Config{Image: baseImage, Entrypoint: []string{"/bin/sh"}, Tty: true, OpenStdin: true,
		Labels: map[string]string{"dev.bake.test": "communicators/docker"}}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true}) })
	if err := api.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	root := New(api, c.ID, "")
	if err := bake.RunChecked(ctx, root, "mkdir -p /check/root /check/nobody && chown nobody /check/nobody", nil); err != nil {
		t.Fatal(err)
	}
	t.Run("root", func(t *testing.T) { baketest.CheckCommunicator(t, root, "/check/root") })
	t.Run("exec_user", func(t *testing.T) {
		nobody := New(api, c.ID, "nobody", FixUploadOwner())
		baketest.CheckCommunicator(t, nobody, "/check/nobody")
		var out strings.Builder
		if err := bake.RunChecked(ctx, root, "stat -c %U /check/nobody/up.txt /check/nobody/tree/top.txt", &out); err != nil {
			t.Fatal(err)
		}
		if out.String() != "nobody\nnobody\n" {
			t.Errorf("fix_upload_owner: uploads belong to %q", out.String())
		}
	})
}
