package roll

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/internal/awserr"
)

// router moves traffic between the two slots. Set is one API call, so a
// switch is atomic: requests in flight finish where they started.
type router interface {
	// Weights is each slot's share of the traffic in percent.
	Weights(ctx context.Context) (map[string]int, error)
	// Set gives slot `to` pct percent and the other slot the rest.
	Set(ctx context.Context, weights map[string]int) error
	// Check says, before anything changes, whether the traffic layer
	// exists and belongs to the service.
	Check(ctx context.Context) error
	// Allow says whether the router can move traffic the way strategy
	// does: nil, or a bad-input error saying what to use instead.
	Allow(strategy string) error
	// CreateIn is the target groups a new group of the slot whose target
	// group is tg starts in: tg, or none when the router attaches a group
	// only as it gives it traffic.
	CreateIn(tg string) []string
	// Linger is how long clients may still reach a side after Set took
	// its traffic away (a DNS record's TTL); 0 when Set takes effect at
	// once.
	Linger() time.Duration
	String() string
}

func newRouter(s *Service, c Clients, log bake.Log) router {
	if s.Traffic.Route53 != nil {
		return &dnsRouter{api: c.DNS, t: *s.Traffic.Route53}
	}
	if tg := s.Traffic.TargetGroup; tg != "" {
		return &groupRouter{groups: c.Groups, lbs: c.LoadBalancers, tg: tg, service: s.Name,
			wait: s.Health.WaitTimeout, every: s.Health.Interval, log: log}
	}
	sl := s.slots()
	if r := s.Traffic.ListenerRule; r != "" {
		api, _ := c.LoadBalancers.(RuleAPI)
		return &ruleRouter{api: api, lbs: c.LoadBalancers, arn: r, slots: sl, service: s.Name}
	}
	return &listenerRouter{api: c.LoadBalancers, arn: s.Traffic.Listener, slots: sl, service: s.Name}
}

// needsRoute53 is a weighted load balancer router's answer to strategy
// route53.
func needsRoute53(strategy, service string) error {
	if strategy == Route53 {
		return bake.BadInputf("strategy route53 needs a traffic { route53 { ... } } block in service %s", service)
	}
	return nil
}

// listenerRouter is an ALB listener whose default action forwards to the
// two slots' target groups by weight. Both groups stay in the action
// (weight 0 for the idle one) so the load balancer health-checks green
// before it takes traffic, and blue after it stops.
type listenerRouter struct {
	api     LoadBalancerAPI
	arn     string
	slots   [2]slot
	service string
}

func (l *listenerRouter) String() string { return "listener " + l.arn }

func (l *listenerRouter) Allow(strategy string) error { return needsRoute53(strategy, l.service) }
func (l *listenerRouter) CreateIn(tg string) []string { return []string{tg} }
func (l *listenerRouter) Linger() time.Duration       { return 0 }

func (l *listenerRouter) listener(ctx context.Context) (elbtypes.Listener, error) {
	out, err := l.api.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{l.arn}})
	if err != nil {
		if awserr.Code(err) == "ListenerNotFound" {
			return elbtypes.Listener{}, bake.BadInputf("listener %s does not exist: check traffic.listener in the service file", l.arn)
		}
		return elbtypes.Listener{}, fmt.Errorf("describe listener %s: %w", l.arn, err)
	}
	if len(out.Listeners) != 1 {
		return elbtypes.Listener{}, bake.BadInputf("listener %s does not exist: check traffic.listener in the service file", l.arn)
	}
	return out.Listeners[0], nil
}

func (l *listenerRouter) Weights(ctx context.Context) (map[string]int, error) {
	ln, err := l.listener(ctx)
	if err != nil {
		return nil, err
	}
	return slotWeights(ln.DefaultActions, l.slots), nil
}

func (l *listenerRouter) Set(ctx context.Context, w map[string]int) error {
	_, err := l.api.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: aws.String(l.arn), DefaultActions: forwardTo(l.slots, w)})
	if err != nil {
		return fmt.Errorf("forward listener %s %s: %w", l.arn, weightString(w), err)
	}
	return nil
}

// Check: the listener exists, forwards only to the service's target
// groups, and both groups exist.
func (l *listenerRouter) Check(ctx context.Context) error {
	ln, err := l.listener(ctx)
	if err != nil {
		return err
	}
	if arn := foreignTargetGroup(ln.DefaultActions, l.slots); arn != "" {
		return bake.BadInputf("listener %s does not belong to the service: it forwards to target group %s, which is not one of its target_groups %s; point traffic.listener at the service's listener",
			l.arn, arn, strings.Join([]string{l.slots[0].TargetGroup, l.slots[1].TargetGroup}, ", "))
	}
	out, err := l.api.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{l.slots[0].TargetGroup, l.slots[1].TargetGroup}})
	if err != nil {
		if awserr.Code(err) == "TargetGroupNotFound" {
			return bake.BadInputf("a target group of the service does not exist (%s): check traffic.target_groups", err)
		}
		return fmt.Errorf("describe target groups of %s: %w", l.arn, err)
	}
	for _, tg := range out.TargetGroups {
		found := false
		for _, lb := range tg.LoadBalancerArns {
			if lb == aws.ToString(ln.LoadBalancerArn) {
				found = true
			}
		}
		if !found && len(tg.LoadBalancerArns) > 0 {
			return bake.BadInputf("target group %s is used by another load balancer than listener %s's", aws.ToString(tg.TargetGroupArn), l.arn)
		}
	}
	return nil
}

// RuleAPI is what the rule router calls of ELBv2 besides LoadBalancerAPI.
type RuleAPI interface {
	DescribeRules(context.Context, *elb.DescribeRulesInput, ...func(*elb.Options)) (*elb.DescribeRulesOutput, error)
	ModifyRule(context.Context, *elb.ModifyRuleInput, ...func(*elb.Options)) (*elb.ModifyRuleOutput, error)
}

// ruleRouter is a rule of an ALB listener shared with other services (one
// rule per service, matching its host or path), forwarding to the two
// slots' target groups by weight. Only the rule's actions change; its
// conditions, priority and the listener's other rules are left alone.
type ruleRouter struct {
	api     RuleAPI // nil when the client cannot call DescribeRules/ModifyRule
	lbs     LoadBalancerAPI
	arn     string
	slots   [2]slot
	service string
}

func (r *ruleRouter) String() string { return "listener rule " + r.arn }

func (r *ruleRouter) Allow(strategy string) error { return needsRoute53(strategy, r.service) }
func (r *ruleRouter) CreateIn(tg string) []string { return []string{tg} }
func (r *ruleRouter) Linger() time.Duration       { return 0 }

func (r *ruleRouter) rule(ctx context.Context) (elbtypes.Rule, error) {
	if r.api == nil {
		return elbtypes.Rule{}, fmt.Errorf("describe listener rule %s: the ELBv2 client cannot call DescribeRules and ModifyRule", r.arn)
	}
	out, err := r.api.DescribeRules(ctx, &elb.DescribeRulesInput{RuleArns: []string{r.arn}})
	if err != nil {
		if awserr.Is(err, "RuleNotFound", "ValidationError") {
			return elbtypes.Rule{}, bake.BadInputf("listener rule %s does not exist: check traffic.listener_rule in the service file (%s)", r.arn, awserr.Code(err))
		}
		return elbtypes.Rule{}, fmt.Errorf("describe listener rule %s: %w", r.arn, err)
	}
	if len(out.Rules) != 1 {
		return elbtypes.Rule{}, bake.BadInputf("listener rule %s does not exist: check traffic.listener_rule in the service file", r.arn)
	}
	return out.Rules[0], nil
}

func (r *ruleRouter) Weights(ctx context.Context) (map[string]int, error) {
	ru, err := r.rule(ctx)
	if err != nil {
		return nil, err
	}
	return slotWeights(ru.Actions, r.slots), nil
}

// forwardWeights sums the weight of each target group actions forward to
// (a plain forward to one group counts 1).
func forwardWeights(actions []elbtypes.Action) (map[string]int, int) {
	raw, total := map[string]int{}, 0
	for _, a := range actions {
		if a.Type != elbtypes.ActionTypeEnumForward {
			continue
		}
		if a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) > 0 {
			for _, tg := range a.ForwardConfig.TargetGroups {
				raw[aws.ToString(tg.TargetGroupArn)] += int(aws.ToInt32(tg.Weight))
				total += int(aws.ToInt32(tg.Weight))
			}
		} else if a.TargetGroupArn != nil {
			raw[*a.TargetGroupArn]++
			total++
		}
	}
	return raw, total
}

// slotWeights is each slot's share in percent of what actions forward.
func slotWeights(actions []elbtypes.Action, slots [2]slot) map[string]int {
	raw, total := forwardWeights(actions)
	out := map[string]int{}
	for _, sl := range slots {
		out[sl.Name] = 0
		if total > 0 {
			out[sl.Name] = raw[sl.TargetGroup] * 100 / total
		}
	}
	return out
}

// foreignTargetGroup is a target group actions forward to that is not
// one of the slots', or "".
func foreignTargetGroup(actions []elbtypes.Action, slots [2]slot) string {
	for _, a := range actions {
		var arns []string
		if a.ForwardConfig != nil {
			for _, tg := range a.ForwardConfig.TargetGroups {
				arns = append(arns, aws.ToString(tg.TargetGroupArn))
			}
		} else if a.TargetGroupArn != nil {
			arns = append(arns, *a.TargetGroupArn)
		}
		for _, arn := range arns {
			if arn != slots[0].TargetGroup && arn != slots[1].TargetGroup {
				return arn
			}
		}
	}
	return ""
}

// forwardTo is the one forward action that gives each slot's target
// group its weight in w; both groups stay in it, the idle one at 0.
func forwardTo(slots [2]slot, w map[string]int) []elbtypes.Action {
	var tgs []elbtypes.TargetGroupTuple
	for _, sl := range slots {
		tgs = append(tgs, elbtypes.TargetGroupTuple{TargetGroupArn: aws.String(sl.TargetGroup), Weight: aws.Int32(int32(w[sl.Name]))})
	}
	return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: tgs}}}
}

func (r *ruleRouter) Set(ctx context.Context, w map[string]int) error {
	if r.api == nil {
		return fmt.Errorf("forward listener rule %s: the ELBv2 client cannot call ModifyRule", r.arn)
	}
	_, err := r.api.ModifyRule(ctx, &elb.ModifyRuleInput{RuleArn: aws.String(r.arn), Actions: forwardTo(r.slots, w)})
	if err != nil {
		return fmt.Errorf("forward listener rule %s %s: %w", r.arn, weightString(w), err)
	}
	return nil
}

// Check: the rule exists, is not a listener's default rule, forwards only
// to the service's target groups, and both groups exist.
func (r *ruleRouter) Check(ctx context.Context) error {
	ru, err := r.rule(ctx)
	if err != nil {
		return err
	}
	if aws.ToBool(ru.IsDefault) {
		return bake.BadInputf("listener rule %s is a listener's default rule: roll moves a default rule through its listener, so set traffic.listener to the listener's ARN instead of traffic.listener_rule", r.arn)
	}
	if arn := foreignTargetGroup(ru.Actions, r.slots); arn != "" {
		return bake.BadInputf("listener rule %s does not belong to the service: it forwards to target group %s, which is not one of its target_groups %s; point traffic.listener_rule at the service's rule",
			r.arn, arn, strings.Join([]string{r.slots[0].TargetGroup, r.slots[1].TargetGroup}, ", "))
	}
	for _, a := range ru.Actions {
		if a.Type != elbtypes.ActionTypeEnumForward {
			return bake.BadInputf("listener rule %s has a %s action: roll moves rules that only forward to the service's target_groups", r.arn, a.Type)
		}
	}
	if _, err := r.lbs.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{r.slots[0].TargetGroup, r.slots[1].TargetGroup}}); err != nil {
		if awserr.Code(err) == "TargetGroupNotFound" {
			return bake.BadInputf("a target group of the service does not exist (%s): check traffic.target_groups", err)
		}
		return fmt.Errorf("describe target groups of %s: %w", r.arn, err)
	}
	return nil
}

// dnsRouter is a Route53 weighted record set: one CNAME per slot, named
// by the slot, pointing at its load balancer.
type dnsRouter struct {
	api DNSAPI
	t   Route53Traffic
}

func (d *dnsRouter) String() string { return "record " + d.t.Record + " in zone " + d.t.ZoneID }

func (d *dnsRouter) Allow(string) error          { return nil }
func (d *dnsRouter) CreateIn(tg string) []string { return []string{tg} }

// Linger: clients may hold the record that sent them to a side for its
// TTL.
func (d *dnsRouter) Linger() time.Duration { return time.Duration(d.t.TTL) * time.Second }

func (d *dnsRouter) records(ctx context.Context) ([]r53types.ResourceRecordSet, error) {
	out, err := d.api.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{
		HostedZoneId: aws.String(d.t.ZoneID), StartRecordName: aws.String(d.t.Record), MaxItems: aws.Int32(100),
	})
	if err != nil {
		if awserr.Code(err) == "NoSuchHostedZone" {
			return nil, bake.BadInputf("hosted zone %s does not exist: check traffic.route53.zone_id", d.t.ZoneID)
		}
		return nil, fmt.Errorf("list records of %s in zone %s: %w", d.t.Record, d.t.ZoneID, err)
	}
	var mine []r53types.ResourceRecordSet
	for _, r := range out.ResourceRecordSets {
		if strings.TrimSuffix(aws.ToString(r.Name), ".") == d.t.Record {
			mine = append(mine, r)
		}
	}
	return mine, nil
}

func (d *dnsRouter) Weights(ctx context.Context) (map[string]int, error) {
	recs, err := d.records(ctx)
	if err != nil {
		return nil, err
	}
	raw, total := map[string]int{}, 0
	for _, r := range recs {
		if r.Weight != nil {
			raw[aws.ToString(r.SetIdentifier)] = int(*r.Weight)
			total += int(*r.Weight)
		}
	}
	out := map[string]int{}
	for _, sl := range d.t.Slots {
		if total > 0 {
			out[sl.Name] = raw[sl.Name] * 100 / total
		} else {
			out[sl.Name] = 0
		}
	}
	return out, nil
}

func (d *dnsRouter) Set(ctx context.Context, w map[string]int) error {
	var changes []r53types.Change
	for _, sl := range d.t.Slots {
		changes = append(changes, r53types.Change{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &r53types.ResourceRecordSet{
			Name: aws.String(d.t.Record + "."), Type: r53types.RRTypeCname, SetIdentifier: aws.String(sl.Name),
			Weight: aws.Int64(int64(w[sl.Name])), TTL: aws.Int64(d.t.TTL),
			ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(sl.DNSName)}},
		}})
	}
	_, err := d.api.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(d.t.ZoneID),
		ChangeBatch:  &r53types.ChangeBatch{Comment: aws.String("roll " + weightString(w)), Changes: changes},
	})
	if err != nil {
		return fmt.Errorf("weight record %s %s: %w", d.t.Record, weightString(w), err)
	}
	return nil
}

// Check: the zone exists and the record's existing sets are the
// service's weighted CNAMEs (roll never overwrites a record it does not
// own).
func (d *dnsRouter) Check(ctx context.Context) error {
	recs, err := d.records(ctx)
	if err != nil {
		return err
	}
	for _, r := range recs {
		id := aws.ToString(r.SetIdentifier)
		if r.Weight == nil || (id != d.t.Slots[0].Name && id != d.t.Slots[1].Name) {
			return bake.BadInputf("record %s in zone %s is not the service's (a %s record%s): roll only changes weighted records named %s and %s",
				d.t.Record, d.t.ZoneID, r.Type, map[bool]string{true: " with set identifier " + id}[id != ""], d.t.Slots[0].Name, d.t.Slots[1].Name)
		}
	}
	return nil
}

func weightString(w map[string]int) string {
	var parts []string
	for k, v := range w {
		parts = append(parts, fmt.Sprintf("%s=%d%%", k, v))
	}
	if len(parts) == 2 && parts[0] > parts[1] {
		parts[0], parts[1] = parts[1], parts[0]
	}
	return strings.Join(parts, " ")
}
