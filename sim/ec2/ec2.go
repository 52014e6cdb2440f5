// Package ec2 is the sim's EC2: AMIs backed by Docker images, instances
// that are containers with their own loopback address, key pairs, security
// groups, tags, launch templates and the default VPC.
package ec2

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/bakehq/bake/sim/core"
)

// DebianOwnerID is the account that owns Debian's official AMIs.
const DebianOwnerID = "136693071363"

// DefaultDebianImage is the Docker image behind the public AMIs
// (made by hack/setup-sim.sh).
const DefaultDebianImage = "localbase/debian-systemd:bookworm"

// Options configure the EC2 service.
type Options struct {
	// DebianImage is the systemd image behind the public AMIs (Ubuntu,
	// Debian and Amazon Linux by name, Debian bookworm underneath; ""
	// for DefaultDebianImage; "-" for no public AMI).
	DebianImage string
	// AMIs are extra AMIs owned by the caller's account: name -> image.
	AMIs map[string]string
	// Runtime runs instances; default Docker.
	Runtime Runtime
}

// EC2 is the EC2 service and its state.
type EC2 struct {
	srv     *core.Server
	rt      Runtime
	log     *slog.Logger
	region  string
	account string

	mu sync.Mutex
	st *state
	wg sync.WaitGroup // background boots, stops and commits

	svc    *core.Service
	docker *Docker // when the runtime is the sim's own Docker: closed with the sim

	tokens map[string]string // RunInstances ClientToken -> reservation id

	opsMu sync.Mutex
	ops   map[string]*sync.Mutex // per-instance background work

	createdImages map[string]bool // docker refs this sim made (removed at exit without --state)
}

// state is everything EC2 keeps, saved as one JSON document with --state.
type state struct {
	Images    map[string]*image
	Snapshots map[string]*types.Snapshot
	SnapRefs  map[string]string // snapshot id -> the docker image it holds
	Instances map[string]*instance
	KeyPairs  map[string]*keyPair // by name
	Groups    map[string]*types.SecurityGroup
	Templates map[string]*launchTemplate
	Tags      map[string]map[string]string // resource id -> key -> value
	VPC       types.Vpc
	Subnets   []types.Subnet
	Volumes   map[string]*types.Volume
	// SnapPerms are the snapshots' createVolumePermission lists.
	SnapPerms map[string][]types.CreateVolumePermission
}

type image struct {
	types.Image
	DockerRef string // the docker image behind the AMI
	Created   bool   // made by this sim (CreateImage, CopyImage, RegisterImage)
	// Region is the region the AMI was made in (the caller's credential
	// scope); "" for the seeded AMIs, which every region has. AMI names
	// are unique per account and region, as on AWS, so that CopyImage can
	// keep the name in another region.
	Region string `json:",omitempty"`
	// LoginUser is the user the key pair is installed for at boot, made
	// with passwordless sudo when the image lacks it (cloud-init's
	// default user: ubuntu, admin, ec2-user); "" for the image's own.
	LoginUser string `json:",omitempty"`
	// LaunchPerms are the accounts and organizations the image is
	// shared with (the group "all" is Public).
	LaunchPerms []types.LaunchPermission `json:",omitempty"`
}

type instance struct {
	types.Instance
	ContainerID   string
	ReservationID string
	UserData      string
	Addr          string                 // loopback address, where ports are published
	Shutdown      types.ShutdownBehavior `json:",omitempty"` // instanceInitiatedShutdownBehavior
	NoTerminate   bool                   `json:",omitempty"` // disableApiTermination
}

type keyPair struct {
	types.KeyPairInfo
	PublicKey string // authorized_keys line
}

type launchTemplate struct {
	types.LaunchTemplate
	Versions []*types.LaunchTemplateVersion
}

// New makes the EC2 service, seeds its AMIs and default VPC, restores
// saved state, and registers its operations on srv. It removes the
// containers left by crashed sims, and registers a closer that removes
// every container it starts.
func New(ctx context.Context, srv *core.Server, opts Options) (*EC2, error) {
	e := &EC2{srv: srv, rt: opts.Runtime, log: srv.Log(), region: srv.Region(), account: srv.AccountID(), createdImages: map[string]bool{}}
	if e.rt == nil {
		d, err := NewDocker(ctx)
		if err != nil {
			return nil, err
		}
		if n, err := d.Sweep(ctx); err != nil {
			e.log.Warn("remove containers left by a crashed sim", "err", err)
		} else if n > 0 {
			e.log.Info("removed containers left by a crashed sim", "count", n)
		}
		e.rt = d
		e.docker = d
	}
	srv.OnClose(e.close)
	e.st = &state{
		Images: map[string]*image{}, Snapshots: map[string]*types.Snapshot{}, SnapRefs: map[string]string{}, Instances: map[string]*instance{},
		KeyPairs: map[string]*keyPair{}, Groups: map[string]*types.SecurityGroup{}, Templates: map[string]*launchTemplate{},
		Tags: map[string]map[string]string{},
	}
	loaded, err := srv.Store().Load("ec2", e.st)
	if err != nil {
		return nil, err
	}
	if e.st.Volumes == nil {
		e.st.Volumes = map[string]*types.Volume{}
	}
	if e.st.SnapPerms == nil {
		e.st.SnapPerms = map[string][]types.CreateVolumePermission{}
	}
	if loaded {
		e.restore()
	} else {
		e.seedNetwork()
	}
	debian := opts.DebianImage
	if debian == "" {
		debian = DefaultDebianImage
	}
	if debian != "-" {
		if err := e.seedPublic(ctx, debian); err != nil {
			return nil, err
		}
	}
	for name, ref := range opts.AMIs {
		if err := e.seedAMI(ctx, name, ref); err != nil {
			return nil, err
		}
	}
	e.register()
	return e, nil
}

// restore makes saved state true again after a restart: the containers of
// instances were removed when the sim exited, so their instances are gone.
func (e *EC2) restore() {
	now := time.Now().UTC()
	for _, in := range e.st.Instances {
		if in.State.Name != types.InstanceStateNameTerminated {
			setState(&in.Instance, types.InstanceStateNameTerminated)
			in.StateTransitionReason = strPtr(fmt.Sprintf("Server.SimRestart: the sim restarted (%s)", now.Format(time.RFC3339)))
			in.ContainerID = ""
			e.releaseVolumes(in)
		}
		if a, err := parseAddr(in.Addr); err == nil {
			e.srv.Loopback().Take(a)
		}
	}
	for _, im := range e.st.Images {
		if im.State == types.ImageStatePending {
			im.State = types.ImageStateFailed
		}
	}
}

// save persists the state; call with e.mu held.
func (e *EC2) save() {
	if err := e.srv.Store().Save("ec2", e.st); err != nil {
		e.log.Error("save ec2 state", "err", err)
	}
}

// close waits for the background work, saves the state, removes every
// container this sim started and, without --state, the images it made
// (their AMIs are gone with the run).
func (e *EC2) close(ctx context.Context) error {
	e.wg.Wait()
	e.mu.Lock()
	e.save()
	persistent := e.srv.Store().Enabled()
	refs := make([]string, 0, len(e.createdImages))
	for ref := range e.createdImages {
		refs = append(refs, ref)
	}
	e.mu.Unlock()
	var errs []error
	if e.docker != nil {
		errs = append(errs, e.docker.RemoveAll(ctx))
	}
	if !persistent {
		for _, ref := range refs {
			errs = append(errs, e.rt.Untag(ctx, ref))
		}
	}
	if e.docker != nil {
		errs = append(errs, e.docker.Close())
	}
	return errors.Join(errs...)
}

// Service is the EC2 API, for core.Server.Add.
func (e *EC2) Service() *core.Service { return e.svc }

func (e *EC2) register() {
	s := core.MustService("ec2")
	e.svc = s
	core.Handle(s, "DescribeRegions", e.describeRegions)
	core.Handle(s, "DescribeAvailabilityZones", e.describeAvailabilityZones)
	core.Handle(s, "DescribeVpcs", e.describeVpcs)
	core.Handle(s, "DescribeSubnets", e.describeSubnets)
	core.Handle(s, "DescribeImages", e.describeImages)
	core.Handle(s, "RegisterImage", e.registerImage)
	core.Handle(s, "CreateImage", e.createImage)
	core.Handle(s, "CopyImage", e.copyImage)
	core.Handle(s, "DeregisterImage", e.deregisterImage)
	core.Handle(s, "EnableImageDeprecation", e.enableImageDeprecation)
	core.Handle(s, "DescribeSnapshots", e.describeSnapshots)
	core.Handle(s, "DeleteSnapshot", e.deleteSnapshot)
	core.Handle(s, "RunInstances", e.runInstances)
	core.Handle(s, "DescribeInstances", e.describeInstances)
	core.Handle(s, "DescribeInstanceStatus", e.describeInstanceStatus)
	core.Handle(s, "StartInstances", e.startInstances)
	core.Handle(s, "StopInstances", e.stopInstances)
	core.Handle(s, "RebootInstances", e.rebootInstances)
	core.Handle(s, "TerminateInstances", e.terminateInstances)
	core.Handle(s, "GetConsoleOutput", e.getConsoleOutput)
	core.Handle(s, "CreateTags", e.createTags)
	core.Handle(s, "DeleteTags", e.deleteTags)
	core.Handle(s, "DescribeTags", e.describeTags)
	core.Handle(s, "CreateKeyPair", e.createKeyPair)
	core.Handle(s, "ImportKeyPair", e.importKeyPair)
	core.Handle(s, "DeleteKeyPair", e.deleteKeyPair)
	core.Handle(s, "DescribeKeyPairs", e.describeKeyPairs)
	core.Handle(s, "CreateSecurityGroup", e.createSecurityGroup)
	core.Handle(s, "AuthorizeSecurityGroupIngress", e.authorizeSecurityGroupIngress)
	core.Handle(s, "RevokeSecurityGroupIngress", e.revokeSecurityGroupIngress)
	core.Handle(s, "DeleteSecurityGroup", e.deleteSecurityGroup)
	core.Handle(s, "DescribeSecurityGroups", e.describeSecurityGroups)
	core.Handle(s, "CreateLaunchTemplate", e.createLaunchTemplate)
	core.Handle(s, "CreateLaunchTemplateVersion", e.createLaunchTemplateVersion)
	core.Handle(s, "DescribeLaunchTemplates", e.describeLaunchTemplates)
	core.Handle(s, "DescribeLaunchTemplateVersions", e.describeLaunchTemplateVersions)
	core.Handle(s, "ModifyLaunchTemplate", e.modifyLaunchTemplate)
	core.Handle(s, "DeleteLaunchTemplate", e.deleteLaunchTemplate)
	core.Handle(s, "ModifyImageAttribute", e.modifyImageAttribute)
	core.Handle(s, "DescribeImageAttribute", e.describeImageAttribute)
	core.Handle(s, "ResetImageAttribute", e.resetImageAttribute)
	core.Handle(s, "ModifySnapshotAttribute", e.modifySnapshotAttribute)
	core.Handle(s, "DescribeSnapshotAttribute", e.describeSnapshotAttribute)
	core.Handle(s, "ResetSnapshotAttribute", e.resetSnapshotAttribute)
	core.Handle(s, "DescribeVolumes", e.describeVolumes)
	core.Handle(s, "DeleteVolume", e.deleteVolume)
	core.Handle(s, "DescribeInstanceAttribute", e.describeInstanceAttribute)
	core.Handle(s, "ModifyInstanceAttribute", e.modifyInstanceAttribute)
}
