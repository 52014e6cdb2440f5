package amazon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/bakehq/bake/bake"
	sshcomm "github.com/bakehq/bake/communicators/ssh"
)

// closingComm is a communicator with a connection to close.
type closingComm interface {
	bake.Communicator
	Close() error
}

// connectSSH connects with the bake's key, trusting only the host keys
// the console showed.
func connectSSH(ctx context.Context, s *state) error {
	opts := []sshcomm.Option{
		sshcomm.WithTimeout(s.cfg.sshTO),
		sshcomm.WithLog(s.log),
	}
	if s.key != nil {
		opts = append(opts, sshcomm.WithSigner(s.key.Signer))
	}
	if pc := s.cfg.pc; pc != nil {
		cm := pc.Comm
		if d := cm.PauseBeforeConnect; d > 0 {
			s.log.Info(fmt.Sprintf("pause_before_connecting: waiting %s", d))
			if err := sleepCtx(ctx, d); err != nil {
				return err
			}
		}
		if cm.SSHPrivateKeyFile != "" {
			opts = append(opts, sshcomm.WithKeyFile(cm.SSHPrivateKeyFile, ""))
		}
		if cm.SSHAgentAuth {
			opts = append(opts, sshcomm.WithAgent(""))
		}
		if cm.SSHPassword != "" {
			opts = append(opts, sshcomm.WithPassword(cm.SSHPassword))
		}
		if len(cm.SSHCiphers) > 0 {
			opts = append(opts, sshcomm.WithCiphers(cm.SSHCiphers...))
		}
		if cm.SSHBastionHost != "" {
			var bopts []sshcomm.Option
			if cm.SSHBastionPrivateKeyFile != "" {
				bopts = append(bopts, sshcomm.WithKeyFile(cm.SSHBastionPrivateKeyFile, ""))
			}
			if cm.SSHBastionAgentAuth {
				bopts = append(bopts, sshcomm.WithAgent(""))
			}
			if cm.SSHBastionPassword != "" {
				bopts = append(bopts, sshcomm.WithPassword(cm.SSHBastionPassword))
			}
			port := cm.SSHBastionPort
			if port == 0 {
				port = 22
			}
			opts = append(opts, sshcomm.WithBastion(net.JoinHostPort(cm.SSHBastionHost, strconv.Itoa(port)), cm.SSHBastionUsername, bopts...))
		}
	}
	if len(s.hostKeys) > 0 {
		opts = append(opts, sshcomm.WithHostKeyFingerprint(s.hostKeys...))
	} else {
		opts = append(opts, sshcomm.InsecureSkipHostKeyCheck())
	}
	c, err := sshcomm.New(ctx, s.addr, s.cfg.SSHUsername, opts...)
	if err != nil {
		return fmt.Errorf("connect to %s at %s as %s: %w", s.instanceID, s.addr, s.cfg.SSHUsername, err)
	}
	s.comm = c
	if s.cfg.sudo() {
		s.comm = &sudoComm{Comm: c}
		s.log.Info(fmt.Sprintf("connected to %s as %s; commands run through sudo -n (sudo = false to change)", s.addr, s.cfg.SSHUsername))
	} else {
		s.log.Info(fmt.Sprintf("connected to %s as %s; commands run as that user, as in Packer (sudo = true to run them as root)", s.addr, s.cfg.SSHUsername))
	}
	return nil
}

// clearAuthorizedKeys is ssh_clear_authorized_keys: before the image is
// made, the bake's temporary public key is removed from the login user's
// and root's authorized_keys, as Packer removes its temporary key.
func clearAuthorizedKeys(ctx context.Context, s *state) error {
	if s.cfg.pc == nil || !s.cfg.pc.Comm.SSHClearAuthorizedKeys || s.comm == nil || s.key == nil {
		return nil
	}
	fields := strings.Fields(s.key.AuthorizedKey(""))
	if len(fields) < 2 {
		return nil
	}
	// The base64 key has no '#': it is the sed address delimiter.
	cmd := fmt.Sprintf(`for f in "$(getent passwd %s | cut -d: -f6)/.ssh/authorized_keys" /root/.ssh/authorized_keys; do `+
		`if [ -f "$f" ]; then sed -i '\#%s#d' "$f"; fi; done`, bake.ShellQuote(s.cfg.SSHUsername), fields[1])
	if err := bake.RunChecked(ctx, s.comm, cmd, nil); err != nil {
		return fmt.Errorf("ssh_clear_authorized_keys: remove the temporary key: %w", err)
	}
	s.log.Info("ssh_clear_authorized_keys: the temporary key is removed from authorized_keys")
	return nil
}

// disconnectSSH closes the connection; it is idempotent.
func disconnectSSH(_ context.Context, s *state) error {
	if s.comm == nil {
		return nil
	}
	err := s.comm.Close()
	s.comm = nil
	if err != nil && !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "closed") {
		return fmt.Errorf("close the ssh connection to %s: %w", s.instanceID, err)
	}
	return nil
}

// sudoComm runs commands as root through sudo -n, as Packer users do
// with execute_command on AMIs that log in as admin or ubuntu. Uploads go
// to a private temporary file first and are moved into place as root.
type sudoComm struct {
	*sshcomm.Comm
}

func (c *sudoComm) Run(ctx context.Context, cmd *bake.RemoteCmd) (int, error) {
	line, err := sshcomm.CommandLine(cmd)
	if err != nil {
		return -1, err
	}
	sc := *cmd
	sc.Env = nil
	sc.Command = "sudo -n -- " + line
	return c.Comm.Run(ctx, &sc)
}

// Upload writes r to a temporary file as the login user, then moves it
// to dst as root, owned by root, with fi's mode.
func (c *sudoComm) Upload(ctx context.Context, dst string, r io.Reader, fi bake.FileInfo) error {
	tmp := fmt.Sprintf("/tmp/.bake-upload-%s", randomName())
	if err := c.Comm.Upload(ctx, tmp, r, bake.FileInfo{Mode: 0o600, Size: fi.Size, ModTime: fi.ModTime}); err != nil {
		return err
	}
	mv := fmt.Sprintf("chown root:root %[1]s && chmod %[2]o %[1]s && mv -f %[1]s %[3]s", tmp, fi.Mode.Perm(), bake.ShellQuote(dst))
	if err := bake.RunChecked(ctx, c, mv, nil); err != nil {
		_ = bake.RunChecked(context.WithoutCancel(ctx), c, "rm -f "+tmp, nil) // best effort: the file is the user's own and private
		return fmt.Errorf("upload %s: move into place as root: %w", dst, err)
	}
	return nil
}

// UploadDir uploads file by file through Upload, so that every file is
// put in place as root.
func (c *sudoComm) UploadDir(ctx context.Context, dst, src string) error {
	return bake.UploadDir(ctx, onlyComm{c}, dst, src)
}

// Download reads src as root.
func (c *sudoComm) Download(ctx context.Context, src string, w io.Writer) error {
	tail := bake.NewTail(bake.TailBytes)
	code, err := c.Run(ctx, &bake.RemoteCmd{Command: "cat " + bake.ShellQuote(src), Stdout: w, Stderr: tail})
	if err != nil {
		return fmt.Errorf("download %s: %w", src, err)
	}
	if code != 0 {
		return fmt.Errorf("download %s: %w", src, &bake.RunError{Command: "cat " + src, ExitCode: code, Output: tail.String()})
	}
	return nil
}

// onlyComm hides a communicator's UploadDir, so that bake.UploadDir goes
// file by file.
type onlyComm struct{ bake.Communicator }

func randomName() string { return strings.ReplaceAll(uuid.NewString(), "-", "")[:16] }
