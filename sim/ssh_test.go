package sim_test

import (
	"bytes"
	"fmt"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

type net_Addr = net.Addr

func errHostKey(fp string) error {
	return fmt.Errorf("host key %s is not one the console printed", fp)
}

// sshRun runs cmd over SSH as user, verifying the host key.
func sshRun(addr, user string, signer ssh.Signer, hostKey ssh.HostKeyCallback, cmd string) (string, error) {
	c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{
		User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: hostKey, Timeout: 5 * time.Second,
	})
	if err != nil {
		return "", err
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer sess.Close()
	var out syncBuffer // stdout and stderr are copied by two goroutines
	sess.Stdout, sess.Stderr = &out, &out
	err = sess.Run(cmd)
	return out.String(), err
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
