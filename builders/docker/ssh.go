package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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

// sshRunDir holds everything bake puts in the container for sshd. It is
// removed before the container is committed, so nothing of it reaches
// the image.
const sshRunDir = "/run/bake-ssh"

// connectSSH starts sshd in the build container (through exec) and
// returns an SSH communicator to it at addr. sshd gets a host key made
// here and pinned, and accepts only a key made for this build; both live
// in memory here and in sshRunDir in the container. The communicator's
// Close stops sshd and removes sshRunDir.
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
	if err := startSSHD(ctx, exec, hostKey, clientKey, port); err != nil {
		return nil, errors.Join(err, stopSSHD(exec))
	}
	log.Info(fmt.Sprintf("sshd started in the build container, host key %s pinned", hostKey.Fingerprint()))
	c, err := sshcomm.New(ctx, addr, user,
		sshcomm.WithSigner(clientKey.Signer),
		sshcomm.WithHostKey(hostKey.PublicKey()),
		sshcomm.WithTimeout(timeout),
		sshcomm.WithLog(log),
	)
	if err != nil {
		if tail := sshdLog(exec); tail != "" {
			err = fmt.Errorf("%w\n--- sshd log ---\n%s", err, tail)
		}
		return nil, errors.Join(err, stopSSHD(exec))
	}
	return &containerSSH{Comm: c, exec: exec}, nil
}

func sshdConfig(port int) string {
	return strings.Join([]string{
		"# written by bake for the build only; removed before the image is committed",
		fmt.Sprintf("Port %d", port),
		"HostKey " + sshRunDir + "/host_ed25519",
		"AuthorizedKeysFile " + sshRunDir + "/authorized_keys",
		"PidFile " + sshRunDir + "/sshd.pid",
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

// startSSHD installs sshd's files and starts it, in one exec: the host
// key goes through stdin, never on a command line; the rest is public.
func startSSHD(ctx context.Context, exec bake.Communicator, hostKey, clientKey *sshcomm.Key, port int) error {
	pem, err := hostKey.PrivateKeyPEM()
	if err != nil {
		return err
	}
	script := `set -e
if [ ! -x /usr/sbin/sshd ]; then
  echo "the image has no /usr/sbin/sshd: install openssh-server in the base image, or use communicator = \"docker\"" >&2
  exit 127
fi
d=` + sshRunDir + `
rm -rf $d
mkdir -m 0755 -p $d
if [ ! -d /run/sshd ]; then mkdir -m 0755 -p /run/sshd && touch $d/made-run-sshd; fi
(umask 077 && cat > $d/host_ed25519)
printf '%s' ` + bake.ShellQuote(clientKey.AuthorizedKey("bake-build")) + ` > $d/authorized_keys
printf '%s' ` + bake.ShellQuote(sshdConfig(port)) + ` > $d/sshd_config
/usr/sbin/sshd -t -f $d/sshd_config
# Without -D sshd detaches; the exec returns once it listens.
/usr/sbin/sshd -f $d/sshd_config -E $d/sshd.log`
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
if [ -f $d/made-run-sshd ]; then rm -rf /run/sshd; fi
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
