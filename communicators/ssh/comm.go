package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bakehq/bake/bake"
	gossh "golang.org/x/crypto/ssh"
)

// ErrDisconnected is wrapped by the errors of commands and transfers cut
// short because the connection dropped (a reboot, a dead machine). After
// it, Reconnect waits for the machine to come back.
var ErrDisconnected = errors.New("ssh connection lost")

// Comm is the SSH communicator. It is safe for concurrent use: commands
// run in their own sessions over one connection.
type Comm struct {
	s *settings

	mu     sync.Mutex
	conn   *conn
	closed bool
}

var (
	_ bake.Communicator = (*Comm)(nil)
	_ bake.DirUploader  = (*Comm)(nil)
	_ bake.Reconnector  = (*Comm)(nil)
	_ io.Closer         = (*Comm)(nil)
)

// New connects to addr (host:port) as user, waiting up to the timeout
// (WithTimeout, default DefaultTimeout) for the server to come up. opts
// must give at least one way to authenticate and one way to verify the
// host key. Bad options are a *bake.InputError.
func New(ctx context.Context, addr, user string, opts ...Option) (*Comm, error) {
	s, err := newSettings(addr, user, opts)
	if err != nil {
		return nil, err
	}
	c, err := s.connect(ctx, time.Now().Add(s.timeout))
	if err != nil {
		return nil, s.redact(err)
	}
	return &Comm{s: s, conn: c}, nil
}

// Addr is the address the communicator connects to.
func (c *Comm) Addr() string { return c.s.addr }

func (s *settings) redact(err error) error {
	if err == nil || len(s.secrets) == 0 {
		return err
	}
	r := bake.NewRedactor(s.secrets)
	if msg := r.String(err.Error()); msg != err.Error() {
		return errors.New(msg)
	}
	return err
}

func (c *Comm) current() (*conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, fmt.Errorf("ssh to %s: communicator is closed", c.s.addr)
	}
	return c.conn, nil
}

// Close ends the connection. It is idempotent.
func (c *Comm) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if err := c.conn.close(); err != nil {
		return fmt.Errorf("ssh to %s: %w", c.s.addr, err)
	}
	return nil
}

// Reconnect drops the connection and waits, up to the timeout, for the
// machine to take a new one: after a reboot or an expected disconnect.
func (c *Comm) Reconnect(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return fmt.Errorf("ssh to %s: communicator is closed", c.s.addr)
	}
	old := c.conn
	c.mu.Unlock()
	_ = old.close() // it is being replaced because it failed or is expected to
	n, err := c.s.connect(ctx, time.Now().Add(c.s.timeout))
	if err != nil {
		return fmt.Errorf("reconnect: %w", c.s.redact(err))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.Join(fmt.Errorf("ssh to %s: communicator closed while reconnecting", c.s.addr), n.close())
	}
	c.conn = n
	return nil
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// CommandLine is the line sent to the server for cmd: cmd.Command run by
// /bin/sh -c whatever the user's login shell is, with cmd.Env set by env(1)
// (sshd accepts few variables by its own means). With sudo, the variables
// reach the command only through sudo -E or when set after sudo.
func CommandLine(cmd *bake.RemoteCmd) (string, error) {
	var b strings.Builder
	if len(cmd.Env) > 0 {
		keys := make([]string, 0, len(cmd.Env))
		for k := range cmd.Env {
			if !envName.MatchString(k) {
				return "", bake.BadInputf("environment variable name %q is not valid: use letters, digits and _", k)
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("env")
		for _, k := range keys {
			b.WriteString(" ")
			b.WriteString(bake.ShellQuote(k + "=" + cmd.Env[k]))
		}
		b.WriteString(" ")
	}
	b.WriteString("/bin/sh -c ")
	b.WriteString(bake.ShellQuote(cmd.Command))
	return b.String(), nil
}

// Run runs cmd in a new session. A PTY is allocated only when cmd.PTY is
// set (its output then all arrives on Stdout). When ctx ends, the command
// is sent SIGKILL and its session closed.
func (c *Comm) Run(ctx context.Context, cmd *bake.RemoteCmd) (int, error) {
	line, err := CommandLine(cmd)
	if err != nil {
		return -1, err
	}
	cn, err := c.current()
	if err != nil {
		return -1, err
	}
	sess, err := cn.client.NewSession()
	if err != nil {
		return -1, c.lost("open ssh session", err)
	}
	defer sess.Close()
	if cmd.PTY {
		modes := gossh.TerminalModes{gossh.ECHO: 0, gossh.TTY_OP_ISPEED: 38400, gossh.TTY_OP_OSPEED: 38400}
		if err := sess.RequestPty("xterm", 40, 132, modes); err != nil {
			return -1, c.lost("request a pty", err)
		}
	}
	sess.Stdin = cmd.Stdin
	sess.Stdout = orDiscard(cmd.Stdout)
	sess.Stderr = orDiscard(cmd.Stderr)
	if err := sess.Start(line); err != nil {
		return -1, c.lost("start command", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- sess.Wait() }()
	select {
	case err = <-waited:
	case <-ctx.Done():
		// OpenSSH delivers the signal for non-root logins only (root
		// sessions run without privilege separation); closing the session
		// then stops waiting for the command in any case.
		_ = sess.Signal(gossh.SIGKILL)
		_ = sess.Close()
		select {
		case <-waited:
		case <-time.After(200 * time.Millisecond):
		}
		return -1, ctx.Err()
	}
	var exit *gossh.ExitError
	var missing *gossh.ExitMissingError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit):
		return exit.ExitStatus(), nil
	case errors.As(err, &missing):
		return -1, fmt.Errorf("ssh to %s: the command ended without an exit status: %w", c.s.addr, ErrDisconnected)
	default:
		return -1, c.lost("run command", err)
	}
}

// lost wraps err, marking it ErrDisconnected when the connection is gone.
func (c *Comm) lost(action string, err error) error {
	cn, cerr := c.current()
	if cerr == nil {
		select {
		case <-cn.done:
			return fmt.Errorf("ssh to %s: %s: %w (%v)", c.s.addr, action, ErrDisconnected, err)
		default:
		}
	}
	if isDisconnect(err) {
		return fmt.Errorf("ssh to %s: %s: %w (%v)", c.s.addr, action, ErrDisconnected, err)
	}
	return fmt.Errorf("ssh to %s: %s: %w", c.s.addr, action, err)
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
