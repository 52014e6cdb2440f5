package amazon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/internal/awserr"
)

// VerifiesArtifacts: Capture runs the verify block (bake.Verifier).
func (b *Builder) VerifiesArtifacts() {}

// instanceName is the Name tag of the instance the state launches.
func (s *state) instanceName() string {
	if s.purpose == "verify" {
		return "bake verify " + s.cfg.name
	}
	return "bake builder " + s.cfg.name
}

// verifyState is the state of the instance that verifies the new AMI: it
// boots amiID with the bake's key pair and security group, under a
// bakeID of its own, so that its client token differs from the build
// instance's and its cleanup finds only it (its tags still carry the run).
func (s *state) verifyState() *state {
	return &state{cfg: s.cfg, cl: s.cl, api: s.api, log: s.log, b: s.b,
		sourceAMI: s.sourceAMI, launchAMI: s.amiID, source: s.source, meta: s.meta,
		bakeID: s.bakeID + "-verify", key: s.key, keyName: s.keyName, ownKey: s.ownKey, groupID: s.groupID, cidrs: s.cidrs,
		vpcID: s.vpcID, subnetID: s.subnetID, groupIDs: s.groupIDs, az: s.az, r: s.r,
		purpose: "verify"}
}

// verifyImage runs the build's verify block against the new AMI, once it
// is available (and encrypted) and before it is copied anywhere: an
// instance of it boots with the bake's key pair and security group (which
// now also admits the HTTP ports, from the same sources as SSH), its host
// keys are pinned from its console, the HTTP checks go to the address
// SSH uses and the inline commands run over SSH (through sudo when the
// bake's do). The instance is terminated whatever happened; a failed
// check fails the step, and the AMI and its snapshots are removed with
// the rest of the failed bake.
func verifyImage(ctx context.Context, s *state) (err error) {
	spec := s.meta.Verify
	if spec == nil {
		return nil
	}
	if s.amiID == "" {
		return fmt.Errorf("no AMI to verify")
	}
	vs := s.verifyState()
	s.verify = vs
	b := s.b
	if b == nil {
		b = &Builder{cfg: s.cfg, cl: s.cl}
	}
	vm := &machine{b: b, log: s.log, st: vs, throwaway: true}
	defer func() {
		if derr := vm.undo(ctx); derr != nil {
			err = errors.Join(err, fmt.Errorf("remove the verify instance of %s (tagged %s=%s): %w", s.amiID, TagBake, vs.bakeID, derr))
		}
		if err != nil && s.cfg.onError != bake.OnErrorAbort {
			err = fmt.Errorf("%w\nthe AMI %s and its snapshots are removed: nothing was copied to ami_regions", err, s.amiID)
		}
	}()
	return bake.Verify(ctx, spec, s.log, func(ctx context.Context, log bake.Log) (bake.VerifyTarget, error) {
		vs.log = log
		if err := admitHTTP(ctx, s, spec.Ports()); err != nil {
			return bake.VerifyTarget{}, err
		}
		log.Info(fmt.Sprintf("starting an instance of %s to verify it", s.amiID))
		if err := vm.run(ctx, instanceSteps()); err != nil {
			return bake.VerifyTarget{}, fmt.Errorf("start an instance of %s to verify it: %w", s.amiID, err)
		}
		host, err := sshHost(s.cfg.SSHInterface, vs.instance)
		if err != nil {
			return bake.VerifyTarget{}, err
		}
		return bake.VerifyTarget{
			What: "instance " + vs.instanceID + " of " + s.amiID,
			Comm: vs.comm,
			Addr: func(port int) (string, error) { return net.JoinHostPort(host, strconv.Itoa(port)), nil },
			Gone: func(ctx context.Context) error { return instanceGone(ctx, vs) },
		}, nil
	})
}

// undo removes what the verify instance's steps made (the connection,
// the instance), each with a fresh deadline, even with --on-error=abort:
// the AMI it checked is what a failed bake keeps.
func (m *machine) undo(ctx context.Context) error {
	err := m.undoSteps(ctx, func(step) bool { return true })
	m.started = nil
	return err
}

// undoVerify terminates a verify instance that verifyImage could not
// remove (or that the bake was stopped before it removed); it finds one
// whose launch answer was lost by its tags.
func undoVerify(ctx context.Context, s *state) error {
	if s.verify == nil {
		return nil
	}
	err := disconnectSSH(ctx, s.verify)
	return errors.Join(err, terminateInstance(ctx, s.verify))
}

// admitHTTP lets the verify block's HTTP ports into the temporary
// security group, from the sources SSH is admitted from.
func admitHTTP(ctx context.Context, s *state, ports []int) error {
	if len(ports) == 0 {
		return nil
	}
	if s.groupID == "" {
		s.log.Info(fmt.Sprintf("security_group_ids %s must admit tcp/%s from this machine for the verify block's http checks",
			strings.Join(s.groupIDs, ", "), joinInts(ports)))
		return nil
	}
	var perms []types.IpPermission
	for _, p := range ports {
		if p == s.cfg.SSHPort {
			continue
		}
		perms = append(perms, sshPermission(p, s.cidrs))
	}
	if len(perms) == 0 {
		return nil
	}
	if _, err := s.api.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(s.groupID), IpPermissions: perms,
	}); err != nil && awserr.Code(err) != "InvalidPermission.Duplicate" {
		return fmt.Errorf("let tcp/%s into security group %s for the verify block: %w", joinInts(ports), s.groupID, err)
	}
	s.log.Info(fmt.Sprintf("security group %s admits tcp/%s from %s for the verify block", s.groupID, joinInts(ports), strings.Join(s.cidrs, ", ")))
	return nil
}

func joinInts(ns []int) string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = strconv.Itoa(n)
	}
	return strings.Join(out, ",")
}

// instanceGone says why the verify instance can no longer answer, or nil
// while it runs.
func instanceGone(ctx context.Context, s *state) error {
	out, err := s.api.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{s.instanceID}})
	if err != nil {
		return nil // not known to be gone; the check's own error says more
	}
	i, ok := firstInstance(out)
	if !ok || i.State == nil || i.State.Name == types.InstanceStateNameRunning {
		return nil
	}
	reason := aws.ToString(i.StateTransitionReason)
	if i.StateReason != nil {
		reason = aws.ToString(i.StateReason.Message)
	}
	return fmt.Errorf("instance %s is %s: %s", s.instanceID, i.State.Name, reason)
}
