package ec2

import (
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/bakehq/bake/sim/core"
)

var stateCodes = map[types.InstanceStateName]int32{
	types.InstanceStateNamePending: 0, types.InstanceStateNameRunning: 16, types.InstanceStateNameShuttingDown: 32,
	types.InstanceStateNameTerminated: 48, types.InstanceStateNameStopping: 64, types.InstanceStateNameStopped: 80,
}

func setState(in *types.Instance, name types.InstanceStateName) {
	in.State = &types.InstanceState{Name: name, Code: i32Ptr(stateCodes[name])}
}

// defaultPorts are published on every instance's address besides the
// image's exposed ports and its security groups' ingress ports.
var defaultPorts = []int{22, 80}

// launch is one RunInstances after its launch template is applied.
type launch struct {
	ImageID      string
	InstanceType types.InstanceType
	KeyName      string
	GroupIDs     []string
	GroupNames   []string
	SubnetID     string
	AZ           string
	UserData     string
	Tags         []types.TagSpecification
	Template     *types.LaunchTemplateSpecification
	BlockDevices []types.BlockDeviceMapping
	Profile      *types.IamInstanceProfileSpecification
	Metadata     *types.InstanceMetadataOptionsRequest
	Shutdown     types.ShutdownBehavior
	NoTerminate  bool
	EbsOptimized bool
	Monitoring   bool
}

// lockInstance serializes the background work on one instance (boot, stop,
// start, terminate) so each sees the container the previous one left.
func (e *EC2) lockInstance(id string) func() {
	e.opsMu.Lock()
	if e.ops == nil {
		e.ops = map[string]*sync.Mutex{}
	}
	m := e.ops[id]
	if m == nil {
		m = &sync.Mutex{}
		e.ops[id] = m
	}
	e.opsMu.Unlock()
	m.Lock()
	return m.Unlock
}

func (e *EC2) runInstances(ctx context.Context, req *core.Request, in *ec2.RunInstancesInput) (*ec2.RunInstancesOutput, error) {
	l := launch{
		ImageID: deref(in.ImageId), InstanceType: in.InstanceType, KeyName: deref(in.KeyName),
		GroupIDs: in.SecurityGroupIds, GroupNames: in.SecurityGroups, SubnetID: deref(in.SubnetId), UserData: deref(in.UserData),
		Tags: in.TagSpecifications, BlockDevices: in.BlockDeviceMappings, Profile: in.IamInstanceProfile, Metadata: in.MetadataOptions,
		Shutdown: in.InstanceInitiatedShutdownBehavior, NoTerminate: deref(in.DisableApiTermination), EbsOptimized: deref(in.EbsOptimized),
	}
	if in.Monitoring != nil {
		l.Monitoring = deref(in.Monitoring.Enabled)
	}
	if in.Placement != nil {
		l.AZ = deref(in.Placement.AvailabilityZone)
	}
	for _, ni := range in.NetworkInterfaces {
		if ni.SubnetId != nil {
			l.SubnetID = *ni.SubnetId
		}
		l.GroupIDs = append(l.GroupIDs, ni.Groups...)
	}
	min, max := deref(in.MinCount), deref(in.MaxCount)
	if min < 1 || max < min {
		return nil, core.Errorf("InvalidParameterValue", "MinCount (%d) must be at least 1 and at most MaxCount (%d)", min, max)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	// A retried call (the SDKs set ClientToken) gets the reservation of
	// the first one, as on EC2, instead of a second set of instances.
	token := deref(in.ClientToken)
	if token != "" {
		if resID, ok := e.tokens[token]; ok {
			out := &ec2.RunInstancesOutput{ReservationId: &resID, OwnerId: &e.account}
			for _, id := range slices.Sorted(maps.Keys(e.st.Instances)) {
				if inst := e.st.Instances[id]; inst.ReservationID == resID {
					out.Instances = append(out.Instances, e.view(inst))
					out.Groups = inst.SecurityGroups
				}
			}
			sort.Slice(out.Instances, func(i, j int) bool {
				return deref(out.Instances[i].AmiLaunchIndex) < deref(out.Instances[j].AmiLaunchIndex)
			})
			return out, nil
		}
	}
	if in.LaunchTemplate != nil {
		if err := e.applyTemplate(&l, in.LaunchTemplate); err != nil {
			return nil, err
		}
	}
	insts, resID, err := e.launchLocked(ctx, req, l, int(max))
	if err != nil {
		return nil, err
	}
	if token != "" {
		if e.tokens == nil {
			e.tokens = map[string]string{}
		}
		e.tokens[token] = resID
		for _, inst := range insts {
			inst.ClientToken = &token
		}
	}
	out := &ec2.RunInstancesOutput{ReservationId: &resID, OwnerId: &e.account}
	for _, inst := range insts {
		out.Instances = append(out.Instances, e.view(inst))
		out.Groups = inst.SecurityGroups
	}
	return out, nil
}

// launchLocked validates l and starts n instances; call with e.mu held.
func (e *EC2) launchLocked(ctx context.Context, _ *core.Request, l launch, n int) ([]*instance, string, error) {
	if l.ImageID == "" {
		return nil, "", core.Missing("The request must contain the parameter ImageId")
	}
	if err := checkAMIID(l.ImageID); err != nil {
		return nil, "", err
	}
	im, ok := e.st.Images[l.ImageID]
	if !ok {
		return nil, "", core.Errorf("InvalidAMIID.NotFound", "The image id '[%s]' does not exist", l.ImageID)
	}
	if im.State != types.ImageStateAvailable {
		return nil, "", core.Errorf("InvalidAMIID.Unavailable", "The image id '[%s]' is not available", l.ImageID)
	}
	var key *keyPair
	if l.KeyName != "" {
		if key = e.st.KeyPairs[l.KeyName]; key == nil {
			return nil, "", core.Errorf("InvalidKeyPair.NotFound", "The key pair '%s' does not exist", l.KeyName)
		}
	}
	var subnets []types.Subnet
	if l.SubnetID != "" {
		s, ok := e.subnet(l.SubnetID)
		if !ok {
			return nil, "", core.Errorf("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", l.SubnetID)
		}
		subnets = []types.Subnet{s}
	} else {
		for _, s := range e.st.Subnets {
			if l.AZ == "" || deref(s.AvailabilityZone) == l.AZ {
				subnets = append(subnets, s)
			}
		}
		if len(subnets) == 0 {
			return nil, "", core.Errorf("InvalidParameterValue", "Invalid availability zone: [%s]", l.AZ)
		}
		subnets = subnets[:1] // EC2 puts one launch in one subnet
	}
	var groups []types.GroupIdentifier
	var ports []int
	for _, id := range l.GroupIDs {
		g, ok := e.st.Groups[id]
		if !ok {
			return nil, "", core.Errorf("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
		}
		groups = append(groups, types.GroupIdentifier{GroupId: g.GroupId, GroupName: g.GroupName})
		ports = append(ports, ingressPorts(g)...)
	}
	for _, name := range l.GroupNames {
		g := e.groupByName(name)
		if g == nil {
			return nil, "", core.Errorf("InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC '%s'", name, deref(e.st.VPC.VpcId))
		}
		groups = append(groups, types.GroupIdentifier{GroupId: g.GroupId, GroupName: g.GroupName})
		ports = append(ports, ingressPorts(g)...)
	}
	if len(groups) == 0 {
		if g := e.groupByName("default"); g != nil {
			groups = append(groups, types.GroupIdentifier{GroupId: g.GroupId, GroupName: g.GroupName})
			ports = append(ports, ingressPorts(g)...)
		}
	}
	userData, err := base64.StdEncoding.DecodeString(l.UserData)
	if err != nil {
		return nil, "", core.Errorf("InvalidParameterValue", "Invalid BASE64 encoding of user data.")
	}
	typ := l.InstanceType
	if typ == "" {
		typ = types.InstanceTypeM1Small
	}
	root := deref(im.RootDeviceName)
	bdms, err := e.mergeMappings(im.BlockDeviceMappings, l.BlockDevices)
	if err != nil {
		return nil, "", err
	}
	bdms = sortedDevices(bdms, root)
	profile, err := e.instanceProfile(l.Profile)
	if err != nil {
		return nil, "", err
	}
	metadata, err := metadataOptions(l.Metadata)
	if err != nil {
		return nil, "", err
	}
	switch l.Shutdown {
	case "", types.ShutdownBehaviorStop, types.ShutdownBehaviorTerminate:
	default:
		return nil, "", core.Errorf("InvalidParameterValue", "Value (%s) for parameter instanceInitiatedShutdownBehavior is invalid. Valid values: stop, terminate", l.Shutdown)
	}
	monitoring := types.MonitoringStateDisabled
	if l.Monitoring {
		monitoring = types.MonitoringStateEnabled
	}
	resID := core.NewID("r")
	now := time.Now().UTC().Truncate(time.Second)
	var out []*instance
	for i := 0; i < n; i++ {
		addr, err := e.srv.Loopback().Next()
		if err != nil {
			return nil, "", err
		}
		sn := subnets[i%len(subnets)]
		id := core.NewID("i")
		inst := &instance{ReservationID: resID, UserData: l.UserData, Addr: addr.String(), Shutdown: l.Shutdown, NoTerminate: l.NoTerminate}
		inst.Instance = types.Instance{
			InstanceId: &id, ImageId: &l.ImageID, InstanceType: typ, LaunchTime: &now, AmiLaunchIndex: i32Ptr(int32(i)),
			Placement: &types.Placement{AvailabilityZone: sn.AvailabilityZone, Tenancy: types.TenancyDefault, GroupName: strPtr("")},
			SubnetId:  sn.SubnetId, VpcId: sn.VpcId, PublicIpAddress: strPtr(addr.String()),
			Architecture: im.Architecture, RootDeviceType: types.DeviceTypeEbs, RootDeviceName: strPtr(root),
			VirtualizationType: types.VirtualizationTypeHvm, Hypervisor: types.HypervisorTypeXen, EnaSupport: boolPtr(true),
			EbsOptimized: boolPtr(l.EbsOptimized), SourceDestCheck: boolPtr(true), SecurityGroups: groups, IamInstanceProfile: profile,
			Monitoring: &types.Monitoring{State: monitoring}, StateTransitionReason: strPtr(""),
			PlatformDetails: strPtr("Linux/UNIX"), UsageOperation: strPtr("RunInstances"), UsageOperationUpdateTime: &now,
			ClientToken: strPtr(""), PrivateDnsName: strPtr(""), PublicDnsName: strPtr(""), BootMode: types.BootModeValuesUefi,
			CurrentInstanceBootMode: types.InstanceBootModeValuesUefi,
			CpuOptions:              &types.CpuOptions{CoreCount: i32Ptr(1), ThreadsPerCore: i32Ptr(2)},
			MetadataOptions:         metadata,
		}
		e.attachVolumes(inst, bdms, l.Tags)
		if key != nil {
			inst.KeyName = key.KeyName
		}
		setState(&inst.Instance, types.InstanceStateNamePending)
		e.st.Instances[id] = inst
		e.tagsFor(id, types.ResourceTypeInstance, l.Tags)
		if l.Template != nil {
			e.setTags(id, []types.Tag{{Key: strPtr("aws:ec2launchtemplate:id"), Value: l.Template.LaunchTemplateId},
				{Key: strPtr("aws:ec2launchtemplate:version"), Value: l.Template.Version}})
		}
		spec := BootSpec{InstanceID: id, Image: im.DockerRef, Addr: addr, Ports: append(append([]int{}, defaultPorts...), ports...),
			UserData: userData, Hostname: id, LoginUser: im.LoginUser}
		if key != nil {
			spec.AuthorizedKeys = key.PublicKey
		}
		out = append(out, inst)
		e.boot(ctx, inst, spec)
	}
	e.save()
	return out, resID, nil
}

// boot starts the instance's machine in the background; pending becomes
// running (or terminated with a reason when the machine cannot start).
func (e *EC2) boot(ctx context.Context, inst *instance, spec BootSpec) {
	id := *inst.InstanceId
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer e.lockInstance(id)()
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		m, err := e.rt.Boot(bctx, spec)
		e.mu.Lock()
		defer e.mu.Unlock()
		inst.ContainerID = m.ID
		if err != nil {
			e.log.Error("boot instance", "instance", id, "err", err)
			setState(&inst.Instance, types.InstanceStateNameTerminated)
			inst.StateReason = &types.StateReason{Code: strPtr("Server.InternalError"), Message: strPtr("Server.InternalError: " + err.Error())}
			if m.ID != "" {
				if err := e.rt.Remove(bctx, m.ID); err != nil {
					e.log.Error("remove the container of a failed instance", "instance", id, "err", err)
				}
				inst.ContainerID = ""
			}
			e.save()
			return
		}
		e.setAddress(inst, m.PrivateIP)
		if inst.State.Name == types.InstanceStateNamePending {
			setState(&inst.Instance, types.InstanceStateNameRunning)
		}
		e.save()
	}()
}

func (e *EC2) setAddress(inst *instance, ip string) {
	if ip == "" {
		return
	}
	inst.PrivateIpAddress = strPtr(ip)
	inst.PrivateDnsName = strPtr("ip-" + strings.ReplaceAll(ip, ".", "-") + ".ec2.internal")
	ni := types.InstanceNetworkInterface{
		NetworkInterfaceId: strPtr("eni-" + strings.TrimPrefix(*inst.InstanceId, "i-")), SubnetId: inst.SubnetId, VpcId: inst.VpcId,
		PrivateIpAddress: inst.PrivateIpAddress, PrivateDnsName: inst.PrivateDnsName, Status: types.NetworkInterfaceStatusInUse,
		OwnerId: &e.account, InterfaceType: strPtr("interface"), SourceDestCheck: boolPtr(true),
		Association: &types.InstanceNetworkInterfaceAssociation{PublicIp: inst.PublicIpAddress, IpOwnerId: strPtr("amazon")},
		Attachment: &types.InstanceNetworkInterfaceAttachment{AttachmentId: strPtr("eni-attach-" + core.NewHex(17)), DeviceIndex: i32Ptr(0),
			Status: types.AttachmentStatusAttached, DeleteOnTermination: boolPtr(true), AttachTime: inst.LaunchTime},
	}
	for _, g := range inst.SecurityGroups {
		ni.Groups = append(ni.Groups, g)
	}
	inst.NetworkInterfaces = []types.InstanceNetworkInterface{ni}
}

// ingressPorts are the TCP ports a group lets in (ranges of up to 32 ports).
func ingressPorts(g *types.SecurityGroup) []int {
	var out []int
	for _, p := range g.IpPermissions {
		proto := deref(p.IpProtocol)
		if proto != "tcp" && proto != "6" && proto != "-1" {
			continue
		}
		from, to := deref(p.FromPort), deref(p.ToPort)
		if from <= 0 || to < from || to-from >= 32 {
			continue
		}
		for port := from; port <= to; port++ {
			out = append(out, int(port))
		}
	}
	return out
}

// view is what Describe shows of an instance; call with e.mu held.
func (e *EC2) view(inst *instance) types.Instance {
	x := inst.Instance
	x.Tags = tagList(e.st.Tags[*inst.InstanceId])
	return x
}

// instance finds an instance by id; call with e.mu held.
func (e *EC2) instance(id string) (*instance, error) {
	if !strings.HasPrefix(id, "i-") {
		return nil, core.Errorf("InvalidInstanceID.Malformed", "Invalid id: \"%s\"", id)
	}
	inst, ok := e.st.Instances[id]
	if !ok {
		return nil, core.Errorf("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
	}
	return inst, nil
}

// instances finds instances by id, failing as EC2 does on any unknown one.
func (e *EC2) instances(ids []string) ([]*instance, error) {
	var out []*instance
	var missing []string
	for _, id := range ids {
		if !strings.HasPrefix(id, "i-") {
			return nil, core.Errorf("InvalidInstanceID.Malformed", "Invalid id: \"%s\"", id)
		}
		inst, ok := e.st.Instances[id]
		if !ok {
			missing = append(missing, id)
			continue
		}
		out = append(out, inst)
	}
	switch len(missing) {
	case 0:
		return out, nil
	case 1:
		return nil, core.Errorf("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", missing[0])
	}
	return nil, core.Errorf("InvalidInstanceID.NotFound", "The instance IDs '%s' do not exist", strings.Join(missing, ", "))
}

var instanceFilters = []string{"instance-id", "instance-state-name", "instance-state-code", "image-id", "instance-type",
	"key-name", "subnet-id", "vpc-id", "availability-zone", "private-ip-address", "ip-address", "private-dns-name",
	"reservation-id", "instance.group-id", "instance.group-name", "group-id", "group-name", "architecture",
	"root-device-type", "launch-index", "owner-id"}

func (e *EC2) instanceValues(inst *instance, n string) []string {
	if vals, ok := tagValues(e.st.Tags[*inst.InstanceId], n); ok {
		return vals
	}
	switch n {
	case "instance-id":
		return []string{*inst.InstanceId}
	case "instance-state-name":
		return []string{string(inst.State.Name)}
	case "instance-state-code":
		return []string{fmt.Sprint(deref(inst.State.Code))}
	case "image-id":
		return []string{deref(inst.ImageId)}
	case "instance-type":
		return []string{string(inst.InstanceType)}
	case "key-name":
		return []string{deref(inst.KeyName)}
	case "subnet-id":
		return []string{deref(inst.SubnetId)}
	case "vpc-id":
		return []string{deref(inst.VpcId)}
	case "availability-zone":
		return []string{deref(inst.Placement.AvailabilityZone)}
	case "private-ip-address":
		return []string{deref(inst.PrivateIpAddress)}
	case "ip-address":
		return []string{deref(inst.PublicIpAddress)}
	case "private-dns-name":
		return []string{deref(inst.PrivateDnsName)}
	case "reservation-id":
		return []string{inst.ReservationID}
	case "instance.group-id", "group-id", "instance.group-name", "group-name":
		var out []string
		for _, g := range inst.SecurityGroups {
			if strings.HasSuffix(n, "id") {
				out = append(out, deref(g.GroupId))
			} else {
				out = append(out, deref(g.GroupName))
			}
		}
		return out
	case "architecture":
		return []string{string(inst.Architecture)}
	case "root-device-type":
		return []string{string(inst.RootDeviceType)}
	case "launch-index":
		return []string{fmt.Sprint(deref(inst.AmiLaunchIndex))}
	case "owner-id":
		return []string{e.account}
	}
	return nil
}

func (e *EC2) describeInstances(_ context.Context, _ *core.Request, in *ec2.DescribeInstancesInput) (*ec2.DescribeInstancesOutput, error) {
	fs := filterSet(in.Filters)
	if err := fs.known(instanceFilters...); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.instances(in.InstanceIds); err != nil {
		return nil, err
	}
	ids := in.InstanceIds
	if len(ids) == 0 {
		ids = slices.Sorted(maps.Keys(e.st.Instances))
	} else {
		sort.Strings(ids)
	}
	var sel []*instance
	for _, id := range ids {
		inst := e.st.Instances[id]
		if fs.match(func(n string) []string { return e.instanceValues(inst, n) }) {
			sel = append(sel, inst)
		}
	}
	selIDs := make([]string, len(sel))
	for i, inst := range sel {
		selIDs[i] = *inst.InstanceId
	}
	pageIDs, next := page(selIDs, in.NextToken, in.MaxResults)
	out := &ec2.DescribeInstancesOutput{Reservations: []types.Reservation{}, NextToken: next}
	byRes := map[string]int{}
	for _, id := range pageIDs {
		inst := e.st.Instances[id]
		i, ok := byRes[inst.ReservationID]
		if !ok {
			i = len(out.Reservations)
			byRes[inst.ReservationID] = i
			out.Reservations = append(out.Reservations, types.Reservation{ReservationId: strPtr(inst.ReservationID), OwnerId: &e.account, Groups: []types.GroupIdentifier{}})
		}
		out.Reservations[i].Instances = append(out.Reservations[i].Instances, e.view(inst))
	}
	return out, nil
}

func (e *EC2) describeInstanceStatus(_ context.Context, _ *core.Request, in *ec2.DescribeInstanceStatusInput) (*ec2.DescribeInstanceStatusOutput, error) {
	fs := filterSet(in.Filters)
	if err := fs.known("availability-zone", "instance-state-name", "instance-state-code"); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.instances(in.InstanceIds); err != nil {
		return nil, err
	}
	ids := in.InstanceIds
	if len(ids) == 0 {
		ids = slices.Sorted(maps.Keys(e.st.Instances))
	}
	out := &ec2.DescribeInstanceStatusOutput{InstanceStatuses: []types.InstanceStatus{}}
	for _, id := range ids {
		inst := e.st.Instances[id]
		if inst.State.Name != types.InstanceStateNameRunning && !deref(in.IncludeAllInstances) {
			continue
		}
		if !fs.match(func(n string) []string { return e.instanceValues(inst, n) }) {
			continue
		}
		st := types.SummaryStatusOk
		if inst.State.Name != types.InstanceStateNameRunning {
			st = types.SummaryStatusNotApplicable
		}
		out.InstanceStatuses = append(out.InstanceStatuses, types.InstanceStatus{
			InstanceId: inst.InstanceId, AvailabilityZone: inst.Placement.AvailabilityZone, InstanceState: inst.State,
			InstanceStatus: &types.InstanceStatusSummary{Status: st, Details: []types.InstanceStatusDetails{{Name: types.StatusNameReachability, Status: types.StatusTypePassed}}},
			SystemStatus:   &types.InstanceStatusSummary{Status: st, Details: []types.InstanceStatusDetails{{Name: types.StatusNameReachability, Status: types.StatusTypePassed}}},
		})
	}
	return out, nil
}

func change(inst *instance, prev *types.InstanceState) types.InstanceStateChange {
	cur := *inst.State
	return types.InstanceStateChange{InstanceId: inst.InstanceId, PreviousState: prev, CurrentState: &cur}
}

// instancesIn is instances(ids), refused with IncorrectInstanceState
// (msg, with the instance id) unless every one is in one of the states
// allowed. e.mu is held.
func (e *EC2) instancesIn(ids []string, msg string, allowed ...types.InstanceStateName) ([]*instance, error) {
	insts, err := e.instances(ids)
	if err != nil {
		return nil, err
	}
	for _, inst := range insts {
		if !slices.Contains(allowed, inst.State.Name) {
			return nil, core.Errorf("IncorrectInstanceState", msg, *inst.InstanceId)
		}
	}
	return insts, nil
}

func (e *EC2) stopInstances(ctx context.Context, _ *core.Request, in *ec2.StopInstancesInput) (*ec2.StopInstancesOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	insts, err := e.instancesIn(in.InstanceIds, "This instance '%s' is not in a state from which it can be stopped.",
		types.InstanceStateNameRunning, types.InstanceStateNameStopped, types.InstanceStateNameStopping)
	if err != nil {
		return nil, err
	}
	out := &ec2.StopInstancesOutput{}
	for _, inst := range insts {
		prev := *inst.State
		if inst.State.Name == types.InstanceStateNameRunning {
			setState(&inst.Instance, types.InstanceStateNameStopping)
			inst.StateTransitionReason = strPtr(fmt.Sprintf("User initiated (%s)", time.Now().UTC().Format("2006-01-02 15:04:05 MST")))
			e.background(ctx, inst, "stop instance", func(ctx context.Context, cid string) error { return e.rt.Stop(ctx, cid) },
				types.InstanceStateNameStopping, types.InstanceStateNameStopped)
		}
		out.StoppingInstances = append(out.StoppingInstances, change(inst, &prev))
	}
	e.save()
	return out, nil
}

func (e *EC2) startInstances(ctx context.Context, _ *core.Request, in *ec2.StartInstancesInput) (*ec2.StartInstancesOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	insts, err := e.instancesIn(in.InstanceIds, "The instance '%s' is not in a state from which it can be started.",
		types.InstanceStateNameStopped, types.InstanceStateNameRunning, types.InstanceStateNamePending)
	if err != nil {
		return nil, err
	}
	out := &ec2.StartInstancesOutput{}
	for _, inst := range insts {
		prev := *inst.State
		if inst.State.Name == types.InstanceStateNameStopped {
			setState(&inst.Instance, types.InstanceStateNamePending)
			e.background(ctx, inst, "start instance", func(ctx context.Context, cid string) error {
				m, err := e.rt.Start(ctx, cid)
				if err == nil {
					e.mu.Lock()
					e.setAddress(inst, m.PrivateIP)
					e.mu.Unlock()
				}
				return err
			}, types.InstanceStateNamePending, types.InstanceStateNameRunning)
		}
		out.StartingInstances = append(out.StartingInstances, change(inst, &prev))
	}
	e.save()
	return out, nil
}

func (e *EC2) rebootInstances(ctx context.Context, _ *core.Request, in *ec2.RebootInstancesInput) (*ec2.RebootInstancesOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	insts, err := e.instances(in.InstanceIds)
	if err != nil {
		return nil, err
	}
	for _, inst := range insts {
		if inst.State.Name != types.InstanceStateNameRunning {
			continue
		}
		e.background(ctx, inst, "reboot instance", func(ctx context.Context, cid string) error {
			if err := e.rt.Stop(ctx, cid); err != nil {
				return err
			}
			_, err := e.rt.Start(ctx, cid)
			return err
		}, types.InstanceStateNameRunning, types.InstanceStateNameRunning)
	}
	return &ec2.RebootInstancesOutput{}, nil
}

func (e *EC2) terminateInstances(ctx context.Context, _ *core.Request, in *ec2.TerminateInstancesInput) (*ec2.TerminateInstancesOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	insts, err := e.instances(in.InstanceIds)
	if err != nil {
		return nil, err
	}
	for _, inst := range insts {
		if inst.NoTerminate {
			return nil, core.Errorf("OperationNotPermitted", "The instance '%s' may not be terminated. Modify its 'disableApiTermination' instance attribute and try again.", *inst.InstanceId)
		}
	}
	out := &ec2.TerminateInstancesOutput{}
	for _, inst := range insts {
		prev := *inst.State
		e.terminateLocked(ctx, inst)
		out.TerminatingInstances = append(out.TerminatingInstances, change(inst, &prev))
	}
	e.save()
	return out, nil
}

// terminateLocked moves inst to shutting-down and removes its machine in
// the background; call with e.mu held.
func (e *EC2) terminateLocked(ctx context.Context, inst *instance) {
	switch inst.State.Name {
	case types.InstanceStateNameTerminated, types.InstanceStateNameShuttingDown:
		return
	}
	setState(&inst.Instance, types.InstanceStateNameShuttingDown)
	inst.StateTransitionReason = strPtr(fmt.Sprintf("User initiated (%s)", time.Now().UTC().Format("2006-01-02 15:04:05 MST")))
	e.background(ctx, inst, "terminate instance", func(ctx context.Context, cid string) error { return e.rt.Remove(ctx, cid) },
		types.InstanceStateNameShuttingDown, types.InstanceStateNameTerminated)
}

// background runs fn on the instance's machine after the work queued
// before it, then moves the instance from state from to state to (if it
// is still in from). A failure is logged and leaves the state alone.
func (e *EC2) background(ctx context.Context, inst *instance, what string, fn func(ctx context.Context, cid string) error, from, to types.InstanceStateName) {
	id := *inst.InstanceId
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer e.lockInstance(id)()
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		e.mu.Lock()
		cid := inst.ContainerID
		e.mu.Unlock()
		var err error
		if cid != "" {
			err = fn(bctx, cid)
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if err != nil {
			e.log.Error(what, "instance", id, "err", err)
			return
		}
		if to == types.InstanceStateNameTerminated {
			inst.ContainerID = ""
			e.releaseVolumes(inst)
			e.srv.Faults().SetUnhealthy(id, false)
		}
		if inst.State.Name == from {
			setState(&inst.Instance, to)
		}
		e.save()
	}()
}

func (e *EC2) getConsoleOutput(ctx context.Context, _ *core.Request, in *ec2.GetConsoleOutputInput) (*ec2.GetConsoleOutputOutput, error) {
	e.mu.Lock()
	inst, err := e.instance(deref(in.InstanceId))
	cid := ""
	if inst != nil {
		cid = inst.ContainerID
	}
	e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	out := &ec2.GetConsoleOutputOutput{InstanceId: in.InstanceId, Timestamp: timePtr(time.Now())}
	if cid == "" {
		return out, nil
	}
	text, err := e.rt.Console(ctx, cid)
	if err != nil {
		return nil, err
	}
	if deref(in.Latest) && len(text) > 64<<10 {
		text = text[len(text)-64<<10:]
	}
	out.Output = strPtr(base64.StdEncoding.EncodeToString([]byte(text)))
	return out, nil
}
