package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/registry"

	"github.com/bakehq/bake/bake"
)

// sayOnce logs, on the first boot, the arguments that change nothing
// here and that a local base image was used although pull asks for one.
func (b *Builder) sayOnce(log bake.Log) {
	b.said.Do(func() {
		c := b.cfg
		if len(c.NoEffect) > 0 {
			log.Info(fmt.Sprintf("source %q: %s accepted as Packer's docker builder has them, without effect in bake (it drives the engine through its API, with its own temporary files)", c.name, strings.Join(c.NoEffect, ", ")))
		}
		if (c.Pull == nil || *c.Pull) && !b.pulled {
			log.Info(fmt.Sprintf("pull = true: %s is on this machine, so the local image was used (bake pulls only an image that is missing, so that bakes repeat offline)", c.Image))
		}
		if c.ExportPath != "" && len(c.Changes) > 0 {
			log.Info("changes apply to committed images only: export_path writes the filesystem, which has no image configuration (give them to docker-import)")
		}
	})
}

// hostConfig is the build container's host configuration, as Packer's
// docker run flags give it: --device, --cap-add, --cap-drop,
// --privileged, --runtime, --tmpfs, -v.
func (b *Builder) hostConfig() (*container.HostConfig, error) {
	c := b.cfg
	hc := &container.HostConfig{
		Privileged: c.Privileged,
		CapAdd:     c.CapAdd,
		CapDrop:    c.CapDrop,
		Runtime:    c.Runtime,
	}
	for _, d := range c.Device {
		parts := strings.Split(d, ":")
		dm := container.DeviceMapping{PathOnHost: parts[0], PathInContainer: parts[0], CgroupPermissions: "rwm"}
		if len(parts) > 1 && parts[1] != "" {
			dm.PathInContainer = parts[1]
		}
		if len(parts) > 2 {
			dm.CgroupPermissions = parts[2]
		}
		if len(parts) > 3 {
			return nil, bake.BadInputf("source %q: device %q is not HOST[:CONTAINER[:PERMISSIONS]]", c.name, d)
		}
		hc.Devices = append(hc.Devices, dm)
	}
	if len(c.Tmpfs) > 0 {
		hc.Tmpfs = map[string]string{}
		for _, t := range c.Tmpfs {
			path, opts, _ := strings.Cut(t, ":")
			hc.Tmpfs[path] = opts
		}
	}
	for _, host := range slices.Sorted(maps.Keys(c.Volumes)) {
		hc.Binds = append(hc.Binds, expandHome(host)+":"+c.Volumes[host])
	}
	return hc, nil
}

// runArgs are the docker run arguments Packer gives for the source's
// settings, before run_command.
func (b *Builder) runArgs() []string {
	c := b.cfg
	var args []string
	for _, v := range c.Device {
		args = append(args, "--device", v)
	}
	for _, v := range c.CapAdd {
		args = append(args, "--cap-add", v)
	}
	for _, v := range c.CapDrop {
		args = append(args, "--cap-drop", v)
	}
	if c.Privileged {
		args = append(args, "--privileged")
	}
	if c.Runtime != "" {
		args = append(args, "--runtime", c.Runtime)
	}
	if c.Platform != "" {
		args = append(args, "--platform", c.Platform)
	}
	for _, v := range c.Tmpfs {
		args = append(args, "--tmpfs", v)
	}
	for _, host := range slices.Sorted(maps.Keys(c.Volumes)) {
		args = append(args, "-v", expandHome(host)+":"+c.Volumes[host])
	}
	return args
}

// imageTemplate is run_command's {{.Image}}, the image to start.
var imageTemplate = regexp.MustCompile(`\{\{\s*\.Image\s*\}\}`)

var containerID = regexp.MustCompile(`^[0-9a-f]{64}$`)

// runCommand starts the build container as Packer does, with the docker
// CLI: docker run, the source's flags, then run_command with {{.Image}}
// the image. bake adds --name and its labels in front, so that cleanup
// finds the container; run_command must detach (-d), as Packer's default.
func (b *Builder) runCommand(ctx context.Context, image, name string, labels map[string]string, log bake.Log) (string, error) {
	bin, err := exec.LookPath("docker")
	if err != nil {
		return "", bake.BadInputf("source %q: run_command runs the docker CLI, which is not installed: install it (apt-get install docker.io, or docker-ce-cli), or remove run_command", b.cfg.name)
	}
	args := []string{"run", "--name", name}
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		args = append(args, "--label", k+"="+labels[k])
	}
	args = append(args, b.runArgs()...)
	ref := strings.TrimPrefix(image, "sha256:")
	for _, a := range b.cfg.RunCommand {
		args = append(args, imageTemplate.ReplaceAllString(a, ref))
	}
	log.Info("run command: docker " + strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", bake.BadInputf("source %q: run_command: docker run exited %d: %s (check run_command; it must start the container detached, e.g. [\"-d\", \"-i\", \"-t\", \"--entrypoint=/bin/sh\", \"--\", \"{{.Image}}\"])",
				b.cfg.name, ee.ExitCode(), tail(stderr.String()))
		}
		return "", fmt.Errorf("source %q: run_command: docker run: %w", b.cfg.name, err)
	}
	lines := strings.Fields(stdout.String())
	if len(lines) == 0 || !containerID.MatchString(lines[len(lines)-1]) {
		return "", bake.BadInputf("source %q: run_command: docker run did not print a container id (got %q): run_command must detach with -d, as Packer's default does", b.cfg.name, tail(stdout.String()))
	}
	return lines[len(lines)-1], nil
}

// credentials are the registry credentials for pulls and pushes: ECR's
// with ecr_login, else login_*; empty for the docker config's.
func (b *Builder) credentials(ctx context.Context) (server, user, password string, err error) {
	c := b.cfg
	if c.ECRLogin {
		user, password, err = ECR{Server: c.LoginServer, AccessKey: c.AWSAccessKey, SecretKey: c.AWSSecretKey, Token: c.AWSToken, Profile: c.AWSProfile}.Login(ctx)
		return c.LoginServer, user, password, err
	}
	return c.LoginServer, c.LoginUsername, c.LoginPassword, nil
}

// registryAuth is credentials encoded for the Engine API ("" for none).
func (b *Builder) registryAuth(ctx context.Context) (string, error) {
	server, user, password, err := b.credentials(ctx)
	if err != nil || user == "" {
		return "", err
	}
	return registry.EncodeAuthConfig(registry.AuthConfig{ServerAddress: server, Username: user, Password: password})
}

func expandHome(p string) string {
	if strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[2:])
		}
	}
	return p
}

// tail is the last lines of command output, for errors.
func tail(s string) string {
	s = strings.TrimSpace(s)
	lines := strings.Split(s, "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return strings.Join(lines, "\n")
}
