package ssh

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/bakehq/bake/internal/testenv"
)

// sshdServer is a real OpenSSH sshd run by the test on a 127.0.0.1 port,
// with its own config, host key and authorized_keys in a temp dir.
type sshdServer struct {
	addr      string
	dir       string
	hostKey   *Key
	clientKey *Key
	stderr    *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const sshdPath = "/usr/sbin/sshd"

// startSSHD runs sshd -D on a free loopback port until the test ends.
func startSSHD(t testing.TB) *sshdServer {
	t.Helper()
	if _, err := os.Stat(sshdPath); err != nil {
		testenv.SkipOrFail(t, "openssh-server is not installed (%v): apt-get install openssh-server", err)
	}
	// sshd refuses to start without its privilege separation directory,
	// which Debian's service unit makes at boot.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		testenv.SkipOrFail(t, "cannot create /run/sshd for sshd (not root?): %v", err)
	}
	dir := t.TempDir()
	s := &sshdServer{dir: dir, hostKey: mustKey(t), clientKey: mustKey(t), stderr: &lockedBuffer{}}
	pem, err := s.hostKey.PrivateKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "host_ed25519"), pem, 0o600)
	writeFile(t, filepath.Join(dir, "authorized_keys"), []byte(s.clientKey.AuthorizedKey("bake-test")), 0o600)
	s.addr = freeAddr(t)
	_, port, _ := net.SplitHostPort(s.addr)
	cfg := strings.Join([]string{
		"ListenAddress " + s.addr,
		"HostKey " + filepath.Join(dir, "host_ed25519"),
		"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"),
		"StrictModes no",
		"PidFile none",
		"UsePAM no",
		"PermitRootLogin yes",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"AllowTcpForwarding yes",
		"Subsystem sftp internal-sftp",
		"LogLevel ERROR",
		"MaxStartups 100",
		"MaxSessions 100",
		"",
	}, "\n")
	writeFile(t, filepath.Join(dir, "sshd_config"), []byte(cfg), 0o600)
	cmd := exec.Command(sshdPath, "-D", "-e", "-f", filepath.Join(dir, "sshd_config"), "-p", port)
	cmd.Stderr = s.stderr
	// sshd dies with the test binary, also when it is killed (timeout, ^C).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sshd: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // the test's own sshd; Wait below reports how it ended
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("sshd stderr:\n%s", s.stderr.String())
		}
	})
	return s
}

// opts are the options that log in to s as root.
func (s *sshdServer) opts(extra ...Option) []Option {
	return append([]Option{WithSigner(s.clientKey.Signer), WithHostKey(s.hostKey.PublicKey()), WithTimeout(20 * time.Second)}, extra...)
}

func (s *sshdServer) dial(t testing.TB, extra ...Option) *Comm {
	t.Helper()
	return dialAddr(t, s.addr, "root", s.opts(extra...)...)
}

func dialAddr(t testing.TB, addr, user string, opts ...Option) *Comm {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := New(ctx, addr, user, opts...)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return c
}

func mustKey(t testing.TB) *Key {
	t.Helper()
	k, err := NewEphemeralKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writeFile(t testing.TB, p string, b []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(p, b, mode); err != nil {
		t.Fatal(err)
	}
}

// freeAddr is a loopback address with a port nothing listens on.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// cutProxy forwards a loopback port to target and can drop every
// connection: after cutAfter bytes from the client, or when Cut is called.
type cutProxy struct {
	addr     string
	cutAfter int64
	sent     atomic.Int64
	stalled  atomic.Bool // drop the client's bytes without closing anything
	mu       sync.Mutex
	conns    []net.Conn
}

func startProxy(t testing.TB, target string, cutAfter int64) *cutProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{addr: l.Addr().String(), cutAfter: cutAfter}
	t.Cleanup(func() { l.Close(); p.Cut() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() {
				buf := make([]byte, 32<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 && p.stalled.Load() {
						continue
					}
					if n > 0 {
						if p.cutAfter > 0 && p.sent.Add(int64(n)) > p.cutAfter {
							p.Cut()
							return
						}
						if _, err := u.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						u.Close()
						return
					}
				}
			}()
			go func() { _, _ = io.Copy(c, u); c.Close() }()
		}
	}()
	return p
}

// Cut drops every connection through the proxy.
func (p *cutProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// run runs command on c and returns its exit code and combined output.
func run(t testing.TB, c *Comm, command string) (int, string) {
	t.Helper()
	var out lockedBuffer
	code, err := c.Run(context.Background(), &remoteCmd{Command: command, Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatalf("run %q: %v", command, err)
	}
	return code, out.String()
}

// mustRun runs command and fails the test unless it exits 0.
func mustRun(t testing.TB, c *Comm, command string) string {
	t.Helper()
	code, out := run(t, c, command)
	if code != 0 {
		t.Fatalf("%q exited %d: %s", command, code, out)
	}
	return out
}

func hostKeyLine(addr string, k gossh.PublicKey) string {
	return fmt.Sprintf("%s %s", knownHost(addr), strings.TrimSpace(string(gossh.MarshalAuthorizedKey(k))))
}

func knownHost(addr string) string {
	host, port, _ := net.SplitHostPort(addr)
	if port == "22" {
		return host
	}
	return "[" + host + "]:" + port
}
