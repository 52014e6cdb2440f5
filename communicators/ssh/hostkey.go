package ssh

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HostKeyError is a server whose host key is not the expected one. It is
// never retried (but with pinned fingerprints, each of the server's keys
// is asked for before): either the machine is not the one bake booted, or
// someone is in the middle.
type HostKeyError struct {
	Addr   string
	Got    string   // the presented key: type and SHA256 fingerprint
	Want   []string // the expected ones, same form
	Source string   // where the expected keys come from: "pinned", a known_hosts path

	keyType string // of the presented key
}

func (e *HostKeyError) Error() string {
	want := "none for this host"
	if len(e.Want) > 0 {
		want = strings.Join(e.Want, ", ")
	}
	return fmt.Sprintf("host key mismatch for %s: the server presented %s but the expected key (%s) is %s; "+
		"refusing to connect: the machine is not the one bake started, or the connection is intercepted. "+
		"If the machine was rebuilt on purpose, update the pinned key or known_hosts",
		e.Addr, e.Got, e.Source, want)
}

func describeKey(k gossh.PublicKey) string {
	return k.Type() + " " + gossh.FingerprintSHA256(k)
}

// WithHostKey trusts exactly the given host keys (the Docker builder pins
// the key it generated for the container's sshd).
func WithHostKey(keys ...gossh.PublicKey) Option {
	return func(s *settings) error {
		if len(keys) == 0 {
			return errors.New("pinned host key list is empty")
		}
		for _, k := range keys {
			if k == nil {
				return errors.New("pinned host key is nil")
			}
		}
		s.hostKeys = append(s.hostKeys, keys...)
		s.hostKeyPolicySet++
		return nil
	}
}

// WithHostKeyFingerprint trusts a host key whose SHA256 fingerprint
// ("SHA256:..." as ssh-keygen -l prints it) is one of fps: the EC2 builder
// reads them from the instance's console.
func WithHostKeyFingerprint(fps ...string) Option {
	return func(s *settings) error {
		if len(fps) == 0 {
			return errors.New("pinned host key fingerprint list is empty")
		}
		for _, fp := range fps {
			if !strings.HasPrefix(fp, "SHA256:") || len(fp) != len("SHA256:")+43 {
				return fmt.Errorf("host key fingerprint %q is not a SHA256 fingerprint (SHA256: and 43 base64 characters, as ssh-keygen -l prints)", fp)
			}
		}
		s.fingerprints = append(s.fingerprints, fps...)
		s.hostKeyPolicySet++
		return nil
	}
}

// WithKnownHosts trusts the keys listed for the host in the known_hosts
// file at path.
func WithKnownHosts(path string) Option {
	return func(s *settings) error {
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("known_hosts file: %w", err)
		}
		s.knownHosts = path
		s.hostKeyPolicySet++
		return nil
	}
}

// InsecureSkipHostKeyCheck accepts any host key. Anyone on the path can
// then read and change everything the build sends, secrets included; a
// warning is logged at every connection. Use only for throwaway tests.
func InsecureSkipHostKeyCheck() Option {
	return func(s *settings) error {
		s.insecureHostKey = true
		s.hostKeyPolicySet++
		return nil
	}
}

// hostKeyCallback returns the callback checking the server's key and the
// key algorithms to ask for, so that a server with several host keys
// presents one we can check.
func (s *settings) hostKeyCallback() (gossh.HostKeyCallback, []string, error) {
	switch {
	case s.insecureHostKey:
		return func(host string, _ net.Addr, key gossh.PublicKey) error {
			s.log.Warn(fmt.Sprintf("ssh to %s: HOST KEY NOT VERIFIED (%s accepted because host key checking is turned off): "+
				"anyone on the network path can read and change this build, secrets included", s.addr, describeKey(key)))
			return nil
		}, nil, nil
	case len(s.hostKeys) > 0:
		var want []string
		var algos []string
		for _, k := range s.hostKeys {
			want = append(want, describeKey(k))
			algos = append(algos, algorithmsFor(k.Type())...)
		}
		return func(_ string, _ net.Addr, key gossh.PublicKey) error {
			got := key.Marshal()
			for _, k := range s.hostKeys {
				if string(k.Marshal()) == string(got) {
					return nil
				}
			}
			return &HostKeyError{Addr: s.addr, Got: describeKey(key), Want: want, Source: "pinned"}
		}, dedupe(algos), nil
	case len(s.fingerprints) > 0:
		return func(_ string, _ net.Addr, key gossh.PublicKey) error {
			fp := gossh.FingerprintSHA256(key)
			if contains(s.fingerprints, fp) {
				return nil
			}
			return &HostKeyError{Addr: s.addr, Got: describeKey(key), Want: s.fingerprints, Source: "pinned fingerprint", keyType: key.Type()}
		}, nil, nil
	case s.knownHosts != "":
		cb, err := knownhosts.New(s.knownHosts)
		if err != nil {
			return nil, nil, fmt.Errorf("read known_hosts %s: %w", s.knownHosts, err)
		}
		// Ask with a key no one has: the error lists the keys known for
		// the host, whose types are the algorithms to ask the server for.
		var algos []string
		var keyErr *knownhosts.KeyError
		if err := cb(s.addr, fakeAddr(s.addr), probeKey{}); errors.As(err, &keyErr) {
			for _, k := range keyErr.Want {
				algos = append(algos, algorithmsFor(k.Key.Type())...)
			}
		}
		return func(host string, remote net.Addr, key gossh.PublicKey) error {
			err := cb(host, remote, key)
			var ke *knownhosts.KeyError
			if errors.As(err, &ke) {
				var want []string
				for _, k := range ke.Want {
					want = append(want, describeKey(k.Key))
				}
				return &HostKeyError{Addr: s.addr, Got: describeKey(key), Want: want, Source: "known_hosts " + s.knownHosts}
			}
			var revoked *knownhosts.RevokedError
			if errors.As(err, &revoked) {
				return fmt.Errorf("host key %s of %s is revoked in %s: refusing to connect", describeKey(key), s.addr, s.knownHosts)
			}
			return err
		}, dedupe(algos), nil
	}
	return nil, nil, errors.New("no host key policy") // validate makes this unreachable
}

func algorithmsFor(keyType string) []string {
	if keyType == gossh.KeyAlgoRSA {
		return []string{gossh.KeyAlgoRSASHA512, gossh.KeyAlgoRSASHA256, gossh.KeyAlgoRSA}
	}
	return []string{keyType}
}

func dedupe(in []string) []string {
	var out []string
	for _, v := range in {
		if !contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

type probeKey struct{}

func (probeKey) Type() string                          { return "bake-probe" }
func (probeKey) Marshal() []byte                       { return []byte("bake-probe") }
func (probeKey) Verify([]byte, *gossh.Signature) error { return errors.New("probe key") }

func fakeAddr(hostport string) net.Addr {
	host, port, _ := net.SplitHostPort(hostport)
	p, _ := strconv.Atoi(port)
	return &net.TCPAddr{IP: net.ParseIP(host), Port: p} // no DNS lookup: a hostname leaves IP nil
}
