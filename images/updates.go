package images

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/pkg/stdcopy"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/bakehq/bake/bake"
)

// Updates are the package updates an image's distribution offers.
type Updates struct {
	Pending  int // packages apt-get upgrade would change
	Security int // of those, from a -security suite
	// Unsupported: the image has no apt-get; nothing was checked.
	Unsupported bool
	// NotChecked says why the check did not run, when it did not.
	NotChecked string
}

// UpdatesScript adds Debian's security and updates suites as the
// security-patches recipe does, refreshes the package lists and counts
// what an upgrade would install, without changing anything else. It
// runs as root with /bin/sh; ParseUpdates reads its output. Builders
// that start a machine for the check (amazon-ebs) run it too.
const UpdatesScript = `set -e
export DEBIAN_FRONTEND=noninteractive
if ! command -v apt-get >/dev/null 2>&1; then echo "bake-updates: unsupported"; exit 0; fi
. /etc/os-release
if [ "${ID:-}" = debian ] && [ -n "${VERSION_CODENAME:-}" ] && [ ! -f /etc/apt/sources.list.d/bake-security.list ]; then
  printf 'deb http://deb.debian.org/debian-security %s-security main\ndeb http://deb.debian.org/debian %s-updates main\n' \
    "$VERSION_CODENAME" "$VERSION_CODENAME" >/etc/apt/sources.list.d/bake-security.list
fi
apt-get update -qq >/dev/null
apt-get -s -o Debug::NoLocking=1 upgrade | awk '/^Inst /{n++; if ($0 ~ /-security/) s++} END {printf "bake-updates: %d %d\n", n, s}'
`

var updatesRE = regexp.MustCompile(`(?m)^bake-updates: (?:(unsupported)|(\d+) (\d+))$`)

// ParseUpdates reads the script's last line.
func ParseUpdates(out string) (Updates, error) {
	m := updatesRE.FindAllStringSubmatch(out, -1)
	if len(m) == 0 {
		return Updates{}, fmt.Errorf("no update count in the output:\n%s", tail(out, 2000))
	}
	last := m[len(m)-1]
	if last[1] != "" {
		return Updates{Unsupported: true}, nil
	}
	n, err := strconv.Atoi(last[2])
	if err != nil {
		return Updates{}, fmt.Errorf("update count %q: %w", last[2], err)
	}
	s, err := strconv.Atoi(last[3])
	if err != nil {
		return Updates{}, fmt.Errorf("security update count %q: %w", last[3], err)
	}
	return Updates{Pending: n, Security: s}, nil
}

// ContainerAPI is what checking an image's updates needs of the engine.
type ContainerAPI interface {
	ContainerCreate(ctx context.Context, config *container.Config, hostConfig *container.HostConfig, networkingConfig *network.NetworkingConfig, platform *ocispec.Platform, containerName string) (container.CreateResponse, error)
	ContainerStart(ctx context.Context, containerID string, options container.StartOptions) error
	ContainerWait(ctx context.Context, containerID string, condition container.WaitCondition) (<-chan container.WaitResponse, <-chan error)
	ContainerLogs(ctx context.Context, container string, options container.LogsOptions) (io.ReadCloser, error)
	ContainerRemove(ctx context.Context, containerID string, options container.RemoveOptions) error
}

// CheckUpdates starts a throw-away container from ref (an image ID or
// name), asks apt which updates are pending and removes the container.
// The container is labelled with runUUID (bake.LabelRun).
func CheckUpdates(ctx context.Context, api ContainerAPI, ref, runUUID string) (u Updates, err error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	c, err := api.ContainerCreate(ctx, &container.Config{
		Image:      ref,
		Entrypoint: []string{"/bin/sh", "-c", UpdatesScript},
		User:       "0",
		Labels:     map[string]string{bake.LabelRun: runUUID, "dev.bake.purpose": "updates-check"},
	}, &container.HostConfig{}, nil, nil, "")
	if err != nil {
		return Updates{}, fmt.Errorf("create a container from %s to check its updates: %w", ref, err)
	}
	defer func() {
		cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer ccancel()
		if rerr := api.ContainerRemove(cctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); rerr != nil {
			err = errors.Join(err, fmt.Errorf("remove update-check container %s: %w", c.ID[:12], rerr))
		}
	}()
	if err := api.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		return Updates{}, fmt.Errorf("start the update check in %s: %w", ref, err)
	}
	waitC, errC := api.ContainerWait(ctx, c.ID, container.WaitConditionNotRunning)
	var code int64
	select {
	case w := <-waitC:
		code = w.StatusCode
	case err := <-errC:
		return Updates{}, fmt.Errorf("wait for the update check in %s: %w", ref, err)
	}
	rc, err := api.ContainerLogs(ctx, c.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return Updates{}, fmt.Errorf("read the update check's output in %s: %w", ref, err)
	}
	defer rc.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, rc); err != nil {
		return Updates{}, fmt.Errorf("read the update check's output in %s: %w", ref, err)
	}
	if code != 0 {
		return Updates{}, fmt.Errorf("check updates in %s: exit %d (can the container reach the Debian mirror?):\n%s", ref, code, tail(out.String(), 2000))
	}
	u, err = ParseUpdates(out.String())
	if err != nil {
		return Updates{}, fmt.Errorf("check updates in %s: %w", ref, err)
	}
	return u, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
