package ssh

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/internal/testenv"
	"golang.org/x/crypto/ssh/agent"
)

const gib = 1 << 30

func TestLocalSSHD(t *testing.T) {
	s := startSSHD(t)
	c := s.dial(t)
	dir := strings.TrimSpace(mustRun(t, c, "mktemp -d /tmp/bake-ssh-test.XXXXXX"))
	t.Cleanup(func() { mustRun(t, c, "rm -rf "+dir) })
	checkComm(t, c, dir, gib)
	t.Run("home", func(t *testing.T) {
		// Packer templates upload to ~/file; it is the login user's home.
		name := filepath.Base(dir) + ".home"
		ctx := context.Background()
		if err := c.Upload(ctx, "~/"+name, strings.NewReader("at home"), bake.FileInfo{Mode: 0o644, Size: 7}); err != nil {
			t.Fatal(err)
		}
		defer mustRun(t, c, "rm -f ~/"+name)
		if got := mustRun(t, c, "cat ~/"+name); got != "at home" {
			t.Errorf("~/%s holds %q", name, got)
		}
		var b strings.Builder
		if err := c.Download(ctx, "~/"+name, &b); err != nil || b.String() != "at home" {
			t.Errorf("download ~/%s: %q %v", name, b.String(), err)
		}
	})
	t.Run("sudo", func(t *testing.T) {
		if _, err := exec.LookPath("sudo"); err != nil {
			testenv.SkipOrFail(t, "sudo is not installed on this machine (hack/setup-ssh.sh installs it); the container test covers sudo as a non-root user")
		}
		if got := mustRun(t, c, "sudo -n id -u"); got != "0\n" {
			t.Errorf("sudo id -u: %q", got)
		}
	})
}

// TestRefusals: every way a connection must fail, fails fast and says why.
func TestRefusals(t *testing.T) {
	s := startSSHD(t)
	ctx := context.Background()
	t.Run("wrong client key", func(t *testing.T) {
		t.Parallel()
		other := mustKey(t)
		start := time.Now()
		_, err := New(ctx, s.addr, "root", WithSigner(other.Signer), WithHostKey(s.hostKey.PublicKey()), WithTimeout(time.Minute))
		var ae *authError
		if !errors.As(err, &ae) || !strings.Contains(err.Error(), "authentication refused") || !strings.Contains(err.Error(), other.Fingerprint()) {
			t.Fatalf("got %v, want an authentication error naming the key", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("refused after %s: a refused key must not be retried until ssh_timeout", d)
		}
	})
	t.Run("wrong host key", func(t *testing.T) {
		t.Parallel()
		pinned := mustKey(t)
		_, err := New(ctx, s.addr, "root", WithSigner(s.clientKey.Signer), WithHostKey(pinned.PublicKey()), WithTimeout(time.Minute))
		var hk *HostKeyError
		if !errors.As(err, &hk) {
			t.Fatalf("got %v, want a *HostKeyError", err)
		}
		for _, want := range []string{s.hostKey.Fingerprint(), pinned.Fingerprint(), "host key mismatch", s.addr} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %s", err, want)
			}
		}
	})
	t.Run("wrong host key fingerprint", func(t *testing.T) {
		t.Parallel()
		pinned := mustKey(t)
		_, err := New(ctx, s.addr, "root", WithSigner(s.clientKey.Signer), WithHostKeyFingerprint(pinned.Fingerprint()))
		var hk *HostKeyError
		if !errors.As(err, &hk) || !strings.Contains(err.Error(), pinned.Fingerprint()) || !strings.Contains(err.Error(), s.hostKey.Fingerprint()) {
			t.Fatalf("got %v, want a mismatch naming both fingerprints", err)
		}
	})
	t.Run("host not in known_hosts", func(t *testing.T) {
		t.Parallel()
		kh := filepath.Join(t.TempDir(), "known_hosts")
		writeFile(t, kh, []byte(hostKeyLine("127.0.0.2:22", s.hostKey.PublicKey())+"\n"), 0o600)
		_, err := New(ctx, s.addr, "root", WithSigner(s.clientKey.Signer), WithKnownHosts(kh))
		var hk *HostKeyError
		if !errors.As(err, &hk) || !strings.Contains(err.Error(), s.hostKey.Fingerprint()) {
			t.Fatalf("got %v, want a host key error", err)
		}
	})
	t.Run("changed key in known_hosts", func(t *testing.T) {
		t.Parallel()
		old := mustKey(t)
		kh := filepath.Join(t.TempDir(), "known_hosts")
		writeFile(t, kh, []byte(hostKeyLine(s.addr, old.PublicKey())+"\n"), 0o600)
		_, err := New(ctx, s.addr, "root", WithSigner(s.clientKey.Signer), WithKnownHosts(kh))
		if err == nil || !strings.Contains(err.Error(), old.Fingerprint()) || !strings.Contains(err.Error(), s.hostKey.Fingerprint()) {
			t.Fatalf("got %v, want a mismatch naming both fingerprints", err)
		}
	})
	t.Run("sshd not running by ssh_timeout", func(t *testing.T) {
		t.Parallel()
		addr := freeAddr(t)
		start := time.Now()
		_, err := New(ctx, addr, "root", WithSigner(s.clientKey.Signer), WithHostKey(s.hostKey.PublicKey()), WithTimeout(1500*time.Millisecond))
		d := time.Since(start)
		if err == nil || !strings.Contains(err.Error(), "no ssh server answered within ssh_timeout") || !strings.Contains(err.Error(), "connection refused") {
			t.Fatalf("got %v", err)
		}
		if d < 1400*time.Millisecond || d > 3*time.Second {
			t.Errorf("gave up after %s, want about the 1.5s ssh_timeout", d)
		}
	})
	t.Run("a listener that is not sshd", func(t *testing.T) {
		t.Parallel()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		_, err = New(ctx, l.Addr().String(), "root", WithSigner(s.clientKey.Signer), WithHostKey(s.hostKey.PublicKey()), WithTimeout(time.Second))
		if err == nil || !strings.Contains(err.Error(), "ssh_timeout") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("connection dropped mid-upload", func(t *testing.T) {
		t.Parallel()
		c := s.dial(t)
		dir := strings.TrimSpace(mustRun(t, c, "mktemp -d /tmp/bake-ssh-test.XXXXXX"))
		t.Cleanup(func() { mustRun(t, c, "rm -rf "+dir) })
		dst := dir + "/payload"
		mustRun(t, c, "printf old > "+dst)

		p := startProxy(t, s.addr, 48<<20)
		viaProxy := dialAddr(t, p.addr, "root", s.opts(WithKeepAlive(0, 1))...)
		const size = 256 << 20
		err := viaProxy.Upload(ctx, dst, strings.NewReader(strings.Repeat("n", size)), bake.FileInfo{Mode: 0o644, Size: size})
		if err == nil || !errors.Is(err, ErrDisconnected) {
			t.Fatalf("got %v, want an ErrDisconnected upload error", err)
		}
		if !strings.Contains(err.Error(), "upload "+dst) {
			t.Errorf("error %q does not name the destination", err)
		}
		if got := mustRun(t, c, "cat "+dst); got != "old" {
			t.Errorf("destination holds %d bytes after a dropped upload, want the old content", len(got))
		}
	})
}

func TestAuthAndRouting(t *testing.T) {
	s := startSSHD(t)
	t.Run("pinned fingerprint", func(t *testing.T) {
		t.Parallel()
		c := dialAddr(t, s.addr, "root", WithSigner(s.clientKey.Signer), WithHostKeyFingerprint(mustKey(t).Fingerprint(), s.hostKey.Fingerprint()))
		mustRun(t, c, "true")
	})
	t.Run("known_hosts", func(t *testing.T) {
		t.Parallel()
		kh := filepath.Join(t.TempDir(), "known_hosts")
		writeFile(t, kh, []byte("# comment\n"+hostKeyLine(s.addr, s.hostKey.PublicKey())+"\n"), 0o600)
		c := dialAddr(t, s.addr, "root", WithSigner(s.clientKey.Signer), WithKnownHosts(kh))
		mustRun(t, c, "true")
	})
	t.Run("private key file", func(t *testing.T) {
		t.Parallel()
		pem, err := s.clientKey.PrivateKeyPEM()
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "id_ed25519")
		writeFile(t, p, pem, 0o600)
		c := dialAddr(t, s.addr, "root", WithKeyFile(p, ""), WithHostKey(s.hostKey.PublicKey()))
		mustRun(t, c, "true")
	})
	t.Run("ssh-agent", func(t *testing.T) {
		t.Parallel()
		sock := filepath.Join(t.TempDir(), "agent.sock")
		l, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		keyring := agent.NewKeyring()
		if err := keyring.Add(agent.AddedKey{PrivateKey: s.clientKey.priv}); err != nil {
			t.Fatal(err)
		}
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				go func() { _ = agent.ServeAgent(keyring, c); c.Close() }()
			}
		}()
		c := dialAddr(t, s.addr, "root", WithAgent(sock), WithHostKey(s.hostKey.PublicKey()))
		mustRun(t, c, "true")
	})
	t.Run("bastion", func(t *testing.T) {
		t.Parallel()
		// The test sshd is its own jump host: the target address is only
		// dialled from the bastion.
		c := dialAddr(t, s.addr, "root", append(s.opts(), WithBastion(s.addr, "root", s.opts()...))...)
		mustRun(t, c, "true")
		if c.conn.bastion == nil {
			t.Fatal("no bastion connection")
		}
	})
	t.Run("insecure opt-in warns loudly", func(t *testing.T) {
		t.Parallel()
		var mu sync.Mutex
		var warnings []string
		log := bake.Log{R: bake.ReporterFunc(func(e bake.Event) {
			if e.Type == bake.EventWarning {
				mu.Lock()
				warnings = append(warnings, e.Message)
				mu.Unlock()
			}
		})}
		c := dialAddr(t, s.addr, "root", WithSigner(s.clientKey.Signer), InsecureSkipHostKeyCheck(), WithLog(log))
		mustRun(t, c, "true")
		mu.Lock()
		defer mu.Unlock()
		if len(warnings) != 1 || !strings.Contains(warnings[0], "HOST KEY NOT VERIFIED") || !strings.Contains(warnings[0], s.hostKey.Fingerprint()) {
			t.Errorf("warnings: %q", warnings)
		}
	})
	t.Run("reconnect after the connection drops", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t, s.addr, 0)
		c := dialAddr(t, p.addr, "root", s.opts()...)
		done := make(chan error, 1)
		go func() {
			_, err := c.Run(context.Background(), &remoteCmd{Command: "sleep 20"})
			done <- err
		}()
		time.Sleep(300 * time.Millisecond)
		p.Cut()
		select {
		case err := <-done:
			if !errors.Is(err, ErrDisconnected) {
				t.Fatalf("got %v, want ErrDisconnected", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a command on a dropped connection did not return")
		}
		if err := c.Reconnect(context.Background()); err != nil {
			t.Fatal(err)
		}
		mustRun(t, c, "true")
	})
	t.Run("keepalive drops a dead connection", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t, s.addr, 0)
		c := dialAddr(t, p.addr, "root", s.opts(WithKeepAlive(100*time.Millisecond, 2))...)
		mustRun(t, c, "true")
		p.stalled.Store(true) // a machine that hangs: nothing gets through, nothing is closed
		select {
		case <-c.conn.done:
		case <-time.After(10 * time.Second):
			t.Fatal("connection still open after unanswered keepalives")
		}
	})
}

func TestOptions(t *testing.T) {
	key := mustKey(t)
	tests := []struct {
		name string
		addr string
		user string
		opts []Option
		want string
	}{
		{"no host key policy", "127.0.0.1:22", "root", []Option{WithSigner(key.Signer)}, "no host key to verify"},
		{"no auth", "127.0.0.1:22", "root", []Option{WithHostKey(key.PublicKey())}, "no authentication given"},
		{"no user", "127.0.0.1:22", "", []Option{WithSigner(key.Signer), WithHostKey(key.PublicKey())}, "ssh_username is empty"},
		{"bad address", "127.0.0.1", "root", []Option{WithSigner(key.Signer), WithHostKey(key.PublicKey())}, "not host:port"},
		{"bad port", "127.0.0.1:70000", "root", []Option{WithSigner(key.Signer), WithHostKey(key.PublicKey())}, "port must be"},
		{"insecure and pinned", "127.0.0.1:22", "root", []Option{WithSigner(key.Signer), WithHostKey(key.PublicKey()), InsecureSkipHostKeyCheck()}, "both configured and skipped"},
		{"bad fingerprint", "127.0.0.1:22", "root", []Option{WithSigner(key.Signer), WithHostKeyFingerprint("MD5:aa:bb")}, "not a SHA256 fingerprint"},
		{"empty password", "127.0.0.1:22", "root", []Option{WithPassword(""), WithHostKey(key.PublicKey())}, "password is empty"},
		{"bad timeout", "127.0.0.1:22", "root", []Option{WithSigner(key.Signer), WithHostKey(key.PublicKey()), WithTimeout(0)}, "must be positive"},
		{"unknown cipher", "127.0.0.1:22", "root", []Option{WithSigner(key.Signer), WithHostKey(key.PublicKey()), WithCiphers("rot13")}, `cipher "rot13" is not supported`},
		{"missing key file", "127.0.0.1:22", "root", []Option{WithKeyFile("/nonexistent/id", ""), WithHostKey(key.PublicKey())}, "read ssh private key"},
		{"missing known_hosts", "127.0.0.1:22", "root", []Option{WithSigner(key.Signer), WithKnownHosts("/nonexistent/kh")}, "known_hosts file"},
		{"bastion without host key", "127.0.0.1:22", "root", []Option{WithSigner(key.Signer), WithHostKey(key.PublicKey()), WithBastion("127.0.0.1:2222", "jump", WithSigner(key.Signer))}, "bastion: ssh to 127.0.0.1:2222: no host key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(context.Background(), tt.addr, tt.user, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !bake.IsBadInput(err) {
				t.Errorf("got %v, want an input error containing %q", err, tt.want)
			}
		})
	}
}

func TestCommandLine(t *testing.T) {
	tests := []struct {
		cmd  remoteCmd
		want string
	}{
		{remoteCmd{Command: "echo hi"}, `/bin/sh -c 'echo hi'`},
		{remoteCmd{Command: "echo it's", Env: map[string]string{"B": "2", "A": "x y"}}, `env 'A=x y' B=2 /bin/sh -c 'echo it'"'"'s'`},
	}
	for _, tt := range tests {
		got, err := CommandLine(&tt.cmd)
		if err != nil || got != tt.want {
			t.Errorf("CommandLine(%+v) = %q, %v; want %q", tt.cmd, got, err, tt.want)
		}
	}
	if _, err := CommandLine(&remoteCmd{Command: "true", Env: map[string]string{"A;rm": "x"}}); err == nil || !bake.IsBadInput(err) {
		t.Errorf("bad variable name: got %v, want an input error", err)
	}
}

// FuzzCommandLine: whatever the command and the variables, sh parses the
// line back into exactly them.
func FuzzCommandLine(f *testing.F) {
	f.Add("echo hi", "v")
	f.Add(`it's "quoted" $HOME`, "a'b\"c$d`e")
	f.Fuzz(func(t *testing.T, command, value string) {
		if strings.ContainsRune(command+value, 0) {
			t.Skip("a NUL cannot be in an argument")
		}
		line, err := CommandLine(&remoteCmd{Command: command, Env: map[string]string{"V": value}})
		if err != nil {
			t.Fatal(err)
		}
		// Replace /bin/sh with a printer of its arguments and the variable.
		line = strings.Replace(line, "/bin/sh -c ", `sh -c 'printf "%s\n%s" "$V" "$1"' _ `, 1)
		out, err := exec.Command("sh", "-c", line).Output()
		if err != nil {
			t.Fatalf("sh -c %q: %v", line, err)
		}
		if string(out) != value+"\n"+command {
			t.Errorf("round trip of %q / %q gave %q", command, value, out)
		}
	})
}

func TestHostKeyErrorNamesBoth(t *testing.T) {
	err := &HostKeyError{Addr: "10.0.0.1:22", Got: "ssh-ed25519 SHA256:got", Want: []string{"SHA256:want"}, Source: "pinned"}
	for _, s := range []string{"10.0.0.1:22", "SHA256:got", "SHA256:want", "refusing"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%q lacks %q", err, s)
		}
	}
}
