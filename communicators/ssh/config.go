// Package ssh is bake's SSH communicator: commands over golang.org/x/crypto/ssh,
// files over SFTP (github.com/pkg/sftp) with concurrent requests.
//
// It is safe by default: the server's host key must match a pinned key, a
// pinned SHA256 fingerprint or a known_hosts file. Skipping the check is an
// explicit option that logs a warning on every connection.
package ssh

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/bakehq/bake/bake"
	gossh "golang.org/x/crypto/ssh"
)

// Defaults, in one place.
const (
	DefaultTimeout           = 5 * time.Minute
	DefaultKeepAliveInterval = 10 * time.Second
	DefaultKeepAliveMax      = 3
	DefaultUploadConcurrency = 64 // SFTP requests in flight per file, like OpenSSH's sftp -R
	DefaultDirConcurrency    = 8  // files in flight during UploadDir
	maxBackoff               = 500 * time.Millisecond
	firstBackoff             = 5 * time.Millisecond
	handshakeTimeout         = 30 * time.Second
)

// Option configures a connection. Options check their arguments; New
// checks the combination.
type Option func(*settings) error

type settings struct {
	addr     string
	user     string
	auth     []gossh.AuthMethod
	authDesc []string
	secrets  []string // passwords, for the redaction of errors

	hostKeys         []gossh.PublicKey
	fingerprints     []string
	knownHosts       string
	insecureHostKey  bool
	hostKeyPolicySet int

	timeout           time.Duration
	keepAliveInterval time.Duration
	keepAliveMax      int
	ciphers           []string
	uploadConcurrency int
	dirConcurrency    int

	bastion *settings
	dial    dialFunc // nil: TCP
	log     bake.Log
}

func defaults(addr, user string) *settings {
	return &settings{
		addr:              addr,
		user:              user,
		timeout:           DefaultTimeout,
		keepAliveInterval: DefaultKeepAliveInterval,
		keepAliveMax:      DefaultKeepAliveMax,
		uploadConcurrency: DefaultUploadConcurrency,
		dirConcurrency:    DefaultDirConcurrency,
	}
}

func newSettings(addr, user string, opts []Option) (*settings, error) {
	s := defaults(addr, user)
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, bake.BadInput(err)
		}
	}
	if err := s.validate(); err != nil {
		return nil, bake.BadInput(err)
	}
	if s.bastion != nil {
		// The jump host shares the machine's log and its overall wait.
		s.bastion.log, s.bastion.timeout = s.log, s.timeout
	}
	return s, nil
}

func (s *settings) validate() error {
	host, port, err := net.SplitHostPort(s.addr)
	if err != nil || host == "" {
		return fmt.Errorf("ssh address %q is not host:port", s.addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("ssh address %q: port must be 1-65535", s.addr)
	}
	if s.user == "" {
		return fmt.Errorf("ssh to %s: ssh_username is empty", s.addr)
	}
	if len(s.auth) == 0 {
		return fmt.Errorf("ssh to %s: no authentication given: set a private key, ssh-agent or a password", s.addr)
	}
	switch {
	case s.hostKeyPolicySet == 0:
		return fmt.Errorf("ssh to %s: no host key to verify the server against: pin its key or fingerprint, "+
			"give a known_hosts file, or (unsafe) opt in to skipping the check", s.addr)
	case s.insecureHostKey && s.hostKeyPolicySet > 1:
		return fmt.Errorf("ssh to %s: host key verification is both configured and skipped: choose one", s.addr)
	}
	if s.bastion != nil && s.dial != nil {
		return fmt.Errorf("ssh to %s: a custom dialer and a bastion cannot be combined", s.addr)
	}
	if s.bastion != nil {
		if err := s.bastion.validate(); err != nil {
			return fmt.Errorf("bastion: %w", err)
		}
	}
	return nil
}

// WithSigner authenticates with a private key already in memory, such as
// an ephemeral key from NewEphemeralKey.
func WithSigner(signer gossh.Signer) Option {
	return func(s *settings) error {
		if signer == nil {
			return errors.New("ssh key is nil")
		}
		s.auth = append(s.auth, gossh.PublicKeys(signer))
		s.authDesc = append(s.authDesc, "key "+gossh.FingerprintSHA256(signer.PublicKey()))
		return nil
	}
}

// WithPassword authenticates with a password (and keyboard-interactive
// prompts answered with it). The password never appears in errors.
func WithPassword(password string) Option {
	return func(s *settings) error {
		if password == "" {
			return errors.New("ssh password is empty")
		}
		s.secrets = append(s.secrets, password)
		s.auth = append(s.auth, gossh.Password(password),
			gossh.KeyboardInteractive(func(_, _ string, questions []string, _ []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range answers {
					answers[i] = password
				}
				return answers, nil
			}))
		s.authDesc = append(s.authDesc, "password")
		return nil
	}
}

// WithTimeout bounds how long New and Reconnect wait for the server
// (ssh_timeout).
func WithTimeout(d time.Duration) Option {
	return func(s *settings) error {
		if d <= 0 {
			return fmt.Errorf("ssh_timeout %s must be positive", d)
		}
		s.timeout = d
		return nil
	}
}

// WithKeepAlive sends a keepalive every interval and drops the connection
// after max unanswered ones. An interval of 0 turns keepalives off.
func WithKeepAlive(interval time.Duration, max int) Option {
	return func(s *settings) error {
		if interval < 0 || max < 1 {
			return fmt.Errorf("ssh keepalive interval %s / count %d: want interval >= 0 and count >= 1", interval, max)
		}
		s.keepAliveInterval, s.keepAliveMax = interval, max
		return nil
	}
}

// WithCiphers restricts the ciphers offered, in order of preference.
func WithCiphers(ciphers ...string) Option {
	return func(s *settings) error {
		supported := gossh.SupportedAlgorithms().Ciphers
		for _, c := range ciphers {
			if !contains(supported, c) {
				return fmt.Errorf("ssh cipher %q is not supported (supported: %s)", c, strings.Join(supported, ", "))
			}
		}
		s.ciphers = ciphers
		return nil
	}
}

// WithUploadConcurrency sets the SFTP write requests in flight per file
// and the files in flight during UploadDir.
func WithUploadConcurrency(perFile, files int) Option {
	return func(s *settings) error {
		if perFile < 1 || files < 1 {
			return fmt.Errorf("upload concurrency %d/%d: both must be at least 1", perFile, files)
		}
		s.uploadConcurrency, s.dirConcurrency = perFile, files
		return nil
	}
}

// WithBastion reaches the machine through a jump host at addr, logged in
// as user and configured by opts (its own authentication and host key).
func WithBastion(addr, user string, opts ...Option) Option {
	return func(s *settings) error {
		b := defaults(addr, user)
		for _, o := range opts {
			if err := o(b); err != nil {
				return fmt.Errorf("bastion: %w", err)
			}
		}
		if b.bastion != nil {
			return errors.New("bastion: a bastion of a bastion is not supported")
		}
		s.bastion = b
		return nil
	}
}

// WithDialer opens the byte stream the SSH connection runs over, instead
// of a TCP connection to addr: sshd -i in a container through docker exec,
// a cloud provider's session tunnel. addr then only names the machine in
// errors and for host key checks. dial is called again while it fails,
// until the timeout, like a TCP connect. It cannot be combined with a
// bastion.
func WithDialer(dial func(ctx context.Context, addr string) (net.Conn, error)) Option {
	return func(s *settings) error {
		if dial == nil {
			return errors.New("ssh dialer is nil")
		}
		s.dial = dial
		return nil
	}
}

// WithLog reports connection progress and warnings to log.
func WithLog(log bake.Log) Option {
	return func(s *settings) error {
		s.log = log
		return nil
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
