// Package testenv starts the real parts the project's integration tests
// share, so that each test package does not carry its own copy.
package testenv

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// StartRegistry runs Debian's docker-registry (deletes allowed) on a
// loopback port with its storage in a temp dir, and returns its
// host:port. The engine treats 127.0.0.0/8 registries as insecure, so
// plain HTTP works. It skips the test when docker-registry is missing.
func StartRegistry(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		SkipOrFail(t, "docker-registry not installed (apt-get install docker-registry)")
	}
	return serveRegistry(t, bin, t.TempDir(), "")
}

// serveRegistry runs docker-registry with its storage and config in dir
// (deletes allowed) on a loopback port, with extra appended to its
// config, until the test ends, and returns its host:port.
func serveRegistry(t testing.TB, bin, dir, extra string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  delete:\n    enabled: true\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), addr) + extra
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
