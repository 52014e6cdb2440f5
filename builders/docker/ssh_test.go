package docker

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/bake/baketest"
	dockercomm "github.com/bakehq/bake/communicators/docker"
	"github.com/bakehq/bake/internal/testenv"
)

const sshTestLabel = "dev.bake.test"

// sshTestContainer is a running container from the Debian base image, as
// Boot makes it for communicator = "ssh": /bin/sh on a terminal, port 22
// published on 127.0.0.1.
func sshTestContainer(t *testing.T) (api *client.Client, id, addr string, exec *dockercomm.Comm) {
	t.Helper()
	return sshTestContainerFrom(t, "localbase/debian:bookworm")
}

func sshTestContainerFrom(t *testing.T, image string) (api *client.Client, id, addr string, exec *dockercomm.Comm) {
	t.Helper()
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		testenv.SkipOrFail(t, "docker engine not reachable: %v", err)
	}
	t.Cleanup(func() { api.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := api.Ping(ctx); err != nil {
		testenv.SkipOrFail(t, "docker engine not reachable: %v", err)
	}
	if _, err := api.ImageInspect(ctx, image); err != nil {
		testenv.SkipOrFail(t, "base image %s is missing (make it with hack/base-image.sh): %v", image, err)
	}
	port := nat.Port("22/tcp")
	created, err := api.ContainerCreate(ctx, &container.Config{
		Image: image, Entrypoint: []string{"/bin/sh"}, Tty: true, OpenStdin: true,
		ExposedPorts: nat.PortSet{port: {}},
		Labels:       map[string]string{sshTestLabel: "builders/docker/ssh", bake.LabelRun: fmt.Sprintf("test-%d", os.Getpid())},
	}, &container.HostConfig{PortBindings: nat.PortMap{port: {{HostIP: "127.0.0.1", HostPort: "0"}}}}, nil, nil, "")
	if err != nil {
		t.Fatalf("create container: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := api.ContainerRemove(ctx, created.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			t.Errorf("remove container: %v", err)
		}
	})
	if err := api.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		t.Fatalf("start container: %v", err)
	}
	insp, err := api.ContainerInspect(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	b := insp.NetworkSettings.Ports[port]
	if len(b) == 0 {
		t.Fatal("port 22 not published")
	}
	return api, created.ID, b[0].HostIP + ":" + b[0].HostPort, dockercomm.New(api, created.ID, "")
}

func execOut(t *testing.T, c bake.Communicator, command string) string {
	t.Helper()
	var out strings.Builder
	if err := bake.RunChecked(context.Background(), c, command, &out); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// waitNoSSHD waits (5 s at most) until no sshd process runs in the
// container: the listener is stopped by Close, the session processes end
// with their connection. Zombies, which a shell as PID 1 never reaps,
// do not count.
func waitNoSSHD(t *testing.T, exec bake.Communicator) {
	t.Helper()
	const count = `for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = sshd ] && ! grep -q ') Z' $p/stat 2>/dev/null && echo $p; done | wc -l`
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := strings.TrimSpace(execOut(t, exec, count))
		if got == "0" {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s sshd processes still run in the container", got)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestConnectSSH: sshd comes up in the build container, the communicator
// provisions over it, and closing it leaves nothing of SSH in the
// container that would be committed.
func TestConnectSSH(t *testing.T) {
	for _, transport := range []string{"published port", "sshd -i over exec"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			api, id, addr, exec := sshTestContainer(t)
			if transport == "sshd -i over exec" {
				addr = ""
			}
			checkConnectSSH(t, api, id, addr, exec)
		})
	}
}

func checkConnectSSH(t *testing.T, api *client.Client, id, addr string, exec *dockercomm.Comm) {
	ctx := context.Background()
	var mu sync.Mutex
	var infos []string
	log := bake.Log{R: bake.ReporterFunc(func(e bake.Event) {
		mu.Lock()
		infos = append(infos, e.Type+": "+e.Message)
		mu.Unlock()
	})}
	start := time.Now()
	c, err := connectSSH(ctx, exec, addr, SSHSettings{Timeout: "30s"}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sshd up and connected in %s", time.Since(start).Round(time.Millisecond))
	closer, ok := c.(io.Closer)
	if !ok {
		t.Fatal("the ssh communicator is not an io.Closer: the builder could not stop sshd before commit")
	}
	t.Cleanup(func() { _ = closer.Close() }) // closed below; this is for failures on the way

	if got := execOut(t, c, "echo $(id -un) over $SSH_CONNECTION"); !strings.HasPrefix(got, "root over ") {
		t.Errorf("command over ssh: %q", got)
	}
	if err := c.Upload(ctx, "/opt/greeting", strings.NewReader("hello\n"), bake.FileInfo{Mode: 0o644, Size: 6}); err != nil {
		t.Fatal(err)
	}
	want := "hello\nauthorized_keys\nhost_ed25519\nsshd.log\nsshd.pid\nsshd_config\n"
	if addr == "" {
		want = "hello\nauthorized_keys\nhost_ed25519\nsshd.log\nsshd_config\n"
	}
	if got := execOut(t, exec, "cat /opt/greeting; ls -A "+sshRunDir); got != want {
		t.Errorf("container state while connected: %q, want %q", got, want)
	}
	execOut(t, c, "mkdir /check")
	t.Run("communicator contract", func(t *testing.T) { baketest.CheckCommunicator(t, c, "/check") })
	execOut(t, c, "rm -rf /check")
	var big strings.Builder
	const size = 8 << 20
	if err := c.Upload(ctx, "/opt/big", strings.NewReader(strings.Repeat("b", size)), bake.FileInfo{Mode: 0o600, Size: size}); err != nil {
		t.Fatal(err)
	}
	if err := c.Download(ctx, "/opt/big", &big); err != nil || big.Len() != size {
		t.Fatalf("download: %v, %d bytes", err, big.Len())
	}
	execOut(t, c, "rm /opt/big")
	mu.Lock()
	if len(infos) == 0 || !strings.Contains(strings.Join(infos, "\n"), "pinned") {
		t.Errorf("no info that the host key is pinned: %q", infos)
	}
	mu.Unlock()

	if err := closer.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := closer.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	// No sshd process, no file of bake's: only the upload differs from
	// what docker exec would have left.
	waitNoSSHD(t, exec)
	if got := execOut(t, exec, "ls -d /run/sshd "+sshRunDir+" 2>&1 || true"); strings.Count(got, "No such file") != 2 {
		t.Errorf("after close: %q, want neither /run/sshd nor %s", got, sshRunDir)
	}
	changes, err := api.ContainerDiff(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range changes {
		if ch.Path != "/opt" && ch.Path != "/opt/greeting" && ch.Path != "/run" && ch.Path != "/root" && !strings.HasPrefix(ch.Path, "/root/.ash_history") {
			t.Errorf("the container differs from its image at %s (kind %d): SSH left something behind", ch.Path, ch.Kind)
		}
	}
	if _, err := c.Run(ctx, &bake.RemoteCmd{Command: "true"}); err == nil {
		t.Error("a closed communicator still runs commands")
	}
}

// TestConnectSSHRefusals: an image without sshd, a bad ssh_timeout and a
// user that does not exist fail with errors that say what to do, and
// leave nothing behind.
func TestConnectSSHRefusals(t *testing.T) {
	_, _, addr, exec := sshTestContainer(t)
	ctx := context.Background()

	if _, err := connectSSH(ctx, exec, addr, SSHSettings{Timeout: "soon"}, bake.Log{}); err == nil || !bake.IsBadInput(err) {
		t.Errorf("bad ssh_timeout: got %v, want an input error", err)
	}

	start := time.Now()
	_, err := connectSSH(ctx, exec, addr, SSHSettings{Username: "nobody-here", Timeout: "20s"}, bake.Log{})
	if err == nil || !strings.Contains(err.Error(), "authentication refused") || !strings.Contains(err.Error(), "nobody-here") {
		t.Errorf("unknown user: got %v", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("unknown user refused after %s: it must not wait for ssh_timeout", d)
	}
	waitNoSSHD(t, exec)
	if got := execOut(t, exec, "ls -d "+sshRunDir+" /run/sshd 2>&1 || true"); strings.Count(got, "No such file") != 2 {
		t.Errorf("after a failed connect: %q, want nothing of sshd left", got)
	}

	execOut(t, exec, "mv /usr/sbin/sshd /usr/sbin/sshd.off")
	_, err = connectSSH(ctx, exec, addr, SSHSettings{Timeout: "20s"}, bake.Log{})
	if err == nil || !strings.Contains(err.Error(), "install openssh-server in the base image") {
		t.Errorf("image without sshd: got %v", err)
	}
}

// TestConnectSSHThroughStepCache: a commit taken while sshd runs, as the
// step cache does after each step, holds none of sshd's files, and a bake
// resumed from it still ends without /run/sshd.
func TestConnectSSHThroughStepCache(t *testing.T) {
	api, id, _, exec := sshTestContainer(t)
	ctx := context.Background()
	c, err := connectSSH(ctx, exec, "", SSHSettings{}, bake.Log{})
	if err != nil {
		t.Fatal(err)
	}
	execOut(t, c, "echo step > /opt/step")
	ref := fmt.Sprintf("bake-test/ssh-cache:%d-%d", os.Getpid(), time.Now().UnixNano())
	if _, err := api.ContainerCommit(ctx, id, container.CommitOptions{Reference: ref, Pause: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := api.ImageRemove(ctx, ref, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil {
			t.Errorf("remove image %s: %v", ref, err)
		}
	})
	if err := c.(io.Closer).Close(); err != nil {
		t.Fatal(err)
	}

	_, _, _, resumed := sshTestContainerFrom(t, ref)
	if got := execOut(t, resumed, "cat /opt/step; ls -A /dev/shm; ls -A /run/sshd"); got != "step\n.made-by-bake\n" {
		t.Errorf("the commit holds %q, want the step's file, an empty /dev/shm and only bake's mark in /run/sshd", got)
	}
	c2, err := connectSSH(ctx, resumed, "", SSHSettings{}, bake.Log{})
	if err != nil {
		t.Fatal(err)
	}
	execOut(t, c2, "true")
	if err := c2.(io.Closer).Close(); err != nil {
		t.Fatal(err)
	}
	if got := execOut(t, resumed, "ls -d /run/sshd 2>&1 || true"); !strings.Contains(got, "No such file") {
		t.Errorf("resumed from the commit, /run/sshd is left: %q", got)
	}
}
