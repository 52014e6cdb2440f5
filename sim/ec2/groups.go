package ec2

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/bakehq/bake/sim/core"
)

// groupByName finds a group of the default VPC by name; call with e.mu held.
func (e *EC2) groupByName(name string) *types.SecurityGroup {
	for _, g := range e.st.Groups {
		if deref(g.GroupName) == name {
			return g
		}
	}
	return nil
}

// group finds a group by id or name; call with e.mu held.
func (e *EC2) group(id, name *string) (*types.SecurityGroup, error) {
	if id != nil {
		g, ok := e.st.Groups[*id]
		if !ok {
			return nil, core.Errorf("InvalidGroup.NotFound", "The security group '%s' does not exist", *id)
		}
		return g, nil
	}
	if name != nil {
		g := e.groupByName(*name)
		if g == nil {
			return nil, core.Errorf("InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC '%s'", *name, deref(e.st.VPC.VpcId))
		}
		return g, nil
	}
	return nil, core.Missing("The request must contain the parameter GroupId or GroupName")
}

func (e *EC2) createSecurityGroup(_ context.Context, _ *core.Request, in *ec2.CreateSecurityGroupInput) (*ec2.CreateSecurityGroupOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	vpc := deref(e.st.VPC.VpcId)
	if in.VpcId != nil && *in.VpcId != vpc {
		return nil, core.Errorf("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", *in.VpcId)
	}
	if e.groupByName(deref(in.GroupName)) != nil {
		return nil, core.Errorf("InvalidGroup.Duplicate", "The security group '%s' already exists for VPC '%s'", *in.GroupName, vpc)
	}
	id := core.NewID("sg")
	e.st.Groups[id] = &types.SecurityGroup{
		GroupId: &id, GroupName: in.GroupName, Description: in.Description, VpcId: &vpc, OwnerId: &e.account,
		SecurityGroupArn:    strPtr(fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/%s", e.region, e.account, id)),
		IpPermissionsEgress: []types.IpPermission{{IpProtocol: strPtr("-1"), IpRanges: []types.IpRange{{CidrIp: strPtr("0.0.0.0/0")}}}},
	}
	e.tagsFor(id, types.ResourceTypeSecurityGroup, in.TagSpecifications)
	e.save()
	return &ec2.CreateSecurityGroupOutput{GroupId: &id, SecurityGroupArn: e.st.Groups[id].SecurityGroupArn, Tags: tagList(e.st.Tags[id])}, nil
}

// permissions are the rules of an Authorize/Revoke call, from IpPermissions
// or the older flat parameters.
func permissions(perms []types.IpPermission, proto, cidr *string, from, to *int32) []types.IpPermission {
	if len(perms) > 0 {
		return perms
	}
	if proto == nil && cidr == nil {
		return nil
	}
	p := types.IpPermission{IpProtocol: proto, FromPort: from, ToPort: to}
	if cidr != nil {
		p.IpRanges = []types.IpRange{{CidrIp: cidr}}
	}
	return []types.IpPermission{p}
}

func (e *EC2) authorizeSecurityGroupIngress(_ context.Context, _ *core.Request, in *ec2.AuthorizeSecurityGroupIngressInput) (*ec2.AuthorizeSecurityGroupIngressOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	g, err := e.group(in.GroupId, in.GroupName)
	if err != nil {
		return nil, err
	}
	perms := permissions(in.IpPermissions, in.IpProtocol, in.CidrIp, in.FromPort, in.ToPort)
	if len(perms) == 0 {
		return nil, core.Missing("The request must contain the parameter ipPermissions")
	}
	out := &ec2.AuthorizeSecurityGroupIngressOutput{Return: boolPtr(true)}
	for _, p := range perms {
		if p.IpProtocol == nil {
			return nil, core.Missing("The request must contain the parameter ipProtocol")
		}
		for _, have := range g.IpPermissions {
			if reflect.DeepEqual(have, p) {
				return nil, core.Errorf("InvalidPermission.Duplicate", "the specified rule \"peer: %s, %s, from port: %d, to port: %d, ALLOW\" already exists",
					firstCIDR(p), deref(p.IpProtocol), deref(p.FromPort), deref(p.ToPort))
			}
		}
	}
	for _, p := range perms {
		g.IpPermissions = append(g.IpPermissions, p)
		for _, r := range p.IpRanges {
			rid := core.NewID("sgr")
			out.SecurityGroupRules = append(out.SecurityGroupRules, types.SecurityGroupRule{
				SecurityGroupRuleId: &rid, GroupId: g.GroupId, GroupOwnerId: &e.account, IsEgress: boolPtr(false),
				IpProtocol: p.IpProtocol, FromPort: p.FromPort, ToPort: p.ToPort, CidrIpv4: r.CidrIp,
			})
		}
	}
	e.save()
	return out, nil
}

func firstCIDR(p types.IpPermission) string {
	if len(p.IpRanges) > 0 {
		return deref(p.IpRanges[0].CidrIp)
	}
	return ""
}

func (e *EC2) revokeSecurityGroupIngress(_ context.Context, _ *core.Request, in *ec2.RevokeSecurityGroupIngressInput) (*ec2.RevokeSecurityGroupIngressOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	g, err := e.group(in.GroupId, in.GroupName)
	if err != nil {
		return nil, err
	}
	perms := permissions(in.IpPermissions, in.IpProtocol, in.CidrIp, in.FromPort, in.ToPort)
	for _, p := range perms {
		found := false
		for i, have := range g.IpPermissions {
			if reflect.DeepEqual(have, p) {
				g.IpPermissions = append(g.IpPermissions[:i], g.IpPermissions[i+1:]...)
				found = true
				break
			}
		}
		if !found {
			return nil, core.Errorf("InvalidPermission.NotFound", "The specified rule does not exist in this security group.")
		}
	}
	e.save()
	return &ec2.RevokeSecurityGroupIngressOutput{Return: boolPtr(true)}, nil
}

func (e *EC2) deleteSecurityGroup(_ context.Context, _ *core.Request, in *ec2.DeleteSecurityGroupInput) (*ec2.DeleteSecurityGroupOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	g, err := e.group(in.GroupId, in.GroupName)
	if err != nil {
		return nil, err
	}
	if deref(g.GroupName) == "default" {
		return nil, core.Errorf("CannotDelete", "the specified group: \"%s\" name: \"default\" cannot be deleted by a user", *g.GroupId)
	}
	for _, inst := range e.st.Instances {
		if inst.State.Name == types.InstanceStateNameTerminated {
			continue
		}
		for _, gi := range inst.SecurityGroups {
			if deref(gi.GroupId) == *g.GroupId {
				return nil, core.Errorf("DependencyViolation", "resource %s has a dependent object", *g.GroupId)
			}
		}
	}
	delete(e.st.Groups, *g.GroupId)
	delete(e.st.Tags, *g.GroupId)
	e.save()
	return &ec2.DeleteSecurityGroupOutput{Return: boolPtr(true), GroupId: g.GroupId}, nil
}

func (e *EC2) describeSecurityGroups(_ context.Context, _ *core.Request, in *ec2.DescribeSecurityGroupsInput) (*ec2.DescribeSecurityGroupsOutput, error) {
	fs := filterSet(in.Filters)
	if err := fs.known("group-id", "group-name", "vpc-id", "description", "owner-id"); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, id := range in.GroupIds {
		if _, ok := e.st.Groups[id]; !ok {
			return nil, core.Errorf("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
		}
	}
	for _, n := range in.GroupNames {
		if e.groupByName(n) == nil {
			return nil, core.Errorf("InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC '%s'", n, deref(e.st.VPC.VpcId))
		}
	}
	out := &ec2.DescribeSecurityGroupsOutput{SecurityGroups: []types.SecurityGroup{}}
	for _, id := range slices.Sorted(maps.Keys(e.st.Groups)) {
		g := e.st.Groups[id]
		if len(in.GroupIds) > 0 && !contains(in.GroupIds, id) || len(in.GroupNames) > 0 && !contains(in.GroupNames, deref(g.GroupName)) {
			continue
		}
		tags := e.st.Tags[id]
		if !fs.match(func(n string) []string {
			if vals, ok := tagValues(tags, n); ok {
				return vals
			}
			return map[string][]string{"group-id": {id}, "group-name": {deref(g.GroupName)}, "vpc-id": {deref(g.VpcId)},
				"description": {deref(g.Description)}, "owner-id": {e.account}}[n]
		}) {
			continue
		}
		x := *g
		x.Tags = tagList(tags)
		out.SecurityGroups = append(out.SecurityGroups, x)
	}
	return out, nil
}
