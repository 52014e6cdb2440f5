package ssh

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"

	"github.com/bakehq/bake/bake"
	dockercomm "github.com/bakehq/bake/communicators/docker"
	"github.com/bakehq/bake/internal/testenv"
)

const (
	baseImage     = "localbase/debian:bookworm"
	labelTest     = "dev.bake.test"
	labelTestPID  = "dev.bake.test.pid"
	testLabelName = "communicators/ssh"
)

// TestMain removes the containers of earlier runs that died before their
// cleanup, and this run's own on Ctrl-C.
func TestMain(m *testing.M) {
	sweepContainers(func(pid int) bool { return !processAlive(pid) })
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		sweepContainers(func(pid int) bool { return pid == os.Getpid() })
		os.Exit(130)
	}()
	os.Exit(m.Run())
}

func processAlive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

func sweepContainers(match func(pid int) bool) {
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return
	}
	defer api.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := api.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", labelTest+"="+testLabelName))})
	if err != nil {
		return
	}
	for _, c := range list {
		pid, err := strconv.Atoi(c.Labels[labelTestPID])
		if err != nil || match(pid) {
			if err := api.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
				fmt.Fprintf(os.Stderr, "remove leftover test container %s: %v\n", c.ID[:12], err)
			}
		}
	}
}

// debianSSHD is sshd in a container from the Debian base image: host keys
// made in the container by ssh-keygen -A, user baker with a password and
// password-less sudo, port 22 published on 127.0.0.1.
type debianSSHD struct {
	addr         string
	fingerprints []string          // read through docker exec, a channel bake trusts
	byType       map[string]string // "ED25519", "RSA", "ECDSA" to fingerprint
	clientKey    *Key
	password     string
	exec         *dockercomm.Comm
}

func startDebianSSHD(t *testing.T) *debianSSHD {
	t.Helper()
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		testenv.SkipOrFail(t, "docker engine not reachable: %v", err)
	}
	t.Cleanup(func() { api.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if _, err := api.Ping(ctx); err != nil {
		testenv.SkipOrFail(t, "docker engine not reachable: %v", err)
	}
	if _, err := api.ImageInspect(ctx, baseImage); err != nil {
		testenv.SkipOrFail(t, "base image %s is missing (make it with hack/base-image.sh): %v", baseImage, err)
	}
	d := &debianSSHD{clientKey: mustKey(t), password: "pw-" + randomHex(8)}
	script := `set -e
ssh-keygen -A >/dev/null
mkdir -p /run/sshd /etc/ssh/bake
printf '%s' "$AUTHKEY" > /etc/ssh/bake/authorized_keys
useradd -m -s /bin/bash baker
echo "baker:$PASSWORD" | chpasswd
cat > /etc/ssh/bake/sshd_config <<EOF
AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/bake/authorized_keys
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
Subsystem sftp internal-sftp
EOF
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq --no-install-recommends sudo >/dev/null
echo 'baker ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/baker
touch /etc/ssh/bake/ready
exec /usr/sbin/sshd -D -e -f /etc/ssh/bake/sshd_config`
	port := nat.Port("22/tcp")
	created, err := api.ContainerCreate(ctx, &container.Config{
		Image:        baseImage,
		Cmd:          []string{"/bin/sh", "-c", script},
		Env:          []string{"AUTHKEY=" + d.clientKey.AuthorizedKey("bake-test"), "PASSWORD=" + d.password},
		ExposedPorts: nat.PortSet{port: {}},
		Labels:       map[string]string{labelTest: testLabelName, labelTestPID: strconv.Itoa(os.Getpid())},
	}, &container.HostConfig{
		PortBindings: nat.PortMap{port: {{HostIP: "127.0.0.1", HostPort: "0"}}},
	}, nil, nil, "")
	if err != nil {
		t.Fatalf("create sshd container: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if t.Failed() {
			if rc, err := api.ContainerLogs(ctx, created.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: "30"}); err == nil {
				b := make([]byte, 8192)
				n, _ := rc.Read(b)
				t.Logf("container log tail:\n%q", b[:n])
				rc.Close()
			}
		}
		if err := api.ContainerRemove(ctx, created.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			t.Errorf("remove sshd container: %v", err)
		}
	})
	if err := api.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		t.Fatalf("start sshd container: %v", err)
	}
	insp, err := api.ContainerInspect(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	b := insp.NetworkSettings.Ports[port]
	if len(b) == 0 {
		t.Fatal("port 22 not published")
	}
	d.addr = b[0].HostIP + ":" + b[0].HostPort
	d.exec = dockercomm.New(api, created.ID, "")
	// The host keys exist once ssh-keygen -A ran, well before sshd starts.
	deadline := time.Now().Add(time.Minute)
	for {
		var out strings.Builder
		code, err := d.exec.Run(ctx, &bake.RemoteCmd{Command: "for k in /etc/ssh/ssh_host_*_key.pub; do ssh-keygen -l -f $k; done", Stdout: &out})
		if err == nil && code == 0 && strings.Count(out.String(), "SHA256:") >= 3 {
			d.byType = map[string]string{}
			for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				f := strings.Fields(line)
				d.fingerprints = append(d.fingerprints, f[1])
				d.byType[strings.Trim(f[len(f)-1], "()")] = f[1]
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("host keys not made in the container: %d %v %q", code, err, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return d
}

// TestDebianContainerSSHD runs the checker against the sshd of the Debian
// base image, logged in as a non-root user, and covers sudo and passwords.
func TestDebianContainerSSHD(t *testing.T) {
	d := startDebianSSHD(t)
	// sshd starts only after apt-get installed sudo: this waits through
	// docker-proxy accepting and dropping connections meanwhile.
	c := dialAddr(t, d.addr, "baker", WithSigner(d.clientKey.Signer), WithHostKeyFingerprint(d.fingerprints...), WithTimeout(3*time.Minute))
	dir := strings.TrimSpace(mustRun(t, c, "mktemp -d /tmp/bake-ssh-test.XXXXXX"))
	checkComm(t, c, dir, gib)

	t.Run("sudo via execute_command", func(t *testing.T) {
		if got := mustRun(t, c, "id -u"); got == "0\n" {
			t.Fatalf("logged in as root; the sudo test needs a user")
		}
		var out strings.Builder
		code, err := c.Run(context.Background(), &remoteCmd{
			Command: "sudo -n -E /bin/sh -c 'echo $GREETING $(id -u)'",
			Env:     map[string]string{"GREETING": "hello"},
			Stdout:  &out, Stderr: &out,
		})
		if err != nil || code != 0 || out.String() != "hello 0\n" {
			t.Errorf("sudo: %d %v %q", code, err, out.String())
		}
		if code, out := run(t, c, "sudo -n -u nobody true; sudo -k; sudo -n false"); code != 1 {
			t.Errorf("sudo exit code: %d %q", code, out)
		}
	})
	t.Run("password", func(t *testing.T) {
		t.Parallel()
		pc := dialAddr(t, d.addr, "baker", WithPassword(d.password), WithHostKeyFingerprint(d.fingerprints...))
		if got := mustRun(t, pc, "whoami"); got != "baker\n" {
			t.Errorf("whoami: %q", got)
		}
	})
	t.Run("wrong password is refused and not shown", func(t *testing.T) {
		t.Parallel()
		wrong := "wrong-" + randomHex(8)
		_, err := New(context.Background(), d.addr, "baker", WithPassword(wrong), WithHostKeyFingerprint(d.fingerprints...), WithTimeout(30*time.Second))
		if err == nil || !strings.Contains(err.Error(), "authentication refused") || strings.Contains(err.Error(), wrong) {
			t.Errorf("got %v, want a refusal without the password", err)
		}
	})
	t.Run("one pinned fingerprint of the server's several keys", func(t *testing.T) {
		for _, typ := range []string{"ED25519", "ECDSA", "RSA"} {
			t.Run(typ, func(t *testing.T) {
				t.Parallel()
				fp := d.byType[typ]
				if fp == "" {
					t.Fatalf("no %s host key in %v", typ, d.byType)
				}
				pc := dialAddr(t, d.addr, "baker", WithSigner(d.clientKey.Signer), WithHostKeyFingerprint(fp))
				mustRun(t, pc, "true")
			})
		}
	})
	t.Run("wrong host key fingerprint", func(t *testing.T) {
		t.Parallel()
		other := mustKey(t).Fingerprint()
		_, err := New(context.Background(), d.addr, "baker", WithSigner(d.clientKey.Signer), WithHostKeyFingerprint(other))
		if err == nil || !strings.Contains(err.Error(), other) || !strings.Contains(err.Error(), "host key mismatch") {
			t.Fatalf("got %v", err)
		}
		t.Logf("the refusal reads: %v", err)
		for _, fp := range d.fingerprints {
			if !strings.Contains(err.Error(), fp) {
				t.Errorf("error %q does not name the server's key %s: every key it has was asked for", err, fp)
			}
		}
	})
	mustRun(t, c, "rm -rf "+dir)
}
