package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/bakehq/bake/internal/testenv"
)

// startRegistry runs Debian's docker-registry on a loopback port.
func startRegistry(t *testing.T) string { return testenv.StartRegistry(t) }

// runContainer runs ref (with cmd, if given) to completion and returns
// its output.
func runContainer(t *testing.T, ref string, cmd ...string) string {
	t.Helper()
	return runIn(t, &container.Config{Image: ref, Cmd: cmd})
}

// runShell runs script with /bin/sh in ref, whatever its entrypoint.
func runShell(t *testing.T, ref, script string) string {
	t.Helper()
	return runIn(t, &container.Config{Image: ref, Entrypoint: []string{"/bin/sh", "-c", script}})
}

func runIn(t *testing.T, cfg *container.Config) string {
	t.Helper()
	cfg.Labels = map[string]string{"dev.bake.test": "e2e"}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := docker.ContainerCreate(ctx, cfg, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer docker.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true})
	if err := docker.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	waitC, errC := docker.ContainerWait(ctx, c.ID, container.WaitConditionNotRunning)
	select {
	case <-waitC:
	case err := <-errC:
		t.Fatal(err)
	}
	rc, err := docker.ContainerLogs(ctx, c.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var out bytes.Buffer
	stdcopy.StdCopy(&out, &out, rc)
	return out.String()
}
