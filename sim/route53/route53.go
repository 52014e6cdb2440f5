// Package route53 is the sim's Route53: hosted zones and their record sets
// (simple, weighted and alias), served over the REST-XML API and answered
// for real by the sim's DNS server (sim/route53/dnsserver).
package route53

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	r53 "github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/miekg/dns"

	"github.com/bakehq/bake/sim/core"
	"github.com/bakehq/bake/sim/route53/dnsserver"
)

// Zones is the DNS server the hosted zones are published to.
type Zones interface {
	SetZone(z dnsserver.Zone)
	RemoveZone(id string)
}

// Config is what the service is built from. Server is required; without
// DNS the zones are kept but answered nowhere.
type Config struct {
	Server *core.Server
	DNS    Zones
}

// Route53 holds the hosted zones.
type Route53 struct {
	cfg Config
	log interface{ Warn(string, ...any) }

	mu      sync.Mutex
	zones   map[string]*zone // by id (Z...)
	changes map[string]types.ChangeInfo
}

type zone struct {
	Zone    types.HostedZone
	NS      []string
	Records []types.ResourceRecordSet
}

// nameServers are the delegation set every zone gets, like Route53's
// four awsdns servers.
var nameServers = []string{"ns-1536.awsdns-00.co.uk", "ns-0.awsdns-00.com", "ns-1024.awsdns-00.org", "ns-512.awsdns-00.net"}

// New builds the service and restores saved zones into the DNS server.
func New(cfg Config) (*Route53, *core.Service, error) {
	if cfg.Server == nil {
		return nil, nil, errors.New("build the route53 service: no server")
	}
	r := &Route53{cfg: cfg, log: cfg.Server.Log(), zones: map[string]*zone{}, changes: map[string]types.ChangeInfo{}}
	var s saved
	ok, err := cfg.Server.Store().Load(stateName, &s)
	if err != nil {
		return nil, nil, err
	}
	if ok && s.Zones != nil {
		r.zones = s.Zones
		for _, z := range r.zones {
			r.publish(z)
		}
	}
	svc := core.MustService("route53")
	core.Handle(svc, "CreateHostedZone", r.createHostedZone)
	core.Handle(svc, "GetHostedZone", r.getHostedZone)
	core.Handle(svc, "DeleteHostedZone", r.deleteHostedZone)
	core.Handle(svc, "ListHostedZones", r.listHostedZones)
	core.Handle(svc, "ListHostedZonesByName", r.listHostedZonesByName)
	core.Handle(svc, "ChangeResourceRecordSets", r.changeResourceRecordSets)
	core.Handle(svc, "ListResourceRecordSets", r.listResourceRecordSets)
	core.Handle(svc, "GetChange", r.getChange)
	return r, svc, nil
}

// StartDNS starts the sim's DNS server on addr (the --dns-addr flag) and
// stops it when the server closes.
func StartDNS(srv *core.Server, addr string) (*dnsserver.Server, error) {
	d := dnsserver.New()
	if err := d.Start(addr); err != nil {
		return nil, fmt.Errorf("start the sim's dns server: %w", err)
	}
	srv.OnClose(d.Close)
	return d, nil
}

type saved struct{ Zones map[string]*zone }

const stateName = "route53"

// save persists the zones. Called with r.mu held.
func (r *Route53) save() {
	if err := r.cfg.Server.Store().Save(stateName, saved{r.zones}); err != nil {
		r.log.Warn("persist route53 state", "err", err)
	}
}

// publish hands a zone's records to the DNS server. Called with r.mu held.
func (r *Route53) publish(z *zone) {
	if r.cfg.DNS == nil {
		return
	}
	dz := dnsserver.Zone{ID: zoneID(z.Zone.Id), Name: aws.ToString(z.Zone.Name)}
	for _, rs := range z.Records {
		d := dnsserver.RecordSet{
			Name:   aws.ToString(rs.Name),
			Type:   string(rs.Type),
			TTL:    uint32(aws.ToInt64(rs.TTL)),
			SetID:  aws.ToString(rs.SetIdentifier),
			Weight: rs.Weight,
		}
		for _, v := range rs.ResourceRecords {
			d.Values = append(d.Values, aws.ToString(v.Value))
		}
		if rs.AliasTarget != nil {
			d.Alias = &dnsserver.Alias{DNSName: aws.ToString(rs.AliasTarget.DNSName)}
		}
		dz.Records = append(dz.Records, d)
	}
	r.cfg.DNS.SetZone(dz)
}

// zoneID accepts "Z123" and "/hostedzone/Z123".
func zoneID(id *string) string {
	return strings.TrimPrefix(aws.ToString(id), "/hostedzone/")
}

func errNoZone(id string) error {
	return core.Errorf("NoSuchHostedZone", "No hosted zone found with ID: %s", id)
}

func (r *Route53) newChange(comment *string) types.ChangeInfo {
	c := types.ChangeInfo{
		Id:          aws.String("/change/C" + strings.ToUpper(core.NewHex(20))),
		Status:      types.ChangeStatusPending,
		SubmittedAt: aws.Time(time.Now().UTC().Truncate(time.Millisecond)),
		Comment:     comment,
	}
	done := c
	done.Status = types.ChangeStatusInsync // the DNS server has it already
	r.changes[strings.TrimPrefix(*c.Id, "/change/")] = done
	return c
}

func (r *Route53) createHostedZone(_ context.Context, _ *core.Request, in *r53.CreateHostedZoneInput) (*r53.CreateHostedZoneOutput, error) {
	name := dns.CanonicalName(aws.ToString(in.Name))
	if _, ok := dns.IsDomainName(name); !ok || name == "." || dns.CountLabel(name) < 1 {
		return nil, core.Errorf("InvalidDomainName", "%s is not a valid domain name", aws.ToString(in.Name))
	}
	if in.VPC != nil {
		return nil, core.Errorf("InvalidInput", "bake sim serves public hosted zones only")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, z := range r.zones {
		if aws.ToString(z.Zone.CallerReference) == aws.ToString(in.CallerReference) {
			return nil, core.Errorf("HostedZoneAlreadyExists", "A hosted zone has already been created with the specified caller reference.")
		}
	}
	id := "Z" + strings.ToUpper(core.NewHex(20))
	cfg := &types.HostedZoneConfig{PrivateZone: false}
	if in.HostedZoneConfig != nil {
		cfg.Comment = in.HostedZoneConfig.Comment
	}
	z := &zone{
		Zone: types.HostedZone{
			Id:                     aws.String("/hostedzone/" + id),
			Name:                   aws.String(name),
			CallerReference:        in.CallerReference,
			Config:                 cfg,
			ResourceRecordSetCount: aws.Int64(2),
		},
		NS: nameServers,
	}
	var ns []types.ResourceRecord
	for _, n := range nameServers {
		ns = append(ns, types.ResourceRecord{Value: aws.String(n + ".")})
	}
	z.Records = []types.ResourceRecordSet{
		{Name: aws.String(name), Type: types.RRTypeNs, TTL: aws.Int64(172800), ResourceRecords: ns},
		{Name: aws.String(name), Type: types.RRTypeSoa, TTL: aws.Int64(900), ResourceRecords: []types.ResourceRecord{
			{Value: aws.String(nameServers[0] + ". awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400")}}},
	}
	r.zones[id] = z
	r.publish(z)
	r.save()
	return &r53.CreateHostedZoneOutput{
		HostedZone:    &z.Zone,
		ChangeInfo:    ptr(r.newChange(nil)),
		DelegationSet: &types.DelegationSet{NameServers: nameServers},
		Location:      aws.String("https://route53.amazonaws.com/2013-04-01/hostedzone/" + id),
	}, nil
}

func ptr[T any](v T) *T { return &v }

func (r *Route53) getHostedZone(_ context.Context, _ *core.Request, in *r53.GetHostedZoneInput) (*r53.GetHostedZoneOutput, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	z := r.zones[zoneID(in.Id)]
	if z == nil {
		return nil, errNoZone(zoneID(in.Id))
	}
	return &r53.GetHostedZoneOutput{HostedZone: ptr(z.Zone), DelegationSet: &types.DelegationSet{NameServers: z.NS}}, nil
}

func (r *Route53) deleteHostedZone(_ context.Context, _ *core.Request, in *r53.DeleteHostedZoneInput) (*r53.DeleteHostedZoneOutput, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := zoneID(in.Id)
	z := r.zones[id]
	if z == nil {
		return nil, errNoZone(id)
	}
	if len(z.Records) > 2 {
		return nil, core.Errorf("HostedZoneNotEmpty", "The specified hosted zone contains non-required resource record sets and so cannot be deleted.")
	}
	delete(r.zones, id)
	if r.cfg.DNS != nil {
		r.cfg.DNS.RemoveZone(id)
	}
	r.save()
	return &r53.DeleteHostedZoneOutput{ChangeInfo: ptr(r.newChange(nil))}, nil
}

// sortedZones orders zones as ListHostedZonesByName does: by name with
// labels reversed (com.example before com.example.sub), then by id.
func (r *Route53) sortedZones() []*zone {
	out := make([]*zone, 0, len(r.zones))
	for _, z := range r.zones {
		out = append(out, z)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := reversed(aws.ToString(out[i].Zone.Name)), reversed(aws.ToString(out[j].Zone.Name))
		if a != b {
			return a < b
		}
		return aws.ToString(out[i].Zone.Id) < aws.ToString(out[j].Zone.Id)
	})
	return out
}

// reversed is a name's labels in reverse order, for Route53's sort.
func reversed(name string) string {
	labels := dns.SplitDomainName(strings.ToLower(name))
	for i, j := 0, len(labels)-1; i < j; i, j = i+1, j-1 {
		labels[i], labels[j] = labels[j], labels[i]
	}
	return strings.Join(labels, ".")
}

func maxItems(p *int32, def int) (int, error) {
	if p == nil {
		return def, nil
	}
	if *p < 1 {
		return 0, core.Errorf("InvalidInput", "MaxItems must be a positive number")
	}
	return min(int(*p), def), nil
}

func (r *Route53) listHostedZones(_ context.Context, _ *core.Request, in *r53.ListHostedZonesInput) (*r53.ListHostedZonesOutput, error) {
	n, err := maxItems(in.MaxItems, 100)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	all := r.sortedZones()
	start := 0
	if m := aws.ToString(in.Marker); m != "" {
		start = -1
		for i, z := range all {
			if zoneID(z.Zone.Id) == zoneID(&m) {
				start = i
			}
		}
		if start < 0 {
			return nil, core.Errorf("InvalidInput", "Invalid marker %s", m)
		}
	}
	out := &r53.ListHostedZonesOutput{HostedZones: []types.HostedZone{}, Marker: in.Marker, MaxItems: aws.Int32(int32(n))}
	for i := start; i < len(all); i++ {
		if len(out.HostedZones) == n {
			out.IsTruncated = true
			out.NextMarker = aws.String(zoneID(all[i].Zone.Id))
			break
		}
		out.HostedZones = append(out.HostedZones, all[i].Zone)
	}
	return out, nil
}

func (r *Route53) listHostedZonesByName(_ context.Context, _ *core.Request, in *r53.ListHostedZonesByNameInput) (*r53.ListHostedZonesByNameOutput, error) {
	n, err := maxItems(in.MaxItems, 100)
	if err != nil {
		return nil, err
	}
	if in.HostedZoneId != nil && in.DNSName == nil {
		return nil, core.Errorf("InvalidInput", "The DNS name is required when a hosted zone ID is specified")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := &r53.ListHostedZonesByNameOutput{HostedZones: []types.HostedZone{}, DNSName: in.DNSName, HostedZoneId: in.HostedZoneId,
		MaxItems: aws.Int32(int32(n))}
	from := ""
	if in.DNSName != nil {
		if _, ok := dns.IsDomainName(*in.DNSName); !ok {
			return nil, core.Errorf("InvalidDomainName", "%s is not a valid domain name", *in.DNSName)
		}
		from = reversed(*in.DNSName)
	}
	for _, z := range r.sortedZones() {
		rn := reversed(aws.ToString(z.Zone.Name))
		if rn < from || (rn == from && in.HostedZoneId != nil && zoneID(z.Zone.Id) < zoneID(in.HostedZoneId)) {
			continue
		}
		if len(out.HostedZones) == n {
			out.IsTruncated = true
			out.NextDNSName = z.Zone.Name
			out.NextHostedZoneId = aws.String(zoneID(z.Zone.Id))
			break
		}
		out.HostedZones = append(out.HostedZones, z.Zone)
	}
	return out, nil
}

func (r *Route53) getChange(_ context.Context, _ *core.Request, in *r53.GetChangeInput) (*r53.GetChangeOutput, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := strings.TrimPrefix(aws.ToString(in.Id), "/change/")
	c, ok := r.changes[id]
	if !ok {
		return nil, core.Errorf("NoSuchChange", "A change with the specified change ID does not exist.")
	}
	return &r53.GetChangeOutput{ChangeInfo: &c}, nil
}
