package packer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/bakehq/bake/bake"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	packerrpc "github.com/hashicorp/packer-plugin-sdk/rpc"
)

// Packer's plugin handshake: a plugin serves only when its environment
// carries the cookie, and listens on a port in the range (or a unix
// socket in its TMPDIR).
const (
	magicCookieKey   = "PACKER_PLUGIN_MAGIC_COOKIE"
	magicCookieValue = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"
	apiVersionMajor  = "5"
)

// handshakeTimeout bounds how long a plugin may take to print its address.
const handshakeTimeout = time.Minute

// running is one started plugin process and the RPC connection to it.
type running struct {
	plugin *Plugin
	cmd    *exec.Cmd
	tmp    string // the plugin's TMPDIR and PACKER_CACHE_DIR, removed on close
	client *packerrpc.Client
	inproc packersdk.Provisioner // a plugin built into bake, in its process
	stderr *bake.Tail
	waited chan struct{}
	once   sync.Once
	err    error
}

// start launches p with dir as its working directory (relative paths in
// the block are relative to the bake file, as bake's own provisioners'
// are), reads its handshake line and connects.
func start(ctx context.Context, p *Plugin, dir string) (*running, error) {
	tmp, err := os.MkdirTemp(socketDir(), "bake-packer-plugin-")
	if err != nil {
		return nil, fmt.Errorf("start packer plugin %s: make its temp dir: %w", p.Path, err)
	}
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Dir = dir
	// Its own temp dir holds the plugin's socket and temp files (inline
	// scripts), so that killing it leaves nothing behind.
	cmd.Env = append(os.Environ(),
		magicCookieKey+"="+magicCookieValue,
		"PACKER_PLUGIN_MIN_PORT=10000",
		"PACKER_PLUGIN_MAX_PORT=25000",
		"TMPDIR="+tmp,
		"PACKER_CACHE_DIR="+tmp,
		"PACKER_LOG=",
	)
	dieWithParent(cmd)
	r := &running{plugin: p, cmd: cmd, tmp: tmp, stderr: bake.NewTail(8 << 10), waited: make(chan struct{})}
	cmd.Stderr = r.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("start packer plugin %s: %w", p.Path, err)
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("start packer plugin %s: %w; check that it is an executable Packer plugin", p.Path, err)
	}
	go func() {
		cmd.Wait()
		close(r.waited)
	}()

	type result struct {
		line string
		err  error
	}
	lines := make(chan result, 1)
	go func() {
		br := bufio.NewReader(stdout)
		line, err := br.ReadString('\n')
		lines <- result{line, err}
		io.Copy(io.Discard, br) // the plugin's stdout must not block it
	}()
	var line string
	select {
	case res := <-lines:
		line, err = res.line, res.err
	case <-r.waited:
		err = errors.New("it exited before printing its address")
	case <-ctx.Done():
		err = ctx.Err()
	case <-time.After(handshakeTimeout):
		err = fmt.Errorf("it printed no address in %s", handshakeTimeout)
	}
	if err != nil {
		return nil, r.fail(fmt.Errorf("start packer plugin %s %s: %w", p.Path, strings.Join(p.Args, " "), err))
	}
	network, addr, err := parseHandshake(line)
	if err != nil {
		return nil, r.fail(fmt.Errorf("start packer plugin %s: %w", p.Path, err))
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, r.fail(fmt.Errorf("connect to packer plugin %s at %s %s: %w", p.Path, network, addr, err))
	}
	r.client, err = packerrpc.NewClient(conn)
	if err != nil {
		conn.Close()
		return nil, r.fail(fmt.Errorf("connect to packer plugin %s: %w", p.Path, err))
	}
	return r, nil
}

// socketDir is where the plugin's temp dir goes: TMPDIR, unless it is so
// long that a unix socket path in it would pass the 108-byte limit.
func socketDir() string {
	if d := os.TempDir(); len(d) <= 48 {
		return d
	}
	return "/tmp"
}

// parseHandshake reads "5|unix|/tmp/packer-plugin123" (Packer 1.x) or
// "5|0|unix|/tmp/..." (the SDK's plugins).
func parseHandshake(line string) (network, addr string, err error) {
	line = strings.TrimSpace(line)
	parts := strings.Split(line, "|")
	if len(parts) < 3 || len(parts) > 4 {
		return "", "", fmt.Errorf("its handshake %q is not Packer's API|NETWORK|ADDRESS; is it a Packer plugin?", line)
	}
	if parts[0] != apiVersionMajor {
		return "", "", fmt.Errorf("it speaks plugin API version %s, bake speaks %s; use a plugin built for Packer 1.x", parts[0], apiVersionMajor)
	}
	network, addr = parts[len(parts)-2], parts[len(parts)-1]
	if network != "unix" && network != "tcp" {
		return "", "", fmt.Errorf("its handshake %q names network %q, not unix or tcp", line, network)
	}
	return network, addr, nil
}

// fail closes r and returns err with the tail of the plugin's log.
func (r *running) fail(err error) error {
	if cerr := r.close(); cerr != nil {
		err = fmt.Errorf("%w (and: %v)", err, cerr)
	}
	return r.withLog(err)
}

// logLines is how many of the plugin's last log lines an error shows.
const logLines = 6

// withLog appends the last lines of the plugin's stderr to err.
func (r *running) withLog(err error) error {
	lines := strings.Split(strings.TrimSpace(r.stderr.String()), "\n")
	if len(lines) > logLines {
		lines = lines[len(lines)-logLines:]
	}
	if tail := strings.Join(lines, "\n"); tail != "" {
		return fmt.Errorf("%w\n--- the plugin's last log lines ---\n%s", err, tail)
	}
	return err
}

// provisioner is the plugin's provisioner over RPC.
func (r *running) provisioner() packersdk.Provisioner {
	if r.inproc != nil {
		return r.inproc
	}
	return r.client.Provisioner()
}

// close kills the plugin (Packer plugins ignore SIGINT and SIGTERM: they
// expect their parent to kill them), waits for it and removes its temp
// dir. It is idempotent.
func (r *running) close() error {
	r.once.Do(func() {
		if r.client != nil {
			r.client.Close()
		}
		if r.inproc != nil {
			// What it started (ansible-playbook, ssh's control
			// masters) names its temp dir on the command line.
			if err := killMentioning(r.tmp); err != nil {
				r.err = fmt.Errorf("stop the processes of packer provisioner %s: %w", r.plugin.Name, err)
			}
		}
		if r.cmd != nil && r.cmd.Process != nil {
			r.cmd.Process.Kill()
			select {
			case <-r.waited:
			case <-time.After(30 * time.Second):
				r.err = fmt.Errorf("packer plugin %s (pid %d) did not exit after kill", r.plugin.Path, r.cmd.Process.Pid)
			}
		}
		if err := os.RemoveAll(r.tmp); r.tmp != "" && err != nil && r.err == nil {
			r.err = fmt.Errorf("remove packer plugin temp dir %s: %w", r.tmp, err)
		}
	})
	return r.err
}
