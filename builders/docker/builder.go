// Package docker is bake's Docker builder: it boots a container from a
// base image through the Engine API, hands provisioners a communicator
// into it and commits the result as a versioned, labelled image.
package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
	"github.com/google/uuid"
	"github.com/hashicorp/hcl/v2"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/bakehq/bake/bake"
	dockercomm "github.com/bakehq/bake/communicators/docker"
)

// API is the part of the Docker Engine client the builder uses.
type API interface {
	dockercomm.API
	ImageInspect(ctx context.Context, imageID string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
	ImagePull(ctx context.Context, ref string, options image.PullOptions) (io.ReadCloser, error)
	ImageTag(ctx context.Context, source, target string) error
	ImagePush(ctx context.Context, ref string, options image.PushOptions) (io.ReadCloser, error)
	ImageRemove(ctx context.Context, imageID string, options image.RemoveOptions) ([]image.DeleteResponse, error)
	ImageList(ctx context.Context, options image.ListOptions) ([]image.Summary, error)
	ContainerCreate(ctx context.Context, config *container.Config, hostConfig *container.HostConfig, networkingConfig *network.NetworkingConfig, platform *ocispec.Platform, containerName string) (container.CreateResponse, error)
	ContainerStart(ctx context.Context, containerID string, options container.StartOptions) error
	ContainerInspect(ctx context.Context, containerID string) (types.ContainerJSON, error)
	ContainerCommit(ctx context.Context, containerID string, options container.CommitOptions) (container.CommitResponse, error)
	ContainerRemove(ctx context.Context, containerID string, options container.RemoveOptions) error
	ContainerList(ctx context.Context, options container.ListOptions) ([]container.Summary, error)
	ContainerLogs(ctx context.Context, containerID string, options container.LogsOptions) (io.ReadCloser, error)
	ContainerExport(ctx context.Context, containerID string) (io.ReadCloser, error)
}

// Builder builds one docker source.
type Builder struct {
	cfg *Config
	api API
	// runUUID labels everything this run makes.
	runUUID string

	// Set by Resolve.
	baseID     string
	baseConfig *dockerspec.DockerOCIImageConfig
	// pulled says the base was pulled; false with pull unset or true
	// means a local image was used, which Boot says.
	pulled bool
	said   sync.Once
}

// New decodes a source block into a Builder that talks to the engine
// named by DOCKER_HOST (or the default socket), API version negotiated.
func New(dc bake.DecodeContext) (bake.Builder, hcl.Diagnostics) {
	cfg, diags := Decode(dc)
	if diags.HasErrors() {
		return nil, diags
	}
	return &Builder{cfg: cfg, runUUID: dc.RunUUID}, diags
}

// Config returns the decoded source block.
func (b *Builder) Config() *Config { return b.cfg }

func (b *Builder) client() (API, error) {
	if b.api != nil {
		return b.api, nil
	}
	c, err := NewClient()
	if err != nil {
		return nil, err
	}
	b.api = c
	return c, nil
}

// NewClient connects to the engine DOCKER_HOST names (the default socket
// without it), with the API version negotiated.
func NewClient() (*client.Client, error) {
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		host := os.Getenv("DOCKER_HOST")
		if host == "" {
			host = client.DefaultDockerHost
		}
		return nil, fmt.Errorf("connect to the docker engine at %s: %w (check DOCKER_HOST)", host, err)
	}
	return c, nil
}

// ArtifactNames are repository:version and repository:TAG for each tag.
func (b *Builder) ArtifactNames(version string) []string {
	if b.cfg.Discard || b.cfg.ExportPath != "" {
		return nil
	}
	names := []string{b.cfg.Repository + ":" + version}
	for _, t := range b.cfg.Tags {
		names = append(names, b.cfg.Repository+":"+t)
	}
	return names
}

// Resolve finds the base image locally, pulling it when pull asks for it
// (Packer's default, pull = true, pulls only a missing image here: a
// present one is used as it is, so that bakes are repeatable offline).
func (b *Builder) Resolve(ctx context.Context) (bake.Base, error) {
	api, err := b.client()
	if err != nil {
		return bake.Base{}, err
	}
	img, err := api.ImageInspect(ctx, b.cfg.Image)
	if errdefs.IsNotFound(err) && (b.cfg.Pull == nil || *b.cfg.Pull) {
		if perr := b.pull(ctx, api); perr != nil {
			return bake.Base{}, bake.BadInputf("source %q: base image %s is not on this machine and could not be pulled: %w (build it, e.g. make base-image, or docker pull it)", b.cfg.name, b.cfg.Image, perr)
		}
		img, err = api.ImageInspect(ctx, b.cfg.Image)
		b.pulled = err == nil
	}
	if errdefs.IsNotFound(err) {
		return bake.Base{}, bake.BadInputf("source %q: base image %s not found on this machine: build it (make base-image) or pull it, or fix image", b.cfg.name, b.cfg.Image)
	}
	if err != nil {
		return bake.Base{}, fmt.Errorf("source %q: inspect base image %s: %w", b.cfg.name, b.cfg.Image, err)
	}
	base := bake.Base{Name: b.cfg.Image, Digest: img.ID}
	// A pulled image has a registry digest, which names it everywhere;
	// a local one only its ID.
	for _, rd := range img.RepoDigests {
		if _, d, ok := strings.Cut(rd, "@"); ok {
			base.Digest = d
			break
		}
	}
	b.baseID = img.ID
	b.baseConfig = img.Config
	return base, nil
}

func (b *Builder) pull(ctx context.Context, api API) error {
	auth, err := b.registryAuth(ctx)
	if err != nil {
		return err
	}
	rc, err := api.ImagePull(ctx, b.cfg.Image, image.PullOptions{Platform: b.cfg.Platform, RegistryAuth: auth})
	if err != nil {
		return err
	}
	defer rc.Close()
	return readJSONStream(rc)
}

// Boot creates and starts the build container. The container runs
// /bin/sh on a terminal to stay up; Capture gives the image the base's
// own entrypoint and command back, so nothing of this leaks into it.
func (b *Builder) Boot(ctx context.Context, base bake.Base, log bake.Log) (bake.Machine, error) {
	return b.boot(ctx, b.baseID, base.Name, log)
}

// boot starts the build container from image (the base's ID, or a step
// cache entry); from names it for messages.
func (b *Builder) boot(ctx context.Context, image, from string, log bake.Log) (bake.Machine, error) {
	api, err := b.client()
	if err != nil {
		return nil, err
	}
	m := &machine{b: b, api: api, log: log}
	b.sayOnce(log)
	labels := bake.OwnerLabels(b.runUUID, map[string]string{bake.LabelName: b.cfg.name})
	name := fmt.Sprintf("bake-%s-%s", bake.SafeName(b.cfg.name), uuid.NewString()[:13])
	m.name = name
	if len(b.cfg.RunCommand) > 0 {
		// The owner labels let bake gc remove the container of a run
		// that was killed before it could.
		id, err := b.runCommand(ctx, image, name, labels, log)
		m.id = id
		if err != nil {
			return m, err
		}
	} else {
		// Packer's default run_command: -d -i -t --entrypoint=/bin/sh.
		cfg := &container.Config{
			Image:      image,
			Entrypoint: []string{"/bin/sh"},
			Tty:        true,
			OpenStdin:  true,
			Labels:     labels,
		}
		hc, err := b.hostConfig()
		if err != nil {
			return m, err
		}
		var platform *ocispec.Platform
		if b.cfg.Platform != "" {
			os, arch, _ := strings.Cut(b.cfg.Platform, "/")
			platform = &ocispec.Platform{OS: os, Architecture: arch}
		}
		cctx, cancel := uncut(ctx, createTimeout)
		created, err := api.ContainerCreate(cctx, cfg, hc, nil, platform, name)
		cancel()
		if err != nil {
			// A create that timed out may still finish in the engine: the
			// machine's Destroy also looks for it by name.
			return m, fmt.Errorf("create build container from %s: %w", from, err)
		}
		m.id = created.ID
		if err := ctx.Err(); err != nil {
			return m, err
		}
		if err := api.ContainerStart(ctx, m.id, container.StartOptions{}); err != nil {
			return m, fmt.Errorf("start build container %s: %w", name, err)
		}
	}
	log.Info(fmt.Sprintf("container %s started from %s", name, from))
	var opts []dockercomm.Option
	if b.cfg.FixUploadOwner == nil || *b.cfg.FixUploadOwner {
		opts = append(opts, dockercomm.FixUploadOwner())
	}
	m.comm = dockercomm.New(api, m.id, b.cfg.ExecUser, opts...)
	if b.cfg.Communicator == "ssh" {
		// sshd runs per connection (sshd -i) over an exec stream: a
		// published port would be an exposed port, and docker commit keeps
		// those in the image, so the SSH bake would differ from the exec one.
		sc, err := connectSSH(ctx, m.comm, "", SSHSettings{
			Username: b.cfg.SSHUsername,
			Port:     sshPort(b.cfg),
			Timeout:  b.cfg.SSHTimeout,
		}, log)
		if err != nil {
			return m, fmt.Errorf("connect over ssh to build container %s: %w", name, err)
		}
		m.comm = sc
	}
	return m, nil
}

// The engine finishes a create or a commit it was sent even when the
// client stops waiting (Ctrl-C, SIGTERM), and cleanup that ran before it
// finished would miss what it made. So these calls are not cut off by the
// run's cancellation: bake waits for the answer, bounded by these, then
// removes what was made.
const (
	createTimeout = time.Minute
	commitTimeout = 10 * time.Minute
)

// uncut is ctx without its cancellation, bounded by d.
func uncut(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), d)
}

func sshPort(c *Config) int {
	if c.SSHPort != 0 {
		return c.SSHPort
	}
	return 22
}

type machine struct {
	// name is the build container's, unique, so that cleanup finds exactly
	// its own container even when its create was cut off.
	name  string
	b     *Builder
	api   API
	log   bake.Log
	id    string
	comm  bake.Communicator
	image string // committed, until tagged
	done  bool
	// job is the job being captured (its dev.bake.name label), set before
	// the commit: Destroy sweeps only that job's dangling commits, not
	// those of the run's other jobs, which may be between commit and tag.
	job string
}

func (m *machine) Communicator() bake.Communicator { return m.comm }

// Capture commits the container with the base's entrypoint and command,
// the labels in meta and the source's changes, then tags and pushes.
func (m *machine) Capture(ctx context.Context, meta bake.ArtifactMeta, log bake.Log) (*bake.Artifact, error) {
	cfg := m.b.cfg
	if cfg.Discard {
		if meta.Verify != nil {
			log.Warn("discard = true: no image is made, so the verify block has nothing to check")
		}
		log.Info("discard = true: the container is not committed")
		return &bake.Artifact{BuilderType: "docker", ID: ""}, nil
	}
	if c, ok := m.comm.(io.Closer); ok && m.comm != nil {
		// An SSH session must not hold the container while it is paused.
		if err := c.Close(); err != nil {
			log.Warn(fmt.Sprintf("close ssh connection: %v", err))
		}
	}
	if cfg.ExportPath != "" {
		if meta.Verify != nil {
			log.Warn("export_path: no image is made, so the verify block has nothing to check")
		}
		return m.export(ctx, log)
	}
	base := m.b.baseConfig
	commitCfg := &container.Config{Labels: map[string]string{}}
	if base != nil {
		for k, v := range base.Labels {
			commitCfg.Labels[k] = v
		}
		commitCfg.Cmd = base.Cmd
		commitCfg.Entrypoint = base.Entrypoint
	}
	if len(meta.Cmd) > 0 {
		// A provisioner (a recipe's services) said what the image runs;
		// a CMD in changes still wins, as the engine applies it after.
		commitCfg.Cmd = meta.Cmd
		log.Info(fmt.Sprintf("image command %q, as a provisioner asked", meta.Cmd))
	}
	if commitCfg.Entrypoint == nil {
		// Non-nil and empty: the engine's merge then keeps "no
		// entrypoint" instead of taking the build container's /bin/sh.
		commitCfg.Entrypoint = []string{}
	}
	for k, v := range meta.Labels {
		commitCfg.Labels[k] = v
	}
	bake.BlankOwner(commitCfg.Labels)
	m.job = meta.Labels[bake.LabelName]
	cctx, cancel := uncut(ctx, commitTimeout)
	resp, err := m.api.ContainerCommit(cctx, m.id, container.CommitOptions{
		Comment: cfg.Message,
		Author:  cfg.Author,
		Changes: cfg.Changes,
		Pause:   true,
		Config:  commitCfg,
	})
	cancel()
	if err != nil {
		if errdefs.IsInvalidParameter(err) {
			return nil, bake.BadInputf("source %q: changes: %w", cfg.name, err)
		}
		return nil, fmt.Errorf("commit build container: %w", err)
	}
	m.image = resp.ID
	if err := ctx.Err(); err != nil {
		return nil, err // Destroy removes the untagged image
	}
	if meta.Verify != nil {
		// Before the tags: a failed image never gets a name (an older
		// image's tags stay where they were), and Destroy removes it as
		// an untagged commit of this run.
		if err := m.verify(ctx, resp.ID, meta.Verify, log); err != nil {
			return nil, fmt.Errorf("%w\nthe image %s is removed: nothing was tagged or pushed", err, bake.ShortID(resp.ID))
		}
	}
	names := m.b.ArtifactNames(meta.Version)
	for _, n := range names {
		if err := m.api.ImageTag(ctx, resp.ID, n); err != nil {
			return nil, fmt.Errorf("tag image %s as %s: %w", bake.ShortID(resp.ID), n, err)
		}
	}
	m.image = "" // tagged: no longer ours to remove
	log.Info(fmt.Sprintf("committed %s as %s", bake.ShortID(resp.ID), strings.Join(names, ", ")))
	a := &bake.Artifact{BuilderType: "docker", ID: resp.ID, Names: names, Extra: map[string]string{"repository": cfg.Repository}}
	if cfg.Push {
		server, user, password, err := m.b.credentials(ctx)
		if err != nil {
			return a, err
		}
		for _, n := range names {
			log.Info("pushing " + n)
			digest, err := Push(ctx, m.api, n, server, user, password)
			if err != nil {
				return a, err
			}
			if digest != "" && a.Extra["digest"] == "" {
				a.Extra["digest"] = digest
			}
		}
	}
	return a, nil
}

// Destroy removes the build container and an untagged commit of this
// run. It is idempotent.
func (m *machine) Destroy(ctx context.Context) error {
	var errs []error
	if c, ok := m.comm.(io.Closer); ok {
		if err := c.Close(); err != nil && !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "closed") {
			errs = append(errs, fmt.Errorf("close connection to build container: %w", err))
		}
	}
	if m.id != "" {
		err := m.api.ContainerRemove(ctx, m.id, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove build container %s: %w", bake.ShortID(m.id), err))
		} else {
			m.id = ""
		}
	}
	if m.image != "" {
		if _, err := m.api.ImageRemove(ctx, m.image, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove untagged image %s: %w", bake.ShortID(m.image), err))
		} else {
			m.image = ""
		}
	}
	// A create cut off by Ctrl-C may still have made a container; a
	// verify container is removed before the verify returns, but not
	// when the process was stopped in between.
	if err := m.removeByName(ctx, m.name, "build container"); err != nil {
		errs = append(errs, err)
	}
	if err := m.removeByName(ctx, verifyName(m.name), "verify container"); err != nil {
		errs = append(errs, err)
	}
	// A commit cut off by Ctrl-C may still have finished in the engine.
	if m.job == "" {
		return errors.Join(errs...) // no commit was started
	}
	list, err := m.api.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(
		filters.Arg("dangling", "true"),
		filters.Arg("label", bake.LabelRun+"="+m.b.runUUID),
		filters.Arg("label", bake.LabelName+"="+m.job),
	)})
	if err != nil {
		errs = append(errs, fmt.Errorf("list this run's dangling images: %w", err))
	}
	for _, img := range list {
		if _, err := m.api.ImageRemove(ctx, img.ID, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove dangling image %s: %w", bake.ShortID(img.ID), err))
		}
	}
	return errors.Join(errs...)
}

// removeByName removes this run's container called name, if there is one.
func (m *machine) removeByName(ctx context.Context, name, what string) error {
	left, err := m.api.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(
		filters.Arg("label", bake.LabelRun+"="+m.b.runUUID),
		filters.Arg("name", "^/"+name+"$"),
	)})
	if err != nil {
		return fmt.Errorf("list this run's containers: %w", err)
	}
	var errs []error
	for _, c := range left {
		if err := m.api.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove %s %s: %w", what, bake.ShortID(c.ID), err))
		}
	}
	return errors.Join(errs...)
}
