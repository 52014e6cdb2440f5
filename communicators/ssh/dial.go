package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pkg/sftp"
	gossh "golang.org/x/crypto/ssh"
)

// conn is one authenticated connection and what hangs off it.
type conn struct {
	client  *gossh.Client
	bastion *conn         // nil without a jump host
	done    chan struct{} // closed when the connection ends

	sftpOnce sync.Once
	sftp     *sftp.Client
	sftpErr  error

	closeOnce sync.Once
	closeErr  error
}

func (c *conn) close() error {
	c.closeOnce.Do(func() {
		var errs []error
		if c.sftp != nil {
			if err := c.sftp.Close(); err != nil && !isClosedErr(err) {
				errs = append(errs, fmt.Errorf("close sftp session: %w", err))
			}
		}
		if err := c.client.Close(); err != nil && !isClosedErr(err) {
			errs = append(errs, fmt.Errorf("close ssh connection: %w", err))
		}
		if c.bastion != nil {
			if err := c.bastion.close(); err != nil {
				errs = append(errs, fmt.Errorf("bastion: %w", err))
			}
		}
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}

func isClosedErr(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) || strings.Contains(err.Error(), "use of closed network connection")
}

// dialFunc opens a TCP connection to addr: directly, or through a bastion.
type dialFunc func(ctx context.Context, addr string) (net.Conn, error)

func directDial(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

// authError is a server that refused every credential offered. It is not
// retried: the credentials will not get better by waiting.
type authError struct {
	addr, user string
	methods    []string
	err        error
}

func (e *authError) Error() string {
	return fmt.Sprintf("ssh to %s as %s: authentication refused (tried %s): check ssh_username and that the key "+
		"is authorized on the machine (server said: %v)", e.addr, e.user, strings.Join(e.methods, ", "), e.err)
}
func (e *authError) Unwrap() error { return e.err }

// permanentError is a failure that waiting will not fix.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// connect waits for the server and logs in, until deadline. The wait
// starts fast (a few milliseconds between tries) and backs off to
// maxBackoff, so a server that starts listening is found at once.
func (s *settings) connect(ctx context.Context, deadline time.Time) (*conn, error) {
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()

	dial := dialFunc(directDial)
	if s.dial != nil {
		dial = s.dial
	}
	var bastion *conn
	if s.bastion != nil {
		b, err := s.bastion.connect(ctx, deadline)
		if err != nil {
			return nil, fmt.Errorf("bastion %s: %w", s.bastion.addr, err)
		}
		bastion = b
		dial = func(ctx context.Context, addr string) (net.Conn, error) {
			return b.client.DialContext(ctx, "tcp", addr)
		}
	}
	cfg, err := s.clientConfig()
	if err != nil {
		closeQuietly(bastion)
		return nil, err
	}

	var presented []string // host keys shown by the server that match no pinned fingerprint
	var lastMismatch *HostKeyError
	start := time.Now()
	backoff := firstBackoff
	var lastErr error
	for attempt := 1; ; attempt++ {
		client, err := s.dialOnce(ctx, dial, cfg)
		if err == nil {
			c := &conn{client: client, bastion: bastion, done: make(chan struct{})}
			go func() { _ = client.Wait(); close(c.done) }()
			s.keepAlive(c)
			if attempt > 1 {
				s.log.Info(fmt.Sprintf("ssh: connected to %s after %s (%d attempts)", s.addr, time.Since(start).Round(time.Millisecond), attempt))
			}
			return c, nil
		}
		if lastMismatch != nil && strings.Contains(err.Error(), "no common algorithm for host key") {
			// Every key the server has was shown, none pinned.
			closeQuietly(bastion)
			lastMismatch.Got = strings.Join(presented, ", ")
			return nil, lastMismatch
		}
		var hk *HostKeyError
		if errors.As(err, &hk) && len(s.fingerprints) > 0 {
			lastMismatch = hk
			// A fingerprint does not say its key type, and the server
			// shows only one of its keys: ask again for one of the others
			// before calling it a mismatch.
			presented = append(presented, hk.Got)
			if algos := withoutAlgorithms(cfg.HostKeyAlgorithms, hk.keyType); len(algos) > 0 {
				cfg.HostKeyAlgorithms = algos
				continue
			}
			hk.Got = strings.Join(presented, ", ")
		}
		var ae *authError
		var pe permanentError
		if errors.As(err, &hk) || errors.As(err, &ae) || errors.As(err, &pe) {
			closeQuietly(bastion)
			return nil, err
		}
		// An attempt that ssh_timeout itself cut short (i/o timeout) says
		// less than the answer before it (connection refused, say).
		if lastErr == nil || ctx.Err() == nil {
			lastErr = err
		}
		if bastion != nil && isBastionGone(bastion) {
			return nil, fmt.Errorf("ssh to %s: connection to bastion %s lost: %w", s.addr, s.bastion.addr, err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			closeQuietly(bastion)
			if errors.Is(ctx.Err(), context.DeadlineExceeded) && time.Now().After(deadline.Add(-time.Millisecond)) {
				return nil, fmt.Errorf("ssh to %s: no ssh server answered within ssh_timeout (%s, %d attempts; last error: %v): "+
					"check that sshd runs on the machine and that the port is reachable", s.addr, s.timeout, attempt, lastErr)
			}
			return nil, fmt.Errorf("ssh to %s: %w", s.addr, ctx.Err())
		case <-t.C:
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

func isBastionGone(b *conn) bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

func closeQuietly(c *conn) {
	if c != nil {
		_ = c.close() // the connection failed; its own error is the one reported
	}
}

func (s *settings) clientConfig() (*gossh.ClientConfig, error) {
	cb, algos, err := s.hostKeyCallback()
	if err != nil {
		return nil, err
	}
	cfg := &gossh.ClientConfig{
		User:              s.user,
		Auth:              s.auth,
		HostKeyCallback:   cb,
		HostKeyAlgorithms: algos,
	}
	if len(s.ciphers) > 0 {
		cfg.Ciphers = s.ciphers
	}
	return cfg, nil
}

// dialOnce makes one TCP connection and one SSH handshake, bounded by ctx
// and handshakeTimeout.
func (s *settings) dialOnce(ctx context.Context, dial dialFunc, cfg *gossh.ClientConfig) (*gossh.Client, error) {
	dctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	nc, err := dial(dctx, s.addr)
	if err != nil {
		return nil, err
	}
	type result struct {
		c     gossh.Conn
		chans <-chan gossh.NewChannel
		reqs  <-chan *gossh.Request
		err   error
	}
	res := make(chan result, 1)
	go func() {
		c, chans, reqs, err := gossh.NewClientConn(nc, s.addr, cfg)
		res <- result{c, chans, reqs, err}
	}()
	select {
	case r := <-res:
		if r.err != nil {
			_ = nc.Close() // the handshake failed; its error is reported
			return nil, s.classify(r.err)
		}
		return gossh.NewClient(r.c, r.chans, r.reqs), nil
	case <-dctx.Done():
		_ = nc.Close() // unblocks the handshake
		if r := <-res; r.err == nil {
			_ = r.c.Close()
		}
		return nil, fmt.Errorf("ssh handshake: %w", dctx.Err())
	}
}

func (s *settings) classify(err error) error {
	var hk *HostKeyError
	if errors.As(err, &hk) {
		return hk
	}
	if strings.Contains(err.Error(), "unable to authenticate") {
		return &authError{addr: s.addr, user: s.user, methods: s.authDesc, err: err}
	}
	if strings.Contains(err.Error(), "no common algorithm") {
		return permanentError{fmt.Errorf("ssh to %s: client and server share no algorithm: %w", s.addr, err)}
	}
	return err
}

// keepAlive asks the server for a reply every interval and closes the
// connection after keepAliveMax unanswered asks, so that a dead machine
// fails the build instead of hanging it.
func (s *settings) keepAlive(c *conn) {
	if s.keepAliveInterval <= 0 {
		return
	}
	go func() {
		tick := time.NewTicker(s.keepAliveInterval)
		defer tick.Stop()
		missed := 0
		for {
			select {
			case <-c.done:
				return
			case <-tick.C:
			}
			reply := make(chan error, 1)
			go func() {
				_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
				reply <- err
			}()
			t := time.NewTimer(s.keepAliveInterval)
			select {
			case err := <-reply:
				t.Stop()
				if err != nil {
					missed++
				} else {
					missed = 0
				}
			case <-t.C:
				missed++
			case <-c.done:
				t.Stop()
				return
			}
			if missed >= s.keepAliveMax {
				s.log.Warn(fmt.Sprintf("ssh: %s did not answer %d keepalives; closing the connection", s.addr, missed))
				_ = c.client.Close() // the session's users see the connection drop
				return
			}
		}
	}()
}

// withoutAlgorithms is algos (all supported ones when empty) less those
// that present a key of type keyType, and less certificates, which a
// pinned fingerprint never names.
func withoutAlgorithms(algos []string, keyType string) []string {
	if len(algos) == 0 {
		algos = gossh.SupportedAlgorithms().HostKeys
	}
	drop := append(algorithmsFor(keyType), keyType)
	var out []string
	for _, a := range algos {
		if !contains(drop, a) && !strings.Contains(a, "-cert-") {
			out = append(out, a)
		}
	}
	return out
}

// isDisconnect reports whether err is a connection that dropped rather
// than an answer.
func isDisconnect(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrUnexpectedEOF)
}
