package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/bakehq/bake/bake"
	sshcomm "github.com/bakehq/bake/communicators/ssh"
)

// SSHSettings are the source's ssh_* fields.
type SSHSettings struct {
	Username string // ssh_username; default root
	Port     int    // ssh_port: the port sshd listens on in the container; default 22
	Timeout  string // ssh_timeout: a duration; default DefaultSSHTimeout
}

// DefaultSSHTimeout is how long bake waits for the container's sshd.
const DefaultSSHTimeout = 2 * time.Minute

// sshRunDir holds everything bake puts in the container for sshd: its
// host key, the build's authorized key, config, log and pid. It is on the
// container's /dev/shm tmpfs, which docker commit leaves out, so none of
// it reaches an image, be it the result or a step cache entry committed
// while sshd runs; Close removes it too.
const sshRunDir = "/dev/shm/bake-ssh"

// madeRunSSHD marks a /run/sshd that bake made, sshd's privilege
// separation directory, which cannot be moved. It is inside that
// directory, so it travels with it into step cache entries, and a bake
// resumed from one still removes the directory at the end.
const madeRunSSHD = "/run/sshd/.made-by-bake"

// connectSSH starts sshd in the build container (through exec) and
// returns an SSH communicator to it. sshd gets a host key made here and
// pinned, and accepts only a key made for this build; both live in memory
// here and in sshRunDir in the container. The communicator's Close stops
// sshd and removes sshRunDir.
//
// With addr (127.0.0.1:PORT, the container's published ssh_port) sshd
// listens and bake connects over TCP. With addr "" nothing is published:
// each SSH connection is an "sshd -i" run through exec, speaking the
// protocol over its stdin and stdout. A published port must be exposed,
// and docker commit keeps exposed ports in the image; so only addr ""
// gives the same image as communicator = "docker".
func connectSSH(ctx context.Context, exec bake.Communicator, addr string, cfg SSHSettings, log bake.Log) (bake.Communicator, error) {
	user := cfg.Username
	if user == "" {
		user = "root"
	}
	port := cfg.Port
	if port == 0 {
		port = 22
	}
	timeout := DefaultSSHTimeout
	if cfg.Timeout != "" {
		d, err := time.ParseDuration(cfg.Timeout)
		if err != nil || d <= 0 {
			return nil, bake.BadInputf("ssh_timeout %q is not a positive duration like 2m or 30s", cfg.Timeout)
		}
		timeout = d
	}
	hostKey, err := sshcomm.NewEphemeralKey()
	if err != nil {
		return nil, err
	}
	clientKey, err := sshcomm.NewEphemeralKey()
	if err != nil {
		return nil, err
	}
	listen := addr != ""
	if err := startSSHD(ctx, exec, hostKey, clientKey, port, listen); err != nil {
		return nil, errors.Join(err, stopSSHD(exec))
	}
	opts := []sshcomm.Option{
		sshcomm.WithSigner(clientKey.Signer),
		sshcomm.WithHostKey(hostKey.PublicKey()),
		sshcomm.WithTimeout(timeout),
		sshcomm.WithLog(log),
	}
	if listen {
		log.Info(fmt.Sprintf("sshd listening in the build container at %s, host key %s pinned", addr, hostKey.Fingerprint()))
	} else {
		addr = fmt.Sprintf("build-container:%d", port) // names it in errors; nothing is dialled
		inetd := fmt.Sprintf("/usr/sbin/sshd -i -f %[1]s/sshd_config -E %[1]s/sshd.log", sshRunDir)
		opts = append(opts, sshcomm.WithDialer(func(context.Context, string) (net.Conn, error) {
			return execConn(exec, inetd), nil
		}))
		log.Info(fmt.Sprintf("sshd -i through docker exec, host key %s pinned", hostKey.Fingerprint()))
	}
	c, err := sshcomm.New(ctx, addr, user, opts...)
	if err != nil {
		if tail := sshdLog(exec); tail != "" {
			err = fmt.Errorf("%w\n--- sshd log ---\n%s", err, tail)
		}
		return nil, errors.Join(err, stopSSHD(exec))
	}
	return &containerSSH{Comm: c, exec: exec}, nil
}

// execConn runs command through exec and is a net.Conn over its stdin and
// stdout. The command runs until the connection is closed.
func execConn(exec bake.Communicator, command string) net.Conn {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	c := &execStream{in: inW, out: outR, cancel: cancel}
	go func() {
		stderr := bake.NewTail(1024)
		code, err := exec.Run(ctx, &bake.RemoteCmd{Command: command, Stdin: inR, Stdout: outW, Stderr: stderr})
		switch {
		case err == nil && code != 0:
			err = fmt.Errorf("%s exited with code %d: %s", command, code, strings.TrimSpace(stderr.String()))
		case err == nil:
			err = io.EOF
		}
		outW.CloseWithError(err)
		inR.CloseWithError(err)
	}()
	return c
}

// execStream is the two pipes of an exec'd command as a net.Conn.
type execStream struct {
	in     *io.PipeWriter
	out    *io.PipeReader
	cancel context.CancelFunc
}

func (c *execStream) Read(p []byte) (int, error)  { return c.out.Read(p) }
func (c *execStream) Write(p []byte) (int, error) { return c.in.Write(p) }

// Close ends the command's stdin, which ends sshd -i, and stops the exec.
func (c *execStream) Close() error {
	c.in.Close()
	c.out.Close()
	c.cancel()
	return nil
}

func (c *execStream) LocalAddr() net.Addr  { return execAddr{} }
func (c *execStream) RemoteAddr() net.Addr { return execAddr{} }

// Deadlines are not supported; the SSH client does not use them.
func (c *execStream) SetDeadline(time.Time) error      { return errNoDeadline }
func (c *execStream) SetReadDeadline(time.Time) error  { return errNoDeadline }
func (c *execStream) SetWriteDeadline(time.Time) error { return errNoDeadline }

var errNoDeadline = errors.New("an exec stream has no deadlines")

type execAddr struct{}

func (execAddr) Network() string { return "docker-exec" }
func (execAddr) String() string  { return "build-container" }

func sshdConfig(port int) string {
	return strings.Join([]string{
		"# written by bake for the build only; removed before the image is committed",
		fmt.Sprintf("Port %d", port),
		"HostKey " + sshRunDir + "/host_ed25519",
		"AuthorizedKeysFile " + sshRunDir + "/authorized_keys",
		"PidFile " + sshRunDir + "/sshd.pid",
		// /dev/shm is world-writable (sticky), which StrictModes refuses
		// for a parent of authorized_keys. The only key file is bake's own,
		// in a root-owned 0755 directory made fresh for this build.
		"StrictModes no",
		"PermitRootLogin prohibit-password",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"UsePAM no",
		"UseDNS no",
		"PrintMotd no",
		"PrintLastLog no",
		"X11Forwarding no",
		"AllowTcpForwarding no",
		"Subsystem sftp internal-sftp",
		"",
	}, "\n")
}

// startSSHD installs sshd's files and, to listen, starts it, in one exec: the host
// key goes through stdin, never on a command line; the rest is public.
func startSSHD(ctx context.Context, exec bake.Communicator, hostKey, clientKey *sshcomm.Key, port int, listen bool) error {
	pem, err := hostKey.PrivateKeyPEM()
	if err != nil {
		return err
	}
	script := `set -e
if [ ! -x /usr/sbin/sshd ]; then
  echo "the image has no /usr/sbin/sshd: install openssh-server in the base image, or use communicator = \"docker\"" >&2
  exit 127
fi
if [ ! -d /dev/shm ]; then
  echo "the build container has no /dev/shm, where bake keeps sshd's files out of the image: do not set ipc mode none" >&2
  exit 1
fi
d=` + sshRunDir + `
rm -rf $d
mkdir -m 0755 $d
if [ ! -d /run/sshd ]; then mkdir -m 0755 -p /run/sshd && touch ` + madeRunSSHD + `; fi
(umask 077 && cat > $d/host_ed25519)
printf '%s' ` + bake.ShellQuote(clientKey.AuthorizedKey("bake-build")) + ` > $d/authorized_keys
printf '%s' ` + bake.ShellQuote(sshdConfig(port)) + ` > $d/sshd_config
/usr/sbin/sshd -t -f $d/sshd_config`
	if listen {
		// Without -D sshd detaches; the exec returns once it listens.
		script += "\n/usr/sbin/sshd -f $d/sshd_config -E $d/sshd.log"
	}
	tail := bake.NewTail(bake.TailBytes)
	code, err := exec.Run(ctx, &bake.RemoteCmd{Command: script, Stdin: bytes.NewReader(pem), Stdout: tail, Stderr: tail})
	if err != nil {
		return fmt.Errorf("start sshd in the build container: %w", err)
	}
	if code != 0 {
		// The script itself is long and says nothing; its output does.
		return fmt.Errorf("start sshd in the build container: %w",
			&bake.RunError{Command: "/usr/sbin/sshd -f " + sshRunDir + "/sshd_config", ExitCode: code, Output: tail.String()})
	}
	return nil
}

// stopSSHD stops sshd and removes all bake put in the container for it.
func stopSSHD(exec bake.Communicator) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stop := `d=` + sshRunDir + `
if [ -f $d/sshd.pid ]; then
  pid=$(cat $d/sshd.pid)
  kill "$pid" 2>/dev/null || true
  # Wait (5 s at most) until it is gone or a zombie the container's init may never reap.
  i=0
  while [ $i -lt 50 ] && [ -d /proc/$pid ] && ! grep -q ') Z' /proc/$pid/stat 2>/dev/null; do sleep 0.1; i=$((i+1)); done
fi
if [ -f ` + madeRunSSHD + ` ]; then rm -rf /run/sshd; fi
rm -rf $d`
	if err := bake.RunChecked(ctx, exec, stop, nil); err != nil {
		return fmt.Errorf("stop sshd in the build container: %w", err)
	}
	return nil
}

func sshdLog(exec bake.Communicator) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tail := bake.NewTail(2048)
	if _, err := exec.Run(ctx, &bake.RemoteCmd{Command: "tail -n 20 " + sshRunDir + "/sshd.log", Stdout: tail, Stderr: tail}); err != nil {
		return ""
	}
	return strings.TrimSpace(tail.String())
}

// containerSSH is the SSH communicator into a build container; closing it
// also stops the container's sshd and removes its files, before commit.
type containerSSH struct {
	*sshcomm.Comm
	exec bake.Communicator

	once     sync.Once
	closeErr error
}

// Close ends the SSH connection, stops sshd and removes sshRunDir. It is
// idempotent.
func (c *containerSSH) Close() error {
	c.once.Do(func() {
		c.closeErr = errors.Join(c.Comm.Close(), stopSSHD(c.exec))
	})
	return c.closeErr
}
