package sim_test

import (
	"bytes"
	"fmt"
	"net"
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
	var out bytes.Buffer
	sess.Stdout, sess.Stderr = &out, &out
	err = sess.Run(cmd)
	return out.String(), err
}
