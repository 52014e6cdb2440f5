// Package elbv2 is the sim's Elastic Load Balancing v2: Application Load
// Balancers whose listeners really proxy HTTP (sim/elbv2/proxy) on their
// own loopback address, target groups with real health checks, and DNS
// names that resolve through the sim's DNS server.
package elbv2

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/bakehq/bake/sim/core"
	"github.com/bakehq/bake/sim/elbv2/proxy"
)

// Instances is what ELBv2 needs from EC2: where an instance target is
// reached. ok is false for an instance that does not exist.
type Instances interface {
	InstanceTarget(id string) (addr, state string, ok bool)
}

// Subnets is what ELBv2 needs to place a load balancer: a subnet's AZ and
// VPC, and the default VPC's subnets. ok is false for an unknown subnet.
type Subnets interface {
	Subnet(id string) (az, vpc string, ok bool)
}

// Hosts is the DNS the load balancers' names resolve through.
type Hosts interface {
	SetHost(name string, ips ...string)
}

// Config is what the service is built from. Server is required; without
// Instances only ip targets can be registered, without Subnets any subnet
// id is accepted in one AZ per subnet, without DNS names resolve nowhere.
type Config struct {
	Server    *core.Server
	Instances Instances
	Subnets   Subnets
	DNS       Hosts
}

// ELBv2 holds the load balancers, target groups and listeners.
type ELBv2 struct {
	cfg     Config
	region  string
	account string
	log     *slog.Logger

	mu        sync.Mutex
	lbs       map[string]*loadBalancer // by ARN
	tgs       map[string]*targetGroup
	listeners map[string]*listener
	rules     map[string]*listenerRule // by ARN; default rules are the listeners'
	tags      map[string][]types.Tag

	stop chan struct{} // ends the sweeper
	done chan struct{}
}

type loadBalancer struct {
	LB    types.LoadBalancer
	IP    string
	Attrs map[string]string
}

type targetGroup struct {
	TG      types.TargetGroup
	Attrs   map[string]string
	Targets []proxy.Target // registered, for --state
	group   *proxy.Group
}

type listener struct {
	L     types.Listener
	proxy *proxy.Listener
}

// New builds the service, restores saved state (restarting its listeners
// and health checks) and registers its shutdown with the server.
func New(cfg Config) (*ELBv2, *core.Service, error) {
	if cfg.Server == nil {
		return nil, nil, errors.New("build the elbv2 service: no server")
	}
	e := &ELBv2{
		cfg:       cfg,
		region:    cfg.Server.Region(),
		account:   cfg.Server.AccountID(),
		log:       cfg.Server.Log(),
		lbs:       map[string]*loadBalancer{},
		tgs:       map[string]*targetGroup{},
		listeners: map[string]*listener{},
		rules:     map[string]*listenerRule{},
		tags:      map[string][]types.Tag{},
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	if err := e.restore(); err != nil {
		return nil, nil, err
	}
	go e.sweep(2 * time.Second)
	cfg.Server.OnClose(e.Close)
	svc := core.MustService("elbv2")
	e.register(svc)
	return e, svc, nil
}

func (e *ELBv2) register(svc *core.Service) {
	core.Handle(svc, "CreateLoadBalancer", e.createLoadBalancer)
	core.Handle(svc, "DescribeLoadBalancers", e.describeLoadBalancers)
	core.Handle(svc, "DeleteLoadBalancer", e.deleteLoadBalancer)
	core.Handle(svc, "DescribeLoadBalancerAttributes", e.describeLoadBalancerAttributes)
	core.Handle(svc, "ModifyLoadBalancerAttributes", e.modifyLoadBalancerAttributes)
	core.Handle(svc, "CreateTargetGroup", e.createTargetGroup)
	core.Handle(svc, "DescribeTargetGroups", e.describeTargetGroups)
	core.Handle(svc, "ModifyTargetGroup", e.modifyTargetGroup)
	core.Handle(svc, "DeleteTargetGroup", e.deleteTargetGroup)
	core.Handle(svc, "DescribeTargetGroupAttributes", e.describeTargetGroupAttributes)
	core.Handle(svc, "ModifyTargetGroupAttributes", e.modifyTargetGroupAttributes)
	core.Handle(svc, "RegisterTargets", e.registerTargets)
	core.Handle(svc, "DeregisterTargets", e.deregisterTargets)
	core.Handle(svc, "DescribeTargetHealth", e.describeTargetHealth)
	core.Handle(svc, "CreateListener", e.createListener)
	core.Handle(svc, "DescribeListeners", e.describeListeners)
	core.Handle(svc, "ModifyListener", e.modifyListener)
	core.Handle(svc, "DeleteListener", e.deleteListener)
	core.Handle(svc, "CreateRule", e.createRule)
	core.Handle(svc, "DescribeRules", e.describeRules)
	core.Handle(svc, "ModifyRule", e.modifyRule)
	core.Handle(svc, "DeleteRule", e.deleteRule)
	core.Handle(svc, "AddTags", e.addTags)
	core.Handle(svc, "RemoveTags", e.removeTags)
	core.Handle(svc, "DescribeTags", e.describeTags)
}

// Close stops every listener and health check. ctx bounds how long
// requests in flight may take to finish.
func (e *ELBv2) Close(ctx context.Context) error {
	select {
	case <-e.stop:
	default:
		close(e.stop)
	}
	<-e.done
	e.mu.Lock()
	defer e.mu.Unlock()
	var errs []error
	for _, l := range e.listeners {
		if l.proxy != nil {
			if err := l.proxy.Close(ctx); err != nil {
				errs = append(errs, err)
			}
			l.proxy = nil
		}
	}
	for _, tg := range e.tgs {
		if tg.group != nil {
			tg.group.Close()
		}
	}
	return errors.Join(errs...)
}

// sweep deregisters instance targets whose instance has terminated, as
// ELB does on its own, every interval until Close.
func (e *ELBv2) sweep(interval time.Duration) {
	defer close(e.done)
	if e.cfg.Instances == nil {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
		}
		e.mu.Lock()
		changed := false
		for _, tg := range e.tgs {
			if tg.TG.TargetType == types.TargetTypeEnumIp {
				continue
			}
			kept := tg.Targets[:0]
			for _, tt := range tg.Targets {
				if _, state, ok := e.cfg.Instances.InstanceTarget(tt.ID); !ok || state == "terminated" || state == "shutting-down" {
					tg.group.Deregister(tt)
					changed = true
					continue
				}
				kept = append(kept, tt)
			}
			tg.Targets = kept
		}
		if changed {
			e.save()
		}
		e.mu.Unlock()
	}
}

// arn builds an ELBv2 ARN for resource (loadbalancer/app/name/id, ...).
func (e *ELBv2) arn(resource string) string {
	return fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:%s", e.region, e.account, resource)
}

// The errors of unknown resources, worded as ELBv2 words them.
func errLBNotFound() error {
	return core.Errorf("LoadBalancerNotFound", "One or more load balancers not found")
}
func errTGNotFound() error {
	return core.Errorf("TargetGroupNotFound", "One or more target groups not found")
}
func errListenerNotFound() error {
	return core.Errorf("ListenerNotFound", "One or more listeners not found")
}

// canonicalZone is the hosted zone of ALBs in a region, as alias records
// name it (us-east-1's, used for every region the sim serves).
const canonicalZone = "Z35SXDOTRQ7X7K"

// ---- state ----

type saved struct {
	LoadBalancers map[string]*loadBalancer
	TargetGroups  map[string]*targetGroup
	Listeners     map[string]*listener
	Rules         map[string]*listenerRule
	Tags          map[string][]types.Tag
}

const stateName = "elbv2"

// save persists the state (a no-op without --state). Called with e.mu held.
func (e *ELBv2) save() {
	err := e.cfg.Server.Store().Save(stateName, saved{e.lbs, e.tgs, e.listeners, e.rules, e.tags})
	if err != nil {
		e.log.Warn("persist elbv2 state", "err", err)
	}
}

func (e *ELBv2) restore() error {
	var s saved
	ok, err := e.cfg.Server.Store().Load(stateName, &s)
	if err != nil || !ok {
		return err
	}
	if s.LoadBalancers != nil {
		e.lbs = s.LoadBalancers
	}
	if s.TargetGroups != nil {
		e.tgs = s.TargetGroups
	}
	if s.Listeners != nil {
		e.listeners = s.Listeners
	}
	if s.Rules != nil {
		e.rules = s.Rules
	}
	if s.Tags != nil {
		e.tags = s.Tags
	}
	for _, lb := range e.lbs {
		if a, err := netip.ParseAddr(lb.IP); err == nil {
			e.cfg.Server.Loopback().Take(a)
		}
		e.setHost(lb)
	}
	for _, tg := range e.tgs {
		g, err := newGroup(e, tg)
		if err != nil {
			return fmt.Errorf("restore target group %s: %w", aws.ToString(tg.TG.TargetGroupName), err)
		}
		tg.group = g
		g.Register(tg.Targets...)
	}
	for arn, l := range e.listeners {
		lb := e.lbs[aws.ToString(l.L.LoadBalancerArn)]
		if lb == nil {
			delete(e.listeners, arn)
			continue
		}
		fwd, err := e.forward(l.L.DefaultActions)
		if err != nil {
			return fmt.Errorf("restore listener %s: %s", arn, err)
		}
		p, err := proxy.Listen(listenAddr(lb.IP, aws.ToInt32(l.L.Port)), fwd)
		if err != nil {
			return fmt.Errorf("restore listener %s: %w", arn, err)
		}
		l.proxy = p
	}
	for arn, r := range e.rules {
		if e.listeners[r.Listener] == nil {
			delete(e.rules, arn)
		}
	}
	for arn, l := range e.listeners {
		if err := e.applyRules(l); err != nil {
			return fmt.Errorf("restore the rules of listener %s: %s", arn, err)
		}
	}
	return nil
}

func listenAddr(ip string, port int32) string {
	return netip.AddrPortFrom(netip.MustParseAddr(ip), uint16(port)).String()
}

func (e *ELBv2) setHost(lb *loadBalancer) {
	if e.cfg.DNS != nil {
		e.cfg.DNS.SetHost(aws.ToString(lb.LB.DNSName), lb.IP)
	}
}

// ---- tags ----

func (e *ELBv2) addTags(_ context.Context, _ *core.Request, in *elb.AddTagsInput) (*elb.AddTagsOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	for _, arn := range in.ResourceArns {
		if err := e.exists(arn); err != nil {
			return nil, err
		}
	}
	for _, arn := range in.ResourceArns {
		e.tags[arn] = mergeTags(e.tags[arn], in.Tags)
	}
	e.save()
	return &elb.AddTagsOutput{}, nil
}

func (e *ELBv2) removeTags(_ context.Context, _ *core.Request, in *elb.RemoveTagsInput) (*elb.RemoveTagsOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, arn := range in.ResourceArns {
		if err := e.exists(arn); err != nil {
			return nil, err
		}
	}
	for _, arn := range in.ResourceArns {
		e.tags[arn] = slicesDeleteFunc(e.tags[arn], func(t types.Tag) bool {
			for _, k := range in.TagKeys {
				if aws.ToString(t.Key) == k {
					return true
				}
			}
			return false
		})
	}
	e.save()
	return &elb.RemoveTagsOutput{}, nil
}

func (e *ELBv2) describeTags(_ context.Context, _ *core.Request, in *elb.DescribeTagsInput) (*elb.DescribeTagsOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(in.ResourceArns) > 20 {
		return nil, core.Invalid("1 validation error detected: Value at 'resourceArns' failed to satisfy constraint: Member must have length less than or equal to 20")
	}
	out := &elb.DescribeTagsOutput{}
	for _, arn := range in.ResourceArns {
		if err := e.exists(arn); err != nil {
			return nil, err
		}
		out.TagDescriptions = append(out.TagDescriptions, types.TagDescription{
			ResourceArn: aws.String(arn), Tags: append([]types.Tag{}, e.tags[arn]...)})
	}
	return out, nil
}

// exists reports the not-found error of the kind of resource arn names.
func (e *ELBv2) exists(arn string) error {
	switch {
	case strings.Contains(arn, ":loadbalancer/"):
		if e.lbs[arn] != nil {
			return nil
		}
		return errLBNotFound()
	case strings.Contains(arn, ":targetgroup/"):
		if e.tgs[arn] != nil {
			return nil
		}
		return errTGNotFound()
	case strings.Contains(arn, ":listener/"):
		if e.listeners[arn] != nil {
			return nil
		}
		return errListenerNotFound()
	case strings.Contains(arn, ":listener-rule/"):
		if e.rules[arn] != nil {
			return nil
		}
		return errRuleNotFound()
	}
	return core.Invalid("'%s' is not a valid load balancer, target group, listener or rule ARN", arn)
}

func checkTags(tags []types.Tag) error {
	seen := map[string]bool{}
	for _, t := range tags {
		k := aws.ToString(t.Key)
		if k == "" {
			return core.Invalid("A tag key must be specified")
		}
		if strings.HasPrefix(k, "aws:") {
			return core.Invalid("Tag key '%s' cannot start with 'aws:'", k)
		}
		if seen[k] {
			return core.Errorf("DuplicateTagKeys", "Tag key '%s' is duplicated", k)
		}
		seen[k] = true
	}
	return nil
}

func mergeTags(have, add []types.Tag) []types.Tag {
	out := append([]types.Tag{}, have...)
	for _, t := range add {
		found := false
		for i := range out {
			if aws.ToString(out[i].Key) == aws.ToString(t.Key) {
				out[i].Value = aws.String(aws.ToString(t.Value))
				found = true
			}
		}
		if !found {
			out = append(out, types.Tag{Key: aws.String(aws.ToString(t.Key)), Value: aws.String(aws.ToString(t.Value))})
		}
	}
	sort.Slice(out, func(i, j int) bool { return aws.ToString(out[i].Key) < aws.ToString(out[j].Key) })
	return out
}

func slicesDeleteFunc[T any](s []T, del func(T) bool) []T {
	out := s[:0]
	for _, x := range s {
		if !del(x) {
			out = append(out, x)
		}
	}
	return out
}

func attrList[T any](m map[string]string, mk func(k, v string) T) []T {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]T, 0, len(keys))
	for _, k := range keys {
		out = append(out, mk(k, m[k]))
	}
	return out
}

func now() *time.Time {
	t := time.Now().UTC().Truncate(time.Millisecond)
	return &t
}
