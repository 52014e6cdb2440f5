package elbv2

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/bakehq/bake/sim/core"
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$`)

// checkName applies ELBv2's naming rule for load balancers and target
// groups: up to 32 letters, digits and hyphens, no hyphen at either end.
func checkName(kind, name string) error {
	switch {
	case len(name) > 32:
		return core.Invalid("%s name '%s' cannot be longer than '32' characters", kind, name)
	case !nameRE.MatchString(name):
		return core.Invalid("%s name '%s' can only contain characters that are alphanumeric characters or hyphens(-) and cannot begin or end with a hyphen", kind, name)
	}
	return nil
}

func defaultLBAttrs() map[string]string {
	return map[string]string{
		"access_logs.s3.enabled":                                   "false",
		"deletion_protection.enabled":                              "false",
		"idle_timeout.timeout_seconds":                             "60",
		"routing.http.drop_invalid_header_fields.enabled":          "false",
		"routing.http2.enabled":                                    "true",
		"load_balancing.cross_zone.enabled":                        "true",
		"routing.http.x_amzn_tls_version_and_cipher_suite.enabled": "false",
	}
}

func (e *ELBv2) createLoadBalancer(_ context.Context, _ *core.Request, in *elb.CreateLoadBalancerInput) (*elb.CreateLoadBalancerOutput, error) {
	name := aws.ToString(in.Name)
	if err := checkName("Load balancer", name); err != nil {
		return nil, err
	}
	if strings.HasPrefix(strings.ToLower(name), "internal-") {
		return nil, core.Invalid("Load balancer name '%s' cannot begin with 'internal-'", name)
	}
	if in.Type != "" && in.Type != types.LoadBalancerTypeEnumApplication {
		return nil, core.Errorf("InvalidConfigurationRequest", "bake sim serves application load balancers only, not '%s'", in.Type)
	}
	scheme := in.Scheme
	if scheme == "" {
		scheme = types.LoadBalancerSchemeEnumInternetFacing
	}
	if scheme != types.LoadBalancerSchemeEnumInternetFacing && scheme != types.LoadBalancerSchemeEnumInternal {
		return nil, core.Invalid("Scheme '%s' must be one of internet-facing, internal", scheme)
	}
	subnets := append([]string{}, in.Subnets...)
	for _, m := range in.SubnetMappings {
		subnets = append(subnets, aws.ToString(m.SubnetId))
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	for _, lb := range e.lbs {
		if aws.ToString(lb.LB.LoadBalancerName) == name {
			// ELBv2 answers an identical create with the existing load balancer
			return &elb.CreateLoadBalancerOutput{LoadBalancers: []types.LoadBalancer{lb.LB}}, nil
		}
	}
	azs, vpc, err := e.placement(subnets)
	if err != nil {
		return nil, err
	}
	ip, err := e.cfg.Server.Loopback().Next()
	if err != nil {
		return nil, fmt.Errorf("create load balancer %s: %w", name, err)
	}
	id := core.NewHex(16)
	dnsName := fmt.Sprintf("%s-%d.%s.elb.amazonaws.com", name, 1000000000+rand.IntN(999999999), e.region)
	if scheme == types.LoadBalancerSchemeEnumInternal {
		dnsName = "internal-" + dnsName
	}
	lb := &loadBalancer{
		LB: types.LoadBalancer{
			LoadBalancerArn:       aws.String(e.arn("loadbalancer/app/" + name + "/" + id)),
			LoadBalancerName:      aws.String(name),
			DNSName:               aws.String(dnsName),
			CanonicalHostedZoneId: aws.String(canonicalZone),
			CreatedTime:           now(),
			Scheme:                scheme,
			Type:                  types.LoadBalancerTypeEnumApplication,
			VpcId:                 aws.String(vpc),
			State:                 &types.LoadBalancerState{Code: types.LoadBalancerStateEnumActive},
			AvailabilityZones:     azs,
			SecurityGroups:        in.SecurityGroups,
			IpAddressType:         types.IpAddressTypeIpv4,
		},
		IP:    ip.String(),
		Attrs: defaultLBAttrs(),
	}
	arn := aws.ToString(lb.LB.LoadBalancerArn)
	e.lbs[arn] = lb
	if len(in.Tags) > 0 {
		e.tags[arn] = mergeTags(nil, in.Tags)
	}
	e.setHost(lb)
	e.save()
	created := lb.LB
	created.State = &types.LoadBalancerState{Code: types.LoadBalancerStateEnumProvisioning}
	return &elb.CreateLoadBalancerOutput{LoadBalancers: []types.LoadBalancer{created}}, nil
}

// placement checks an ALB's subnets: at least two, in two AZs, one VPC.
func (e *ELBv2) placement(subnets []string) ([]types.AvailabilityZone, string, error) {
	if len(subnets) == 0 {
		return nil, "", core.Invalid("At least one subnet must be specified; an application load balancer needs subnets in two Availability Zones")
	}
	var azs []types.AvailabilityZone
	seen := map[string]bool{}
	vpc := ""
	for i, sn := range subnets {
		az, v := fmt.Sprintf("%s%c", e.region, 'a'+i%6), "vpc-sim"
		if e.cfg.Subnets != nil {
			var ok bool
			if az, v, ok = e.cfg.Subnets.Subnet(sn); !ok {
				return nil, "", core.Errorf("SubnetNotFound", "The subnet ID '%s' is not valid", sn)
			}
		}
		if vpc != "" && v != vpc {
			return nil, "", core.Errorf("InvalidSubnet", "The subnets '%s' are not in the same VPC", strings.Join(subnets, ", "))
		}
		vpc = v
		if seen[az] {
			return nil, "", core.Errorf("InvalidConfigurationRequest", "A load balancer cannot be attached to multiple subnets in the same Availability Zone")
		}
		seen[az] = true
		azs = append(azs, types.AvailabilityZone{SubnetId: aws.String(sn), ZoneName: aws.String(az),
			LoadBalancerAddresses: []types.LoadBalancerAddress{}})
	}
	if len(azs) < 2 {
		return nil, "", core.Invalid("At least two subnets in two different Availability Zones must be specified")
	}
	return azs, vpc, nil
}

func (e *ELBv2) describeLoadBalancers(_ context.Context, _ *core.Request, in *elb.DescribeLoadBalancersInput) (*elb.DescribeLoadBalancersOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(in.LoadBalancerArns) > 0 && len(in.Names) > 0 {
		return nil, core.Invalid("Load balancer names and load balancer ARNs cannot be specified at the same time")
	}
	out := &elb.DescribeLoadBalancersOutput{LoadBalancers: []types.LoadBalancer{}}
	switch {
	case len(in.LoadBalancerArns) > 0:
		for _, arn := range in.LoadBalancerArns {
			lb := e.lbs[arn]
			if lb == nil {
				return nil, errLBNotFound()
			}
			out.LoadBalancers = append(out.LoadBalancers, lb.LB)
		}
	case len(in.Names) > 0:
		for _, n := range in.Names {
			lb := e.lbByName(n)
			if lb == nil {
				return nil, core.Errorf("LoadBalancerNotFound", "Load balancers '[%s]' not found", n)
			}
			out.LoadBalancers = append(out.LoadBalancers, lb.LB)
		}
	default:
		for _, arn := range slices.Sorted(maps.Keys(e.lbs)) {
			out.LoadBalancers = append(out.LoadBalancers, e.lbs[arn].LB)
		}
	}
	return out, nil
}

func (e *ELBv2) lbByName(name string) *loadBalancer {
	for _, lb := range e.lbs {
		if aws.ToString(lb.LB.LoadBalancerName) == name {
			return lb
		}
	}
	return nil
}

func (e *ELBv2) deleteLoadBalancer(ctx context.Context, _ *core.Request, in *elb.DeleteLoadBalancerInput) (*elb.DeleteLoadBalancerOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	arn := aws.ToString(in.LoadBalancerArn)
	lb := e.lbs[arn]
	if lb == nil {
		return nil, errLBNotFound()
	}
	if lb.Attrs["deletion_protection.enabled"] == "true" {
		return nil, core.Errorf("OperationNotPermitted", "Load balancer '%s' cannot be deleted because deletion protection is enabled", arn)
	}
	for larn, l := range e.listeners {
		if aws.ToString(l.L.LoadBalancerArn) == arn {
			if err := e.stopListener(ctx, l); err != nil {
				e.log.Warn("stop a listener of a deleted load balancer", "listener", larn, "err", err)
			}
			delete(e.listeners, larn)
			delete(e.tags, larn)
			e.dropRules(larn)
		}
	}
	delete(e.lbs, arn)
	delete(e.tags, arn)
	if e.cfg.DNS != nil {
		e.cfg.DNS.SetHost(aws.ToString(lb.LB.DNSName))
	}
	e.save()
	return &elb.DeleteLoadBalancerOutput{}, nil
}

func (e *ELBv2) describeLoadBalancerAttributes(_ context.Context, _ *core.Request, in *elb.DescribeLoadBalancerAttributesInput) (*elb.DescribeLoadBalancerAttributesOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	lb := e.lbs[aws.ToString(in.LoadBalancerArn)]
	if lb == nil {
		return nil, errLBNotFound()
	}
	return &elb.DescribeLoadBalancerAttributesOutput{Attributes: lbAttrs(lb.Attrs)}, nil
}

func (e *ELBv2) modifyLoadBalancerAttributes(_ context.Context, _ *core.Request, in *elb.ModifyLoadBalancerAttributesInput) (*elb.ModifyLoadBalancerAttributesOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	lb := e.lbs[aws.ToString(in.LoadBalancerArn)]
	if lb == nil {
		return nil, errLBNotFound()
	}
	for _, a := range in.Attributes {
		k := aws.ToString(a.Key)
		if _, ok := defaultLBAttrs()[k]; !ok {
			return nil, core.Invalid("Load balancer attribute key '%s' is not recognized", k)
		}
	}
	for _, a := range in.Attributes {
		lb.Attrs[aws.ToString(a.Key)] = aws.ToString(a.Value)
	}
	e.save()
	return &elb.ModifyLoadBalancerAttributesOutput{Attributes: lbAttrs(lb.Attrs)}, nil
}

func lbAttrs(m map[string]string) []types.LoadBalancerAttribute {
	return attrList(m, func(k, v string) types.LoadBalancerAttribute {
		return types.LoadBalancerAttribute{Key: aws.String(k), Value: aws.String(v)}
	})
}
