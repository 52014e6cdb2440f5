package amazon

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/bakehq/bake/bake"
	sshcomm "github.com/bakehq/bake/communicators/ssh"
)

// A step is one stage of the bake. run makes or waits for something and
// records it in the state; undo removes what run made (also when run was
// cut off half way: undo finds leftovers by the run's tags). undo is
// idempotent and gets a fresh context with its own deadline. An artifact
// step's undo runs only when the bake did not finish.
type step struct {
	name     string
	run      func(ctx context.Context, s *state) error
	undo     func(ctx context.Context, s *state) error
	artifact bool
}

// bootSteps boot the source AMI and connect to it.
func bootSteps() []step {
	return append([]step{
		{name: "key pair", run: importKeyPair, undo: deleteKeyPair},
		{name: "security group", run: createSecurityGroup, undo: deleteSecurityGroup},
	}, instanceSteps()...)
}

// instanceSteps launch an instance of launchAMI with the key pair and
// security group the state has, and connect to it: the build instance,
// and the instance a verify block checks.
func instanceSteps() []step {
	return []step{
		{name: "instance", run: runInstance, undo: terminateInstance},
		{name: "instance running", run: waitRunning},
		{name: "host keys", run: skipWithoutSSH(readHostKeys)},
		{name: "ssh", run: skipWithoutSSH(connectSSH), undo: disconnectSSH},
	}
}

// captureSteps turn the instance into the versioned AMI.
func captureSteps(c *Config) []step {
	if c.SkipCreateAMI {
		return []step{{name: "disconnect", run: disconnectSSH}}
	}
	return []step{
		{name: "clear authorized keys", run: clearAuthorizedKeys},
		{name: "disconnect", run: disconnectSSH},
		{name: "force deregister", run: deregisterExisting},
		{name: "image", run: createImage, undo: deregisterImages, artifact: true},
		{name: "image available", run: waitImage},
		{name: "encrypt", run: encryptImage, undo: deregisterImages, artifact: true},
		{name: "verify", run: verifyImage, undo: undoVerify},
		{name: "copy", run: copyImages, undo: deregisterCopies, artifact: true},
		{name: "share", run: shareImages},
		{name: "deprecate", run: deprecateImages},
	}
}

// StepNames lists every step of a bake that makes an AMI, in order.
func StepNames() []string {
	var names []string
	for _, s := range append(bootSteps(), captureSteps(&Config{})...) {
		names = append(names, s.name)
	}
	return names
}

// skipWithoutSSH skips a step with communicator = "none".
func skipWithoutSSH(run func(ctx context.Context, s *state) error) func(ctx context.Context, s *state) error {
	return func(ctx context.Context, s *state) error {
		if s.cfg.pc != nil && s.cfg.pc.Comm.Type == "none" {
			return nil
		}
		return run(ctx, s)
	}
}

// state is what the steps share: their settings and what they made.
type state struct {
	cfg *Config
	cl  *clients
	api EC2 // the build region's
	log bake.Log
	// b runs the steps of a verify block's instance (its test hooks).
	b *Builder

	sourceAMI string
	// launchAMI is what the instance boots from: sourceAMI, or a
	// checkpoint AMI when the bake resumes.
	launchAMI string
	source    types.Image
	meta      bake.ArtifactMeta
	// bakeID tells this bake's resources from those of the run's other
	// sources: every resource carries TagRun and TagBake.
	bakeID string

	// r are the config's Packer templates rendered (render.go).
	r *rendered
	// The network: the config's ids, or what its filters found.
	vpcID, subnetID, az string
	groupIDs            []string

	key     *sshcomm.Key
	keyName string
	// ownKey: keyName is the user's ssh_keypair_name (or none), not a
	// temporary key pair of this bake.
	ownKey     bool
	groupID    string   // the temporary security group, once made
	cidrs      []string // the sources it admits
	instanceID string
	instance   types.Instance
	addr       string   // host:port of sshd
	hostKeys   []string // SHA256 fingerprints from the console
	comm       closingComm

	amiID     string
	snapshots []string
	copies    map[string]*regionCopy

	// purpose is "" for the build instance, "verify" for the instance
	// of the new AMI a verify block checks (verify.go).
	purpose string
	// verify is that instance's state, once started.
	verify *state
}

type regionCopy struct {
	ami       string
	snapshots []string
}

// TagBake is on every resource of one bake, so that cleanup removes only
// what this bake made even when one run bakes several sources.
const TagBake = "dev.bake.bake"

// runTags are the tags that mark what this bake made, with the run's
// owner (bake.OwnerLabels) so that bake gc can remove what a killed run
// left.
func (s *state) runTags() map[string]string {
	return bake.OwnerLabels(s.cfg.runUUID, map[string]string{TagBake: s.bakeID})
}

func (s *state) runFilters() []types.Filter {
	return []types.Filter{
		{Name: aws.String("tag:" + TagRun), Values: []string{s.cfg.runUUID}},
		{Name: aws.String("tag:" + TagBake), Values: []string{s.bakeID}},
	}
}

// resourceName names the temporary key pair and security group.
func (s *state) resourceName() string {
	run := s.cfg.runUUID
	if len(run) > 8 {
		run = run[:8]
	}
	return fmt.Sprintf("bake-%s-%s-%s", sanitize(s.cfg.name), run, s.bakeID)
}

func tagSpec(rt types.ResourceType, maps ...map[string]string) types.TagSpecification {
	return types.TagSpecification{ResourceType: rt, Tags: tagList(maps...)}
}

// tagList merges maps, later ones winning, into sorted tags.
func tagList(maps ...map[string]string) []types.Tag {
	all := map[string]string{}
	for _, m := range maps {
		for k, v := range m {
			all[k] = v
		}
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tags := make([]types.Tag, len(keys))
	for i, k := range keys {
		tags[i] = types.Tag{Key: aws.String(k), Value: aws.String(truncate(all[k], 256))}
	}
	return tags
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, s)
}

// removalCommands are the aws CLI commands that remove what a kept
// (--on-error=abort) bake made.
func (s *state) removalCommands() string {
	region := s.cl.region()
	var b strings.Builder
	if s.instanceID != "" {
		fmt.Fprintf(&b, "  aws ec2 terminate-instances --region %s --instance-ids %s\n", region, s.instanceID)
		fmt.Fprintf(&b, "  aws ec2 wait instance-terminated --region %s --instance-ids %s\n", region, s.instanceID)
	}
	if s.groupID != "" {
		fmt.Fprintf(&b, "  aws ec2 delete-security-group --region %s --group-id %s\n", region, s.groupID)
	}
	if s.keyName != "" && !s.ownKey {
		fmt.Fprintf(&b, "  aws ec2 delete-key-pair --region %s --key-name %s\n", region, s.keyName)
	}
	if s.amiID != "" {
		fmt.Fprintf(&b, "  aws ec2 deregister-image --region %s --image-id %s\n", region, s.amiID)
	}
	for _, snap := range s.snapshots {
		fmt.Fprintf(&b, "  aws ec2 delete-snapshot --region %s --snapshot-id %s\n", region, snap)
	}
	for _, r := range slices.Sorted(maps.Keys(s.copies)) {
		c := s.copies[r]
		if c.ami != "" {
			fmt.Fprintf(&b, "  aws ec2 deregister-image --region %s --image-id %s\n", r, c.ami)
		}
	}
	fmt.Fprintf(&b, "  (everything this bake made is tagged %s=%s)", TagBake, s.bakeID)
	if s.addr != "" {
		fmt.Fprintf(&b, "\nThe instance is at %s (ssh user %s).", s.addr, s.cfg.SSHUsername)
	}
	return b.String()
}
