package ssh

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// Key is an ed25519 key pair held in memory, never written anywhere by
// this package. bake makes one per build to log in with, and the Docker
// builder makes one per container as sshd's host key.
type Key struct {
	Signer gossh.Signer
	priv   ed25519.PrivateKey
}

// NewEphemeralKey generates a fresh ed25519 key in memory.
func NewEphemeralKey() (*Key, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ed25519 key: %w", err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		return nil, fmt.Errorf("generate ed25519 key: %w", err)
	}
	return &Key{Signer: signer, priv: priv}, nil
}

// PublicKey is the key's public half.
func (k *Key) PublicKey() gossh.PublicKey { return k.Signer.PublicKey() }

// AuthorizedKey is the public key as one authorized_keys line, with
// comment appended when not empty.
func (k *Key) AuthorizedKey(comment string) string {
	line := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(k.PublicKey())))
	if comment != "" {
		line += " " + comment
	}
	return line + "\n"
}

// Fingerprint is the key's SHA256 fingerprint, as ssh-keygen -l prints it.
func (k *Key) Fingerprint() string { return gossh.FingerprintSHA256(k.PublicKey()) }

// PrivateKeyPEM is the private key in OpenSSH format, for a tool that
// needs a file (sshd's HostKey). The caller writes it 0600 and removes it.
func (k *Key) PrivateKeyPEM() ([]byte, error) {
	block, err := gossh.MarshalPrivateKey(k.priv, "bake")
	if err != nil {
		return nil, fmt.Errorf("encode ed25519 key: %w", err)
	}
	return pem.EncodeToMemory(block), nil
}

// WithKeyFile authenticates with the private key in path, decrypted with
// passphrase when it has one.
func WithKeyFile(path, passphrase string) Option {
	return func(s *settings) error {
		pemBytes, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read ssh private key: %w", err)
		}
		var signer gossh.Signer
		if passphrase != "" {
			s.secrets = append(s.secrets, passphrase)
			signer, err = gossh.ParsePrivateKeyWithPassphrase(pemBytes, []byte(passphrase))
		} else {
			signer, err = gossh.ParsePrivateKey(pemBytes)
		}
		var missing *gossh.PassphraseMissingError
		switch {
		case errors.As(err, &missing):
			return fmt.Errorf("ssh private key %s is encrypted: give its passphrase, or use ssh-agent", path)
		case err != nil:
			return fmt.Errorf("parse ssh private key %s: %w", path, err)
		}
		s.auth = append(s.auth, gossh.PublicKeys(signer))
		s.authDesc = append(s.authDesc, "key file "+path)
		return nil
	}
}

// WithAgent authenticates with the keys of the ssh-agent at socket, or at
// $SSH_AUTH_SOCK when socket is empty. The agent is asked at each
// connection, so it must stay up for the build.
func WithAgent(socket string) Option {
	return func(s *settings) error {
		if socket == "" {
			socket = os.Getenv("SSH_AUTH_SOCK")
		}
		if socket == "" {
			return errors.New("ssh agent: SSH_AUTH_SOCK is not set: start ssh-agent or give a key file")
		}
		if _, err := os.Stat(socket); err != nil {
			return fmt.Errorf("ssh agent socket: %w", err)
		}
		a := &agentConn{socket: socket}
		s.auth = append(s.auth, gossh.PublicKeysCallback(a.signers))
		s.authDesc = append(s.authDesc, "ssh-agent "+socket)
		return nil
	}
}

// agentConn is one connection to an ssh-agent, opened at the first
// handshake and kept for the signatures of later ones (a connection per
// handshake would leak one per retry while waiting for a machine).
type agentConn struct {
	socket string
	mu     sync.Mutex
	client agent.ExtendedAgent
}

func (a *agentConn) signers() ([]gossh.Signer, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.client != nil {
		if signers, err := a.client.Signers(); err == nil {
			return signers, nil
		}
		a.client = nil // the agent restarted or went away: dial again
	}
	conn, err := net.Dial("unix", a.socket)
	if err != nil {
		return nil, fmt.Errorf("connect to ssh agent at %s: %w", a.socket, err)
	}
	a.client = agent.NewClient(conn)
	return a.client.Signers()
}
