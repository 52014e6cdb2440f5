package elbv2

import (
	"context"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/bakehq/bake/sim/core"
	"github.com/bakehq/bake/sim/elbv2/proxy"
)

// A listener's rules: host-header and path-pattern conditions forwarding
// to target groups, tried in priority order before the default action.
// The default rule is the listener's default action; it has no entry here.

type listenerRule struct {
	R        types.Rule
	Listener string // ARN
	Priority int
}

// AWS's limits the sim holds to.
const (
	maxPriority       = 50000
	maxConditionValue = 5
	maxRules          = 100 // per listener, not counting the default rule
)

func errRuleNotFound() error {
	return core.Errorf("RuleNotFound", "One or more rules not found")
}

// defaultRuleArn is the ARN the sim gives a listener's default rule.
func defaultRuleArn(listenerArn string) string {
	return strings.Replace(listenerArn, ":listener/", ":listener-rule/", 1) + "/default"
}

func defaultRule(l *listener) types.Rule {
	return types.Rule{
		RuleArn:    aws.String(defaultRuleArn(aws.ToString(l.L.ListenerArn))),
		Priority:   aws.String("default"),
		IsDefault:  aws.Bool(true),
		Actions:    l.L.DefaultActions,
		Conditions: []types.RuleCondition{},
	}
}

// normalizeConditions checks conditions and writes them as ELBv2
// describes them: Values and the field's config both set.
func normalizeConditions(in []types.RuleCondition) ([]types.RuleCondition, error) {
	if len(in) == 0 {
		return nil, core.Invalid("A rule must have at least one condition")
	}
	seen := map[string]bool{}
	out := make([]types.RuleCondition, 0, len(in))
	for _, c := range in {
		field := aws.ToString(c.Field)
		if c.HttpHeaderConfig != nil || c.HttpRequestMethodConfig != nil || c.QueryStringConfig != nil || c.SourceIpConfig != nil {
			return nil, core.Invalid("bake sim supports host-header and path-pattern conditions only; remove the %s condition's other configs", field)
		}
		var cfg []string
		switch field {
		case "host-header":
			if c.PathPatternConfig != nil {
				return nil, core.Invalid("A host-header condition cannot have a PathPatternConfig")
			}
			if c.HostHeaderConfig != nil {
				cfg = c.HostHeaderConfig.Values
			}
		case "path-pattern":
			if c.HostHeaderConfig != nil {
				return nil, core.Invalid("A path-pattern condition cannot have a HostHeaderConfig")
			}
			if c.PathPatternConfig != nil {
				cfg = c.PathPatternConfig.Values
			}
		case "":
			return nil, core.Invalid("A condition must specify a field")
		default:
			return nil, core.Invalid("bake sim supports host-header and path-pattern conditions only, not '%s'", field)
		}
		if seen[field] {
			return nil, core.Invalid("A rule can have at most one '%s' condition", field)
		}
		seen[field] = true
		values := c.Values
		switch {
		case len(values) > 0 && len(cfg) > 0:
			return nil, core.Invalid("The '%s' condition cannot specify both Values and its config's Values", field)
		case len(cfg) > 0:
			values = cfg
		case len(values) == 0:
			return nil, core.Invalid("The '%s' condition must have at least one value", field)
		}
		if len(values) > maxConditionValue {
			return nil, core.Invalid("The '%s' condition can have at most %d values, has %d", field, maxConditionValue, len(values))
		}
		for _, v := range values {
			if err := checkConditionValue(field, v); err != nil {
				return nil, err
			}
		}
		values = append([]string{}, values...)
		nc := types.RuleCondition{Field: aws.String(field), Values: values}
		if field == "host-header" {
			nc.HostHeaderConfig = &types.HostHeaderConditionConfig{Values: values}
		} else {
			nc.PathPatternConfig = &types.PathPatternConditionConfig{Values: values}
		}
		out = append(out, nc)
	}
	return out, nil
}

func checkConditionValue(field, v string) error {
	if v == "" || len(v) > 128 {
		return core.Invalid("The '%s' value '%s' must be 1 to 128 characters long", field, v)
	}
	for _, r := range v {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-.*?", r)
		if field == "path-pattern" {
			ok = ok || strings.ContainsRune("_$/~\"'@:+&", r)
		}
		if !ok {
			return core.Invalid("The '%s' value '%s' contains the character '%c', which is not allowed", field, v, r)
		}
	}
	return nil
}

// ruleView is a rule as ELBv2 describes it.
func (r *listenerRule) view() types.Rule {
	v := r.R
	v.Priority = aws.String(strconv.Itoa(r.Priority))
	v.IsDefault = aws.Bool(false)
	return v
}

// rulesOf lists listener arn's rules by priority. Called with e.mu held.
func (e *ELBv2) rulesOf(arn string) []*listenerRule {
	var out []*listenerRule
	for _, r := range e.rules {
		if r.Listener == arn {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Priority < out[j].Priority })
	return out
}

// applyRules gives listener l's proxy its rules. Called with e.mu held.
func (e *ELBv2) applyRules(l *listener) error {
	if l.proxy == nil {
		return nil
	}
	var prs []proxy.Rule
	for _, r := range e.rulesOf(aws.ToString(l.L.ListenerArn)) {
		fwd, err := e.forward(r.R.Actions)
		if err != nil {
			return err
		}
		pr := proxy.Rule{Forward: fwd}
		for _, c := range r.R.Conditions {
			if aws.ToString(c.Field) == "host-header" {
				pr.Hosts = c.Values
			} else {
				pr.Paths = c.Values
			}
		}
		prs = append(prs, pr)
	}
	l.proxy.SetRules(prs)
	return nil
}

func (e *ELBv2) createRule(_ context.Context, _ *core.Request, in *elb.CreateRuleInput) (*elb.CreateRuleOutput, error) {
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	prio := int(aws.ToInt32(in.Priority))
	if prio < 1 || prio > maxPriority {
		return nil, core.Invalid("Priority '%d' must be between 1 and %d", prio, maxPriority)
	}
	conds, err := normalizeConditions(in.Conditions)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	larn := aws.ToString(in.ListenerArn)
	l := e.listeners[larn]
	if l == nil {
		return nil, errListenerNotFound()
	}
	have := e.rulesOf(larn)
	for _, r := range have {
		if r.Priority == prio {
			return nil, core.Errorf("PriorityInUse", "Priority '%d' is currently in use on listener '%s'", prio, larn)
		}
	}
	if len(have) >= maxRules {
		return nil, core.Errorf("TooManyRules", "A listener can have at most %d rules besides its default rule", maxRules)
	}
	actions, err := e.normalizeActions(aws.ToString(l.L.LoadBalancerArn), in.Actions)
	if err != nil {
		return nil, err
	}
	r := &listenerRule{
		R: types.Rule{
			RuleArn: aws.String(strings.Replace(larn, ":listener/", ":listener-rule/", 1) + "/" + core.NewHex(16)),
			Actions: actions, Conditions: conds,
		},
		Listener: larn, Priority: prio,
	}
	arn := aws.ToString(r.R.RuleArn)
	e.rules[arn] = r
	if err := e.applyRules(l); err != nil {
		delete(e.rules, arn)
		return nil, err
	}
	if len(in.Tags) > 0 {
		e.tags[arn] = mergeTags(nil, in.Tags)
	}
	e.save()
	return &elb.CreateRuleOutput{Rules: []types.Rule{r.view()}}, nil
}

// describeRules lists a listener's rules by priority and its default rule
// last, as ELBv2 does, or the rules named.
func (e *ELBv2) describeRules(_ context.Context, _ *core.Request, in *elb.DescribeRulesInput) (*elb.DescribeRulesOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := &elb.DescribeRulesOutput{Rules: []types.Rule{}}
	switch {
	case in.ListenerArn != nil && len(in.RuleArns) > 0:
		return nil, core.Invalid("A listener ARN and rule ARNs cannot be specified at the same time")
	case in.ListenerArn != nil:
		l := e.listeners[*in.ListenerArn]
		if l == nil {
			return nil, errListenerNotFound()
		}
		for _, r := range e.rulesOf(*in.ListenerArn) {
			out.Rules = append(out.Rules, r.view())
		}
		out.Rules = append(out.Rules, defaultRule(l))
	case len(in.RuleArns) > 0:
		for _, ra := range in.RuleArns {
			if r := e.rules[ra]; r != nil {
				out.Rules = append(out.Rules, r.view())
				continue
			}
			l := e.listeners[strings.TrimSuffix(strings.Replace(ra, ":listener-rule/", ":listener/", 1), "/default")]
			if l == nil || !strings.HasSuffix(ra, "/default") {
				return nil, errRuleNotFound()
			}
			out.Rules = append(out.Rules, defaultRule(l))
		}
	default:
		return nil, core.Invalid("You must specify either listener ARN or rule ARNs")
	}
	return out, nil
}

func (e *ELBv2) modifyRule(_ context.Context, _ *core.Request, in *elb.ModifyRuleInput) (*elb.ModifyRuleOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	arn := aws.ToString(in.RuleArn)
	r, err := e.nonDefaultRule(arn, "cannot be modified with ModifyRule: change the listener's default actions with ModifyListener")
	if err != nil {
		return nil, err
	}
	next := r.R
	if len(in.Conditions) > 0 {
		conds, err := normalizeConditions(in.Conditions)
		if err != nil {
			return nil, err
		}
		next.Conditions = conds
	}
	if len(in.Actions) > 0 {
		l := e.listeners[r.Listener]
		actions, err := e.normalizeActions(aws.ToString(l.L.LoadBalancerArn), in.Actions)
		if err != nil {
			return nil, err
		}
		next.Actions = actions
	}
	prev := r.R
	r.R = next
	if err := e.applyRules(e.listeners[r.Listener]); err != nil {
		r.R = prev
		return nil, err
	}
	e.save()
	return &elb.ModifyRuleOutput{Rules: []types.Rule{r.view()}}, nil
}

func (e *ELBv2) deleteRule(_ context.Context, _ *core.Request, in *elb.DeleteRuleInput) (*elb.DeleteRuleOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	arn := aws.ToString(in.RuleArn)
	r, err := e.nonDefaultRule(arn, "cannot be deleted: delete the listener instead")
	if err != nil {
		return nil, err
	}
	delete(e.rules, arn)
	delete(e.tags, arn)
	if err := e.applyRules(e.listeners[r.Listener]); err != nil {
		e.log.Warn("route a listener after deleting its rule", "rule", arn, "err", err)
	}
	e.save()
	return &elb.DeleteRuleOutput{}, nil
}

// nonDefaultRule is the rule arn names, for the calls a listener's
// default rule refuses (OperationNotPermitted: "The default rule ARN "
// followed by refusal). e.mu is held.
func (e *ELBv2) nonDefaultRule(arn, refusal string) (*listenerRule, error) {
	if r := e.rules[arn]; r != nil {
		return r, nil
	}
	if e.isDefaultRule(arn) {
		return nil, core.Errorf("OperationNotPermitted", "The default rule '%s' %s", arn, refusal)
	}
	return nil, errRuleNotFound()
}

// isDefaultRule reports whether arn is an existing listener's default
// rule. Called with e.mu held.
func (e *ELBv2) isDefaultRule(arn string) bool {
	if !strings.HasSuffix(arn, "/default") {
		return false
	}
	return e.listeners[strings.TrimSuffix(strings.Replace(arn, ":listener-rule/", ":listener/", 1), "/default")] != nil
}

// dropRules forgets listener arn's rules (the listener is going away).
// Called with e.mu held.
func (e *ELBv2) dropRules(arn string) {
	for ra, r := range e.rules {
		if r.Listener == arn {
			delete(e.rules, ra)
			delete(e.tags, ra)
		}
	}
}
