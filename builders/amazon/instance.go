package amazon

import (
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/internal/awserr"
)

// runInstance launches the build instance: the key pair and security
// group, tagged with the run so that a launch whose answer is lost is
// still found and terminated. The client token makes the SDK's retries
// launch one instance, not several.
func runInstance(ctx context.Context, s *state) error {
	if err := s.ensureRendered(); err != nil {
		return err
	}
	in, err := runInstancesInput(s)
	if err != nil {
		return err
	}
	out, err := s.api.RunInstances(ctx, in)
	if err != nil {
		if awserr.Is(err, "InvalidParameterValue", "Unsupported") {
			return bake.BadInputf("launch %s from %s: %s (check instance_type, subnet_id and launch_block_device_mappings)", in.InstanceType, s.launchAMI, awserr.Short(err))
		}
		return fmt.Errorf("launch %s from %s: %w", in.InstanceType, s.launchAMI, err)
	}
	s.instance = out.Instances[0]
	s.instanceID = aws.ToString(s.instance.InstanceId)
	s.log.Info(fmt.Sprintf("instance %s (%s) launched from %s", s.instanceID, in.InstanceType, s.launchAMI))
	return nil
}

// instanceType is instance_type, or with only spot_instance_types set,
// the first of them (bake launches on demand).
func (c *Config) instanceType() string {
	if c.InstanceType == "" && c.pc != nil && len(c.pc.SpotInstanceTypes) > 0 {
		return c.pc.SpotInstanceTypes[0]
	}
	return c.InstanceType
}

// runInstancesInput is the build instance's launch request.
func runInstancesInput(s *state) (*ec2.RunInstancesInput, error) {
	c := s.cfg
	r := s.r
	if r == nil {
		r = &rendered{description: c.AMIDescription, tags: c.Tags, runTags: c.RunTags, volumeTags: c.RunVolumeTags, snapTags: c.SnapshotTags}
	}
	groups := s.groupIDs
	if s.groupID != "" {
		groups = []string{s.groupID}
	}
	instName := map[string]string{"Name": s.instanceName()}
	in := &ec2.RunInstancesInput{
		ImageId:      aws.String(s.launchAMI),
		InstanceType: types.InstanceType(c.instanceType()),
		MinCount:     aws.Int32(1),
		MaxCount:     aws.Int32(1),
		KeyName:      nilIfEmpty(s.keyName),
		ClientToken:  aws.String(s.cfg.runUUID + "-" + s.bakeID), // a verify instance's bakeID differs
		MetadataOptions: &types.InstanceMetadataOptionsRequest{
			HttpTokens:              types.HttpTokensStateRequired,
			HttpEndpoint:            types.InstanceMetadataEndpointStateEnabled,
			HttpPutResponseHopLimit: aws.Int32(1),
		},
		TagSpecifications: []types.TagSpecification{
			tagSpec(types.ResourceTypeInstance, instName, r.runTags, s.runTags()),
			tagSpec(types.ResourceTypeVolume, r.volumeTags, s.runTags()),
		},
		InstanceInitiatedShutdownBehavior: types.ShutdownBehaviorTerminate,
	}
	userData := c.UserData
	if pc := c.pc; pc != nil {
		if c.imdsSet {
			m := pc.Metadata
			in.MetadataOptions = &types.InstanceMetadataOptionsRequest{
				HttpTokens:   types.HttpTokensState(m.HttpTokens),
				HttpEndpoint: types.InstanceMetadataEndpointState(m.HttpEndpoint),
			}
			if m.HttpPutResponseHopLimit > 0 {
				in.MetadataOptions.HttpPutResponseHopLimit = aws.Int32(int32(m.HttpPutResponseHopLimit))
			}
			if m.InstanceMetadataTags != "" {
				in.MetadataOptions.InstanceMetadataTags = types.InstanceMetadataTagsState(m.InstanceMetadataTags)
			}
		}
		if pc.InstanceInitiatedShutdownBehavior != "" {
			in.InstanceInitiatedShutdownBehavior = types.ShutdownBehavior(pc.InstanceInitiatedShutdownBehavior)
		}
		if p := pc.IamInstanceProfile; p != "" {
			if strings.HasPrefix(p, "arn:") {
				in.IamInstanceProfile = &types.IamInstanceProfileSpecification{Arn: aws.String(p)}
			} else {
				in.IamInstanceProfile = &types.IamInstanceProfileSpecification{Name: aws.String(p)}
			}
		}
		if pc.UserDataFile != "" {
			b, err := os.ReadFile(pc.UserDataFile)
			if err != nil {
				return nil, bake.BadInputf("source %q: user_data_file: %v", c.name, err)
			}
			userData = string(b)
		}
		tenancy := pc.Tenancy
		if tenancy == "" {
			tenancy = pc.Placement.Tenancy
		}
		if s.az != "" || tenancy != "" {
			in.Placement = &types.Placement{AvailabilityZone: nilIfEmpty(s.az), Tenancy: types.Tenancy(tenancy)}
		}
		if pc.EbsOptimized {
			in.EbsOptimized = aws.Bool(true)
		}
		if pc.EnableUnlimitedCredits {
			in.CreditSpecification = &types.CreditSpecificationRequest{CpuCredits: aws.String("unlimited")}
		}
	}
	if userData != "" {
		in.UserData = aws.String(base64.StdEncoding.EncodeToString([]byte(userData)))
	}
	for _, bd := range c.LaunchBlockDeviceMappings {
		m := bd.sdk()
		if m.Ebs != nil {
			// The build instance's volumes always go with it (nothing is
			// left behind); the AMI gets the delete_on_termination asked
			// for (createImage).
			m.Ebs.DeleteOnTermination = aws.Bool(true)
		}
		in.BlockDeviceMappings = append(in.BlockDeviceMappings, m)
	}
	if c.AssociatePublicIPAddress != nil {
		// EC2 takes the public address choice only on a network interface.
		in.NetworkInterfaces = []types.InstanceNetworkInterfaceSpecification{{
			DeviceIndex: aws.Int32(0), AssociatePublicIpAddress: c.AssociatePublicIPAddress,
			Groups: groups, SubnetId: nilIfEmpty(s.subnetID), DeleteOnTermination: aws.Bool(true),
		}}
	} else {
		in.SecurityGroupIds = groups
		in.SubnetId = nilIfEmpty(s.subnetID)
	}
	return in, nil
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

func (bd BlockDeviceMapping) sdk() types.BlockDeviceMapping {
	m := types.BlockDeviceMapping{DeviceName: aws.String(bd.DeviceName)}
	switch {
	case bd.NoDevice:
		m.NoDevice = aws.String("")
		return m
	case bd.VirtualName != "":
		m.VirtualName = aws.String(bd.VirtualName)
		return m
	}
	ebs := &types.EbsBlockDevice{DeleteOnTermination: bd.DeleteOnTermination, Encrypted: bd.Encrypted}
	if bd.VolumeSize > 0 {
		ebs.VolumeSize = aws.Int32(bd.VolumeSize)
	}
	if bd.VolumeType != "" {
		ebs.VolumeType = types.VolumeType(bd.VolumeType)
	}
	if bd.IOPS > 0 {
		ebs.Iops = aws.Int32(bd.IOPS)
	}
	if bd.Throughput > 0 {
		ebs.Throughput = aws.Int32(bd.Throughput)
	}
	ebs.KmsKeyId = nilIfEmpty(bd.KMSKeyID)
	ebs.SnapshotId = nilIfEmpty(bd.SnapshotID)
	m.Ebs = ebs
	return m
}

// waitRunning waits for the instance to run and finds the address to
// reach sshd at (ssh_interface).
func waitRunning(ctx context.Context, s *state) error {
	err := poll(ctx, s.log, "instance "+s.instanceID+" to run", s.cfg.instTO, func(ctx context.Context) (bool, string, error) {
		out, err := s.api.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{s.instanceID}})
		if awserr.NotFound(err) {
			return false, "not visible yet", nil // EC2 is eventually consistent
		}
		if err != nil {
			return false, "", fmt.Errorf("describe instance %s: %w", s.instanceID, err)
		}
		inst, ok := firstInstance(out)
		if !ok {
			return false, "not visible yet", nil
		}
		s.instance = inst
		st := inst.State.Name
		switch st {
		case types.InstanceStateNameRunning:
			return true, "", nil
		case types.InstanceStateNamePending:
			return false, string(st), nil
		}
		reason := aws.ToString(inst.StateTransitionReason)
		if inst.StateReason != nil {
			reason = aws.ToString(inst.StateReason.Message)
		}
		return false, "", fmt.Errorf("instance %s is %s instead of running: %s", s.instanceID, st, reason)
	})
	if err != nil {
		return err
	}
	host, err := sshHost(s.cfg.SSHInterface, s.instance)
	if err != nil {
		return err
	}
	s.addr = net.JoinHostPort(host, strconv.Itoa(s.cfg.SSHPort))
	s.log.Info(fmt.Sprintf("instance %s is running; sshd at %s", s.instanceID, s.addr))
	return nil
}

func firstInstance(out *ec2.DescribeInstancesOutput) (types.Instance, bool) {
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			return i, true
		}
	}
	return types.Instance{}, false
}

// sshHost is the instance's address for ssh_interface; by default its
// public address, else its private one.
func sshHost(iface string, i types.Instance) (string, error) {
	var v *string
	switch iface {
	case "", "public_ip":
		v = i.PublicIpAddress
		if iface == "" && aws.ToString(v) == "" {
			v = i.PrivateIpAddress
		}
	case "private_ip":
		v = i.PrivateIpAddress
	case "public_dns":
		v = i.PublicDnsName
	case "private_dns":
		v = i.PrivateDnsName
	}
	if aws.ToString(v) == "" {
		if iface == "" {
			iface = "public_ip"
		}
		return "", bake.BadInputf("instance %s has no address for ssh_interface %q: set ssh_interface, or associate_public_ip_address = true", aws.ToString(i.InstanceId), iface)
	}
	return *v, nil
}

// terminateInstance terminates the build instance, and any instance of
// this bake whose RunInstances answer was lost, and waits until they are
// gone (their security group cannot be deleted before).
func terminateInstance(ctx context.Context, s *state) error {
	ids := map[string]bool{}
	if s.instanceID != "" {
		ids[s.instanceID] = true
	}
	out, err := s.api.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: append(s.runFilters(),
		types.Filter{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped", "shutting-down"}})})
	if err != nil {
		return fmt.Errorf("find this bake's instances: %w", err)
	}
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			ids[aws.ToString(i.InstanceId)] = true
		}
	}
	if len(ids) == 0 {
		return nil
	}
	list := slices.Sorted(maps.Keys(ids))
	if _, err := s.api.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: list}); err != nil && !awserr.NotFound(err) {
		return fmt.Errorf("terminate instance %v: %w", list, err)
	}
	err = poll(ctx, s.log, fmt.Sprintf("instance %v to terminate", list), s.cfg.instTO, func(ctx context.Context) (bool, string, error) {
		out, err := s.api.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: list})
		if awserr.NotFound(err) {
			return true, "", nil
		}
		if err != nil {
			return false, "", err
		}
		for _, r := range out.Reservations {
			for _, i := range r.Instances {
				if i.State.Name != types.InstanceStateNameTerminated {
					return false, string(i.State.Name), nil
				}
			}
		}
		return true, "", nil
	})
	if err != nil {
		return fmt.Errorf("terminate instance %v: %w", list, err)
	}
	s.log.Info(fmt.Sprintf("instance %v terminated", list))
	s.instanceID = ""
	return nil
}

// sleepCtx sleeps for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}
