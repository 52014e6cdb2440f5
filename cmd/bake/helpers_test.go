package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// startRegistry runs Debian's docker-registry on a loopback port with
// its storage in a temp dir, and returns its host:port. The engine
// treats 127.0.0.0/8 registries as insecure, so plain HTTP works.
func startRegistry(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Skip("docker-registry not installed (apt-get install docker-registry)")
	}
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), addr)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", cfgPath)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("registry did not listen on %s:\n%s", addr, logs.String())
	return ""
}

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
