package ec2

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/bakehq/bake/sim/core"
)

var regions = []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-west-3",
	"eu-central-1", "eu-north-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1",
	"ap-northeast-2", "ap-northeast-3", "ca-central-1", "sa-east-1"}

// zones are the default VPC's availability zones (a, b, c).
func (e *EC2) zones() []string {
	return []string{e.region + "a", e.region + "b", e.region + "c"}
}

func zoneID(region string, i int) string {
	short := ""
	prev := byte('-')
	for j := 0; j < len(region); j++ {
		c := region[j]
		if prev == '-' && c >= 'a' && c <= 'z' {
			short += string(c)
		}
		if c >= '0' && c <= '9' {
			short += string(c)
		}
		prev = c
	}
	if len(short) > 4 {
		short = short[:2] + short[len(short)-2:]
	}
	return short + "-az" + strconv.Itoa(i+1)
}

// seedNetwork makes the default VPC (172.31.0.0/16, as on AWS) and one
// default subnet per zone.
func (e *EC2) seedNetwork() {
	vpcID := core.NewID("vpc")
	e.st.VPC = types.Vpc{
		VpcId: &vpcID, CidrBlock: strPtr("172.31.0.0/16"), IsDefault: boolPtr(true), State: types.VpcStateAvailable,
		OwnerId: &e.account, InstanceTenancy: types.TenancyDefault, DhcpOptionsId: strPtr(core.NewID("dopt")),
		CidrBlockAssociationSet: []types.VpcCidrBlockAssociation{{AssociationId: strPtr(core.NewID("vpc-cidr-assoc")),
			CidrBlock: strPtr("172.31.0.0/16"), CidrBlockState: &types.VpcCidrBlockState{State: types.VpcCidrBlockStateCodeAssociated}}},
	}
	for i, az := range e.zones() {
		id := core.NewID("subnet")
		e.st.Subnets = append(e.st.Subnets, types.Subnet{
			SubnetId: &id, VpcId: &vpcID, AvailabilityZone: strPtr(az), AvailabilityZoneId: strPtr(zoneID(e.region, i)),
			CidrBlock: strPtr(fmt.Sprintf("172.31.%d.0/20", 16*i)), AvailableIpAddressCount: i32Ptr(4091),
			DefaultForAz: boolPtr(true), MapPublicIpOnLaunch: boolPtr(true), State: types.SubnetStateAvailable,
			OwnerId: &e.account, SubnetArn: strPtr(fmt.Sprintf("arn:aws:ec2:%s:%s:subnet/%s", e.region, e.account, id)),
		})
	}
	sg := core.NewID("sg")
	e.st.Groups[sg] = &types.SecurityGroup{
		GroupId: &sg, GroupName: strPtr("default"), Description: strPtr("default VPC security group"),
		VpcId: &vpcID, OwnerId: &e.account,
		IpPermissionsEgress: []types.IpPermission{{IpProtocol: strPtr("-1"), IpRanges: []types.IpRange{{CidrIp: strPtr("0.0.0.0/0")}}}},
	}
}

func (e *EC2) describeRegions(_ context.Context, _ *core.Request, in *ec2.DescribeRegionsInput) (*ec2.DescribeRegionsOutput, error) {
	fs := filterSet(in.Filters)
	if err := fs.known("endpoint", "opt-in-status", "region-name"); err != nil {
		return nil, err
	}
	out := &ec2.DescribeRegionsOutput{}
	for _, r := range regions {
		if len(in.RegionNames) > 0 && !contains(in.RegionNames, r) {
			continue
		}
		ep := "ec2." + r + ".amazonaws.com"
		if !fs.match(func(n string) []string {
			return map[string][]string{"endpoint": {ep}, "region-name": {r}, "opt-in-status": {"opt-in-not-required"}}[n]
		}) {
			continue
		}
		out.Regions = append(out.Regions, types.Region{RegionName: strPtr(r), Endpoint: strPtr(ep), OptInStatus: strPtr("opt-in-not-required")})
	}
	for _, r := range in.RegionNames {
		if !contains(regions, r) {
			return nil, core.Errorf("InvalidParameterValue", "Invalid region: %s", r)
		}
	}
	return out, nil
}

func (e *EC2) describeAvailabilityZones(_ context.Context, _ *core.Request, in *ec2.DescribeAvailabilityZonesInput) (*ec2.DescribeAvailabilityZonesOutput, error) {
	fs := filterSet(in.Filters)
	if err := fs.known("zone-name", "zone-id", "state", "region-name", "zone-type", "group-name", "opt-in-status"); err != nil {
		return nil, err
	}
	out := &ec2.DescribeAvailabilityZonesOutput{}
	for i, z := range e.zones() {
		id := zoneID(e.region, i)
		if len(in.ZoneNames) > 0 && !contains(in.ZoneNames, z) || len(in.ZoneIds) > 0 && !contains(in.ZoneIds, id) {
			continue
		}
		if !fs.match(func(n string) []string {
			return map[string][]string{"zone-name": {z}, "zone-id": {id}, "state": {"available"}, "region-name": {e.region},
				"zone-type": {"availability-zone"}, "group-name": {e.region}, "opt-in-status": {"opt-in-not-required"}}[n]
		}) {
			continue
		}
		out.AvailabilityZones = append(out.AvailabilityZones, types.AvailabilityZone{
			ZoneName: strPtr(z), ZoneId: strPtr(id), RegionName: strPtr(e.region), State: types.AvailabilityZoneStateAvailable,
			ZoneType: strPtr("availability-zone"), GroupName: strPtr(e.region), NetworkBorderGroup: strPtr(e.region),
			OptInStatus: types.AvailabilityZoneOptInStatusOptInNotRequired,
		})
	}
	for _, z := range in.ZoneNames {
		if !contains(e.zones(), z) {
			return nil, core.Errorf("InvalidParameterValue", "The zone '%s' does not exist.", z)
		}
	}
	return out, nil
}

func (e *EC2) describeVpcs(_ context.Context, _ *core.Request, in *ec2.DescribeVpcsInput) (*ec2.DescribeVpcsOutput, error) {
	fs := filterSet(in.Filters)
	if err := fs.known("vpc-id", "is-default", "cidr", "cidr-block-association.cidr-block", "state", "owner-id"); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	v := e.st.VPC
	for _, id := range in.VpcIds {
		if id != *v.VpcId {
			return nil, core.Errorf("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", id)
		}
	}
	v.Tags = tagList(e.st.Tags[*v.VpcId])
	tags := e.st.Tags[*v.VpcId]
	ok := fs.match(func(n string) []string {
		if vals, ok := tagValues(tags, n); ok {
			return vals
		}
		return map[string][]string{"vpc-id": {*v.VpcId}, "is-default": {"true"}, "cidr": {*v.CidrBlock},
			"cidr-block-association.cidr-block": {*v.CidrBlock}, "state": {"available"}, "owner-id": {e.account}}[n]
	})
	out := &ec2.DescribeVpcsOutput{}
	if ok {
		out.Vpcs = []types.Vpc{v}
	}
	return out, nil
}

func (e *EC2) describeSubnets(_ context.Context, _ *core.Request, in *ec2.DescribeSubnetsInput) (*ec2.DescribeSubnetsOutput, error) {
	fs := filterSet(in.Filters)
	if err := fs.known("subnet-id", "vpc-id", "availability-zone", "availability-zone-id", "default-for-az", "defaultForAz", "state", "cidr-block", "owner-id"); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, id := range in.SubnetIds {
		if _, ok := e.subnet(id); !ok {
			return nil, core.Errorf("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", id)
		}
	}
	out := &ec2.DescribeSubnetsOutput{}
	for _, s := range e.st.Subnets {
		if len(in.SubnetIds) > 0 && !contains(in.SubnetIds, *s.SubnetId) {
			continue
		}
		tags := e.st.Tags[*s.SubnetId]
		if !fs.match(func(n string) []string {
			if vals, ok := tagValues(tags, n); ok {
				return vals
			}
			return map[string][]string{"subnet-id": {*s.SubnetId}, "vpc-id": {*s.VpcId}, "availability-zone": {*s.AvailabilityZone},
				"availability-zone-id": {*s.AvailabilityZoneId}, "default-for-az": {"true"}, "defaultForAz": {"true"},
				"state": {"available"}, "cidr-block": {*s.CidrBlock}, "owner-id": {e.account}}[n]
		}) {
			continue
		}
		s.Tags = tagList(tags)
		out.Subnets = append(out.Subnets, s)
	}
	return out, nil
}

// subnet finds a subnet; call with e.mu held.
func (e *EC2) subnet(id string) (types.Subnet, bool) {
	for _, s := range e.st.Subnets {
		if *s.SubnetId == id {
			return s, true
		}
	}
	return types.Subnet{}, false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
