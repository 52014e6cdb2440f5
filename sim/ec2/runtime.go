package ec2

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	dimage "github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/docker/go-connections/nat"

	"github.com/bakehq/bake/sim/core"
)

// Runtime runs instances. Docker is the real one; tests of the API surface
// may use a fake.
type Runtime interface {
	// Boot creates and starts the machine of an instance.
	Boot(ctx context.Context, spec BootSpec) (Machine, error)
	// Start starts a stopped machine; Stop stops it; Remove deletes it.
	Start(ctx context.Context, id string) (Machine, error)
	Stop(ctx context.Context, id string) error
	Remove(ctx context.Context, id string) error
	// Console is what the machine wrote to its console.
	Console(ctx context.Context, id string) (string, error)
	// Commit saves the machine's disk as image ref.
	Commit(ctx context.Context, id, ref string, labels map[string]string) error
	// Exec runs a command in the machine and returns its output.
	Exec(ctx context.Context, id string, cmd []string) (string, int, error)
	// Image describes a local image; Tag names it again; Untag removes a name.
	Image(ctx context.Context, ref string) (ImageInfo, error)
	Tag(ctx context.Context, src, dst string) error
	Untag(ctx context.Context, ref string) error
}

// BootSpec is what an instance boots with.
type BootSpec struct {
	InstanceID     string
	Image          string     // docker image ref
	Addr           netip.Addr // the instance's own loopback address
	Ports          []int      // published on Addr
	AuthorizedKeys string     // the key pair's public key, or ""
	LoginUser      string     // the user the key is for, made at boot if missing; "" for the image's own
	UserData       []byte
	Hostname       string
}

// Machine is a booted instance.
type Machine struct {
	ID        string // container id
	PrivateIP string
}

// ImageInfo is what the sim needs to know about a local image.
type ImageInfo struct {
	ID        string
	Created   time.Time
	Init      bool // the image boots /sbin/init (systemd)
	LoginUser string
	Ports     []int // exposed ports
	Size      int64
}

// Labels on everything the sim starts, so that an exit (or the next start
// after a crash) removes it all.
const (
	LabelSim      = "bake.sim"          // "1"
	LabelPID      = "bake.sim.pid"      // the sim process that owns it
	LabelSession  = "bake.sim.session"  // the runtime (one per sim) that owns it
	LabelInstance = "bake.sim.instance" // the instance id
	LabelAMI      = "bake.sim.ami"      // on committed images
)

// Docker is the Runtime on a Docker engine: an instance is a container from
// its AMI's image with its own loopback address.
type Docker struct {
	c       *client.Client
	pid     string
	session string
}

// NewDocker connects to the Docker engine from the environment.
func NewDocker(ctx context.Context) (*Docker, error) {
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("connect to the docker engine: %w", err)
	}
	if _, err := c.Ping(ctx); err != nil {
		_ = c.Close() // the engine is not there: nothing to release
		return nil, fmt.Errorf("connect to the docker engine: %w (is docker running? DOCKER_HOST=%s)", err, os.Getenv("DOCKER_HOST"))
	}
	return &Docker{c: c, pid: strconv.Itoa(os.Getpid()), session: core.NewHex(16)}, nil
}

// Close releases the client.
func (d *Docker) Close() error { return d.c.Close() }

// initScript boots an image without systemd like a small VM: host keys, the
// key pair, fingerprints on the console, then sshd in the foreground.
const initScript = `set -e
state=/var/lib/bake-sim
user=$(cat $state/login-user 2>/dev/null || cat /etc/bake-sim-login-user 2>/dev/null || echo root)
command -v ssh-keygen >/dev/null && ssh-keygen -A >/dev/null 2>&1 || true
if ! id "$user" >/dev/null 2>&1 && command -v useradd >/dev/null; then
	useradd -m -s /bin/sh "$user"
	[ ! -d /etc/sudoers.d ] || { echo "$user ALL=(ALL) NOPASSWD:ALL" >/etc/sudoers.d/90-cloud-init-users; chmod 0440 /etc/sudoers.d/90-cloud-init-users; }
fi
if [ -s $state/authorized_keys ] && id "$user" >/dev/null 2>&1; then
	home=$(getent passwd "$user" | cut -d: -f6)
	mkdir -p "$home/.ssh" && cp $state/authorized_keys "$home/.ssh/authorized_keys"
	chown -R "$user" "$home/.ssh" && chmod 700 "$home/.ssh" && chmod 600 "$home/.ssh/authorized_keys"
fi
echo "ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----"
for f in /etc/ssh/ssh_host_*_key.pub; do [ -e "$f" ] && echo "ec2: $(ssh-keygen -l -f "$f")"; done
echo "ec2: -----END SSH HOST KEY FINGERPRINTS-----"
if [ -x /usr/sbin/sshd ]; then mkdir -p /run/sshd; exec /usr/sbin/sshd -D -e; fi
exec sleep infinity
`

// Boot creates and starts the container of an instance.
func (d *Docker) Boot(ctx context.Context, spec BootSpec) (Machine, error) {
	info, err := d.Image(ctx, spec.Image)
	if err != nil {
		return Machine{}, err
	}
	ports := map[int]bool{}
	for _, p := range append(append([]int{22}, spec.Ports...), info.Ports...) {
		ports[p] = true
	}
	exposed := nat.PortSet{}
	bindings := nat.PortMap{}
	for p := range ports {
		port := nat.Port(strconv.Itoa(p) + "/tcp")
		exposed[port] = struct{}{}
		bindings[port] = []nat.PortBinding{{HostIP: spec.Addr.String(), HostPort: strconv.Itoa(p)}}
	}
	cfg := &container.Config{
		Image:        spec.Image,
		Hostname:     spec.Hostname,
		Tty:          true, // the console: systemd and the boot script write to it
		ExposedPorts: exposed,
		Labels:       map[string]string{LabelSim: "1", LabelPID: d.pid, LabelSession: d.session, LabelInstance: spec.InstanceID},
	}
	// NET_ADMIN, which root on an EC2 instance has, so that a template's
	// firewall (ufw enable, iptables) works. It acts in the container's
	// own network namespace (its rules, addresses and routes), never on
	// the host's firewall.
	hc := &container.HostConfig{PortBindings: bindings, CapAdd: []string{"NET_ADMIN"}}
	if info.Init {
		// systemd as PID 1, as checked on this machine: --privileged is
		// refused, these are enough.
		cfg.Cmd = []string{"/sbin/init"}
		cfg.Env = []string{"container=docker"}
		cfg.StopSignal = "SIGRTMIN+3"
		hc.CapAdd = append(hc.CapAdd, "SYS_ADMIN")
		hc.SecurityOpt = []string{"seccomp=unconfined", "apparmor=unconfined"}
		hc.CgroupnsMode = container.CgroupnsModeHost
		hc.Binds = []string{"/sys/fs/cgroup:/sys/fs/cgroup:rw"}
		hc.Tmpfs = map[string]string{"/run": "rw,exec,mode=755", "/run/lock": "rw,mode=1777"}
	} else {
		cfg.Entrypoint = []string{"/bin/sh", "-c", initScript}
		cfg.Cmd = nil
	}
	stop := 5
	cfg.StopTimeout = &stop
	created, err := d.c.ContainerCreate(ctx, cfg, hc, nil, nil, "bake-sim-"+spec.InstanceID)
	if err != nil {
		return Machine{}, fmt.Errorf("create the container of %s from %s: %w", spec.InstanceID, spec.Image, err)
	}
	files := map[string][]byte{"var/lib/bake-sim/instance-id": []byte(spec.InstanceID + "\n")}
	if spec.AuthorizedKeys != "" {
		files["var/lib/bake-sim/authorized_keys"] = []byte(strings.TrimSpace(spec.AuthorizedKeys) + "\n")
	}
	if spec.LoginUser != "" {
		files["var/lib/bake-sim/login-user"] = []byte(spec.LoginUser + "\n")
	}
	if len(spec.UserData) > 0 {
		files["var/lib/bake-sim/user-data"] = spec.UserData
	}
	if err := d.c.CopyToContainer(ctx, created.ID, "/", tarOf(files), container.CopyToContainerOptions{}); err != nil {
		return Machine{ID: created.ID}, fmt.Errorf("install the key pair in %s: %w", spec.InstanceID, err)
	}
	return d.Start(ctx, created.ID)
}

func tarOf(files map[string][]byte) io.Reader {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	dirs := map[string]bool{}
	for _, n := range names {
		for i := 0; i < len(n); i++ {
			if n[i] == '/' && !dirs[n[:i]] {
				dirs[n[:i]] = true
				_ = tw.WriteHeader(&tar.Header{Name: n[:i] + "/", Mode: 0o755, Typeflag: tar.TypeDir}) // in-memory: cannot fail
			}
		}
		_ = tw.WriteHeader(&tar.Header{Name: n, Mode: 0o600, Size: int64(len(files[n]))}) // in-memory: cannot fail
		_, _ = tw.Write(files[n])
	}
	_ = tw.Close()
	return &b
}

// Start starts a created or stopped container.
func (d *Docker) Start(ctx context.Context, id string) (Machine, error) {
	if err := d.c.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return Machine{ID: id}, fmt.Errorf("start container %s: %w", short(id), err)
	}
	ins, err := d.c.ContainerInspect(ctx, id)
	if err != nil {
		return Machine{ID: id}, fmt.Errorf("inspect container %s: %w", short(id), err)
	}
	m := Machine{ID: id}
	if ins.NetworkSettings != nil {
		m.PrivateIP = ins.NetworkSettings.IPAddress
		for _, n := range ins.NetworkSettings.Networks {
			if m.PrivateIP == "" && n != nil {
				m.PrivateIP = n.IPAddress
			}
		}
	}
	return m, nil
}

// Stop stops a container (systemd gets SIGRTMIN+3 and shuts down).
func (d *Docker) Stop(ctx context.Context, id string) error {
	timeout := 5
	if err := d.c.ContainerStop(ctx, id, container.StopOptions{Timeout: &timeout}); err != nil {
		return fmt.Errorf("stop container %s: %w", short(id), err)
	}
	return nil
}

// Remove removes a container and its anonymous volumes; a container that
// is already gone is not an error.
func (d *Docker) Remove(ctx context.Context, id string) error {
	err := d.c.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !client.IsErrNotFound(err) {
		return fmt.Errorf("remove container %s: %w", short(id), err)
	}
	return nil
}

// Console is the container's tty output.
func (d *Docker) Console(ctx context.Context, id string) (string, error) {
	rc, err := d.c.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: "2000"})
	if err != nil {
		return "", fmt.Errorf("read the console of container %s: %w", short(id), err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return "", fmt.Errorf("read the console of container %s: %w", short(id), err)
	}
	return string(b), nil
}

// Commit saves the container as image ref. The container is paused
// meanwhile, as EC2 keeps the file system consistent.
func (d *Docker) Commit(ctx context.Context, id, ref string, labels map[string]string) error {
	changes := make([]string, 0, len(labels))
	for k, v := range labels {
		changes = append(changes, fmt.Sprintf("LABEL %s=%s", k, strconv.Quote(v)))
	}
	sort.Strings(changes)
	if _, err := d.c.ContainerCommit(ctx, id, container.CommitOptions{Reference: ref, Pause: true, Changes: changes}); err != nil {
		return fmt.Errorf("commit container %s as %s: %w", short(id), ref, err)
	}
	return nil
}

// Exec runs cmd in the container and returns its combined output and exit code.
func (d *Docker) Exec(ctx context.Context, id string, cmd []string) (string, int, error) {
	ex, err := d.c.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return "", -1, fmt.Errorf("exec %q in container %s: %w", strings.Join(cmd, " "), short(id), err)
	}
	att, err := d.c.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
	if err != nil {
		return "", -1, fmt.Errorf("exec %q in container %s: %w", strings.Join(cmd, " "), short(id), err)
	}
	defer att.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, att.Reader); err != nil {
		return out.String(), -1, fmt.Errorf("exec %q in container %s: %w", strings.Join(cmd, " "), short(id), err)
	}
	ins, err := d.c.ContainerExecInspect(ctx, ex.ID)
	if err != nil {
		return out.String(), -1, fmt.Errorf("exec %q in container %s: %w", strings.Join(cmd, " "), short(id), err)
	}
	return out.String(), ins.ExitCode, nil
}

// Image describes a local image.
func (d *Docker) Image(ctx context.Context, ref string) (ImageInfo, error) {
	ins, err := d.c.ImageInspect(ctx, ref)
	if err != nil {
		return ImageInfo{}, fmt.Errorf("inspect image %s: %w", ref, err)
	}
	info := ImageInfo{ID: ins.ID, Size: ins.Size, LoginUser: "root"}
	if t, err := time.Parse(time.RFC3339Nano, ins.Created); err == nil {
		info.Created = t
	}
	if ins.Config != nil {
		cmd := append(append([]string{}, ins.Config.Entrypoint...), ins.Config.Cmd...)
		info.Init = len(cmd) > 0 && (cmd[0] == "/sbin/init" || cmd[0] == "/lib/systemd/systemd")
		if u := ins.Config.Labels["bake.sim.login-user"]; u != "" {
			info.LoginUser = u
		}
		for p := range ins.Config.ExposedPorts {
			if n, err := strconv.Atoi(strings.TrimSuffix(string(p), "/tcp")); err == nil {
				info.Ports = append(info.Ports, n)
			}
		}
	}
	return info, nil
}

// Tag names image src also dst.
func (d *Docker) Tag(ctx context.Context, src, dst string) error {
	if err := d.c.ImageTag(ctx, src, dst); err != nil {
		return fmt.Errorf("tag image %s as %s: %w", src, dst, err)
	}
	return nil
}

// Untag removes the name ref (and the image, when it was the last name).
func (d *Docker) Untag(ctx context.Context, ref string) error {
	_, err := d.c.ImageRemove(ctx, ref, dimage.RemoveOptions{PruneChildren: true})
	if err != nil && !client.IsErrNotFound(err) {
		return fmt.Errorf("remove image %s: %w", ref, err)
	}
	return nil
}

// Sweep removes the containers of sims that are no longer running (a
// crashed sim leaves its instances behind), and reports how many.
func (d *Docker) Sweep(ctx context.Context) (int, error) {
	list, err := d.c.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelSim))})
	if err != nil {
		return 0, fmt.Errorf("list the sim's containers: %w", err)
	}
	n := 0
	var errs []error
	for _, c := range list {
		pid, err := strconv.Atoi(c.Labels[LabelPID])
		if err == nil && (strconv.Itoa(pid) == d.pid || alive(pid)) {
			continue
		}
		if err := d.Remove(ctx, c.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// RemoveAll removes every container this runtime started.
func (d *Docker) RemoveAll(ctx context.Context) error {
	list, err := d.c.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(
		filters.Arg("label", LabelSim), filters.Arg("label", LabelSession+"="+d.session))})
	if err != nil {
		return fmt.Errorf("list the sim's containers: %w", err)
	}
	var errs []error
	for _, c := range list {
		if err := d.Remove(ctx, c.ID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
