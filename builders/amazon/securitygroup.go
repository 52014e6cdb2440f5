package amazon

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	awscommon "github.com/hashicorp/packer-plugin-amazon/builder/common"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/internal/awserr"
)

// createSecurityGroup makes a temporary security group that admits SSH
// from temporary_security_group_source_cidrs, by default only from the
// address this machine reaches EC2 from (never 0.0.0.0/0). With
// security_group_ids set it makes none.
func createSecurityGroup(ctx context.Context, s *state) error {
	c := s.cfg
	if err := findNetwork(ctx, s); err != nil {
		return err
	}
	if len(s.groupIDs) > 0 {
		s.log.Info("using security groups " + strings.Join(s.groupIDs, ", "))
		return nil
	}
	cidrs := c.SourceCIDRs
	if len(cidrs) == 0 && c.pc != nil && c.pc.TemporarySGSourcePublicIp {
		// Packer asks checkip.amazonaws.com for this machine's public address.
		ip, err := awscommon.CheckPublicIp()
		if err != nil {
			return fmt.Errorf("temporary_security_group_source_public_ip: find this machine's public address: %w", err)
		}
		cidrs = []string{ip.String() + "/32"}
	}
	if len(cidrs) == 0 {
		cidr, err := callerCIDR(ctx, s.cl.endpointHost())
		if err != nil {
			return err
		}
		cidrs = []string{cidr}
	}
	s.cidrs = cidrs
	name := s.resourceName()
	in := &ec2.CreateSecurityGroupInput{
		GroupName:         aws.String(name),
		Description:       aws.String("bake: temporary SSH access for bake " + s.bakeID + " of source " + c.name),
		TagSpecifications: []types.TagSpecification{tagSpec(types.ResourceTypeSecurityGroup, s.runTags())},
	}
	vpc, err := vpcOf(ctx, s)
	if err != nil {
		return err
	}
	in.VpcId = nilIfEmpty(vpc)
	out, err := s.api.CreateSecurityGroup(ctx, in)
	if err != nil {
		return fmt.Errorf("create security group %s: %w", name, err)
	}
	s.groupID = aws.ToString(out.GroupId)
	perm := sshPermission(c.SSHPort, cidrs)
	if _, err := s.api.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: out.GroupId, IpPermissions: []types.IpPermission{perm},
	}); err != nil {
		return fmt.Errorf("let ssh into security group %s: %w", s.groupID, err)
	}
	s.log.Info(fmt.Sprintf("security group %s admits tcp/%d from %s only (temporary_security_group_source_cidrs to change)",
		s.groupID, c.SSHPort, strings.Join(cidrs, ", ")))
	return nil
}

// deleteSecurityGroup removes the temporary group, and any group of this
// bake whose CreateSecurityGroup answer was lost. EC2 refuses while a
// terminating instance still uses it, so it retries for a while.
func deleteSecurityGroup(ctx context.Context, s *state) error {
	if len(s.groupIDs) > 0 && s.groupID == "" {
		return nil // the user's groups
	}
	ids := map[string]bool{}
	if s.groupID != "" {
		ids[s.groupID] = true
	}
	out, err := s.api.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: s.runFilters()})
	if err != nil {
		return fmt.Errorf("find this bake's security groups: %w", err)
	}
	for _, g := range out.SecurityGroups {
		ids[aws.ToString(g.GroupId)] = true
	}
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		err := poll(ctx, s.log, "security group "+id+" deleted", time.Minute, func(ctx context.Context) (bool, string, error) {
			_, err := s.api.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)})
			switch {
			case err == nil || awserr.NotFound(err):
				return true, "", nil
			case awserr.Code(err) == "DependencyViolation":
				return false, "in use", nil
			}
			return false, "", err
		})
		if err != nil {
			return fmt.Errorf("delete security group %s: %w", id, err)
		}
		s.log.Info("security group " + id + " deleted")
	}
	s.groupID = ""
	return nil
}

// sshPermission admits tcp/port from cidrs, and from nowhere else.
func sshPermission(port int, cidrs []string) types.IpPermission {
	perm := types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(int32(port)), ToPort: aws.Int32(int32(port))}
	for _, cidr := range cidrs {
		r := aws.String(cidr)
		if strings.Contains(cidr, ":") {
			perm.Ipv6Ranges = append(perm.Ipv6Ranges, types.Ipv6Range{CidrIpv6: r, Description: aws.String("bake build")})
		} else {
			perm.IpRanges = append(perm.IpRanges, types.IpRange{CidrIp: r, Description: aws.String("bake build")})
		}
	}
	return perm
}

// vpcOf is the VPC the temporary group belongs in: vpc_id, else the VPC
// of subnet_id, else "" (the default VPC).
func vpcOf(ctx context.Context, s *state) (string, error) {
	c := s.cfg
	if s.vpcID != "" || s.subnetID == "" {
		return s.vpcID, nil
	}
	out, err := s.api.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{s.subnetID}})
	if awserr.NotFound(err) || err == nil && len(out.Subnets) == 0 {
		return "", bake.BadInputf("source %q: subnet_id %s does not exist in %s", c.name, s.subnetID, s.cl.region())
	}
	if err != nil {
		return "", fmt.Errorf("find the vpc of subnet_id %s: %w", s.subnetID, err)
	}
	return aws.ToString(out.Subnets[0].VpcId), nil
}
