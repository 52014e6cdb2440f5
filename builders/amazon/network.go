package amazon

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/bakehq/bake/bake"
)

// findNetwork resolves vpc_filter, subnet_filter and
// security_group_filter to ids, as Packer's StepNetworkInfo and
// StepSecurityGroup do: a VPC filter must match one VPC; a subnet filter
// one subnet, or the one with most free addresses (most_free) or any
// (random); a security group filter at least one group (all are used).
func findNetwork(ctx context.Context, s *state) error {
	c := s.cfg
	pc := c.pc
	s.vpcID, s.subnetID, s.groupIDs = c.VPCID, c.SubnetID, c.SecurityGroupIDs
	if pc == nil {
		return nil
	}
	s.az = pc.AvailabilityZone
	if s.vpcID == "" && !pc.VpcFilter.Empty() {
		out, err := s.api.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: filters(pc.VpcFilter.Filters)})
		if err != nil {
			return fmt.Errorf("find the vpc of vpc_filter: %w", err)
		}
		if len(out.Vpcs) != 1 {
			return bake.BadInputf("source %q: vpc_filter %s matches %d VPCs in %s: it must match exactly one", c.name, showFilters(pc.VpcFilter.Filters), len(out.Vpcs), s.cl.region())
		}
		s.vpcID = aws.ToString(out.Vpcs[0].VpcId)
		s.log.Info("vpc_filter: using VPC " + s.vpcID)
	}
	if s.subnetID == "" && !pc.SubnetFilter.Empty() {
		f := filters(pc.SubnetFilter.Filters)
		if s.vpcID != "" {
			f = append(f, types.Filter{Name: aws.String("vpc-id"), Values: []string{s.vpcID}})
		}
		if s.az != "" {
			f = append(f, types.Filter{Name: aws.String("availability-zone"), Values: []string{s.az}})
		}
		out, err := s.api.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: f})
		if err != nil {
			return fmt.Errorf("find the subnet of subnet_filter: %w", err)
		}
		subnets := out.Subnets
		switch {
		case len(subnets) == 0:
			return bake.BadInputf("source %q: subnet_filter %s matches no subnet in %s", c.name, showFilters(pc.SubnetFilter.Filters), s.cl.region())
		case len(subnets) > 1 && !pc.SubnetFilter.MostFree && !pc.SubnetFilter.Random:
			return bake.BadInputf("source %q: subnet_filter %s matches %d subnets in %s: narrow it, or set most_free or random = true",
				c.name, showFilters(pc.SubnetFilter.Filters), len(subnets), s.cl.region())
		}
		pick := subnets[0]
		switch {
		case pc.SubnetFilter.MostFree:
			for _, sn := range subnets[1:] {
				if aws.ToInt32(sn.AvailableIpAddressCount) > aws.ToInt32(pick.AvailableIpAddressCount) {
					pick = sn
				}
			}
		case pc.SubnetFilter.Random:
			pick = subnets[rand.IntN(len(subnets))]
		}
		s.subnetID = aws.ToString(pick.SubnetId)
		if s.vpcID == "" {
			s.vpcID = aws.ToString(pick.VpcId)
		}
		if s.az == "" {
			s.az = aws.ToString(pick.AvailabilityZone)
		}
		s.log.Info(fmt.Sprintf("subnet_filter: using subnet %s (VPC %s)", s.subnetID, s.vpcID))
	}
	if len(s.groupIDs) == 0 && !pc.SecurityGroupFilter.Empty() {
		f := filters(pc.SecurityGroupFilter.Filters)
		if s.vpcID != "" {
			f = append(f, types.Filter{Name: aws.String("vpc-id"), Values: []string{s.vpcID}})
		}
		out, err := s.api.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: f})
		if err != nil {
			return fmt.Errorf("find the groups of security_group_filter: %w", err)
		}
		if len(out.SecurityGroups) == 0 {
			return bake.BadInputf("source %q: security_group_filter %s matches no security group in %s", c.name, showFilters(pc.SecurityGroupFilter.Filters), s.cl.region())
		}
		for _, g := range out.SecurityGroups {
			s.groupIDs = append(s.groupIDs, aws.ToString(g.GroupId))
		}
		s.log.Info("security_group_filter: using security groups " + strings.Join(s.groupIDs, ", "))
	}
	return nil
}

func filters(m map[string]string) []types.Filter {
	var out []types.Filter
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, types.Filter{Name: aws.String(k), Values: []string{m[k]}})
	}
	return out
}

func showFilters(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%q", k, m[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
