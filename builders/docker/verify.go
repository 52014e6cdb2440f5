package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/errdefs"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/docker/go-connections/nat"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/bakehq/bake/bake"
	dockercomm "github.com/bakehq/bake/communicators/docker"
)

// LabelVerify marks the container a verify block boots from a new image.
const LabelVerify = "dev.bake.verify"

// verifyRemoveTimeout bounds the removal of the verify container, which
// runs on a fresh context so that Ctrl-C and timeouts still remove it.
const verifyRemoveTimeout = time.Minute

// VerifiesArtifacts: Capture runs the verify block (bake.Verifier).
func (b *Builder) VerifiesArtifacts() {}

// verifyName is the name of the container that verifies the image the
// build container named build commits.
func verifyName(build string) string { return build + "-verify" }

// verify starts a container from the committed image img with the
// image's own entrypoint and command, its HTTP ports published on
// loopback only, runs the verify block's checks against it, and removes
// it again whatever happened.
func (m *machine) verify(ctx context.Context, img string, spec *bake.VerifySpec, log bake.Log) (err error) {
	cfg := m.b.cfg
	name := verifyName(m.name)
	ports, bindings := nat.PortSet{}, nat.PortMap{}
	for _, p := range spec.Ports() {
		port := nat.Port(fmt.Sprintf("%d/tcp", p))
		ports[port] = struct{}{}
		bindings[port] = []nat.PortBinding{{HostIP: "127.0.0.1", HostPort: ""}}
	}
	var platform *ocispec.Platform
	if cfg.Platform != "" {
		os, arch, _ := strings.Cut(cfg.Platform, "/")
		platform = &ocispec.Platform{OS: os, Architecture: arch}
	}
	var id string
	var comm *dockercomm.Comm
	defer func() {
		if comm != nil {
			if cerr := comm.Close(); cerr != nil && !errors.Is(cerr, io.EOF) {
				log.Warn(fmt.Sprintf("close the exec session in the verify container: %v", cerr))
			}
		}
		// The create may have gone through even when its answer was cut
		// off: remove by name too.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), verifyRemoveTimeout)
		defer cancel()
		if rerr := m.removeVerifyContainer(rctx, id); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}()
	return bake.Verify(ctx, spec, log, func(ctx context.Context, log bake.Log) (bake.VerifyTarget, error) {
		cctx, cancel := uncut(ctx, createTimeout)
		created, err := m.api.ContainerCreate(cctx, &container.Config{
			Image:        img,
			ExposedPorts: ports,
			Labels:       bake.OwnerLabels(m.b.runUUID, map[string]string{bake.LabelName: cfg.name, LabelVerify: "true"}),
		}, &container.HostConfig{PortBindings: bindings}, nil, platform, name)
		cancel()
		if err != nil {
			return bake.VerifyTarget{}, fmt.Errorf("create container %s from the new image %s: %w", name, bake.ShortID(img), err)
		}
		id = created.ID
		if err := ctx.Err(); err != nil {
			return bake.VerifyTarget{}, err
		}
		if err := m.api.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
			return bake.VerifyTarget{}, fmt.Errorf("start container %s from the new image %s: %w (does its command run?)", name, bake.ShortID(img), err)
		}
		insp, err := m.api.ContainerInspect(ctx, id)
		if err != nil {
			return bake.VerifyTarget{}, fmt.Errorf("inspect container %s: %w", name, err)
		}
		command := strings.Join(append(append([]string{}, insp.Config.Entrypoint...), insp.Config.Cmd...), " ")
		log.Info(fmt.Sprintf("container %s started from %s, running its own command %q", name, bake.ShortID(img), command))
		comm = dockercomm.New(m.api, id, "root")
		return bake.VerifyTarget{
			What: "container " + name,
			Comm: comm,
			Addr: func(port int) (string, error) {
				// A command that exits at once may end before the
				// inspect above: a stopped container publishes no
				// ports, and its exit code is the real answer.
				if insp.State == nil || !insp.State.Running {
					if gone := m.verifyGone(ctx, id, name, command); gone != nil {
						return "", gone
					}
				}
				if insp.NetworkSettings == nil {
					return "", fmt.Errorf("container %s has no network settings: is it on the host network?", name)
				}
				b := insp.NetworkSettings.Ports[nat.Port(fmt.Sprintf("%d/tcp", port))]
				if len(b) == 0 {
					if gone := m.verifyGone(ctx, id, name, command); gone != nil {
						return "", gone
					}
					return "", fmt.Errorf("port %d of container %s was not published", port, name)
				}
				return net.JoinHostPort(b[0].HostIP, b[0].HostPort), nil
			},
			Gone: func(ctx context.Context) error { return m.verifyGone(ctx, id, name, command) },
		}, nil
	})
}

// verifyGone says why the verify container stopped, with the end of its
// output, or nil while it runs.
func (m *machine) verifyGone(ctx context.Context, id, name, command string) error {
	insp, err := m.api.ContainerInspect(ctx, id)
	if err != nil {
		return fmt.Errorf("inspect container %s: %w", name, err)
	}
	if insp.State == nil || insp.State.Running {
		return nil
	}
	msg := fmt.Sprintf("container %s exited with code %d: the image's command %q must keep running for verify", name, insp.State.ExitCode, command)
	if rc, err := m.api.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: "20"}); err == nil {
		defer rc.Close()
		var out bytes.Buffer
		if insp.Config != nil && insp.Config.Tty {
			_, _ = io.Copy(&out, io.LimitReader(rc, 4096))
		} else {
			_, _ = stdcopy.StdCopy(&out, &out, io.LimitReader(rc, 4096))
		}
		if s := strings.TrimSpace(out.String()); s != "" {
			msg += "; its last output:\n" + s
		}
	}
	return errors.New(msg)
}

// removeVerifyContainer removes the verify container, by id and by name
// (a create cut off by Ctrl-C may still have made it). It is idempotent.
func (m *machine) removeVerifyContainer(ctx context.Context, id string) error {
	var errs []error
	if id != "" {
		if err := m.api.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove verify container %s: %w", bake.ShortID(id), err))
		}
	}
	if err := m.removeByName(ctx, verifyName(m.name), "verify container"); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
