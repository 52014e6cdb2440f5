package route53

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	r53 "github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/miekg/dns"

	"github.com/bakehq/bake/sim/core"
	"github.com/bakehq/bake/sim/route53/dnsserver"
)

// describe names a record set the way Route53's error messages do.
func describe(rs types.ResourceRecordSet) string {
	s := fmt.Sprintf("[name='%s', type='%s'", aws.ToString(rs.Name), rs.Type)
	if rs.SetIdentifier != nil {
		s += fmt.Sprintf(", set-identifier='%s'", *rs.SetIdentifier)
	}
	return s + "]"
}

func changeDesc(action types.ChangeAction, rs types.ResourceRecordSet) string {
	set := "null"
	if rs.SetIdentifier != nil {
		set = *rs.SetIdentifier
	}
	return fmt.Sprintf("[Action=%s, Name=%s, Type=%s, SetIdentifier=%s]", action, aws.ToString(rs.Name), rs.Type, set)
}

func sameKey(a, b types.ResourceRecordSet) bool {
	return aws.ToString(a.Name) == aws.ToString(b.Name) && a.Type == b.Type &&
		aws.ToString(a.SetIdentifier) == aws.ToString(b.SetIdentifier)
}

func batchErr(format string, args ...any) error {
	return core.Errorf("InvalidChangeBatch", "[%s]", fmt.Sprintf(format, args...))
}

// checkRecord validates one record set of a change on its own and returns
// it normalized (lower-case fully-qualified names).
func checkRecord(apex string, action types.ChangeAction, rs types.ResourceRecordSet) (types.ResourceRecordSet, error) {
	rs.Name = aws.String(dns.CanonicalName(aws.ToString(rs.Name)))
	name := *rs.Name
	if _, ok := dns.IsDomainName(name); !ok {
		return rs, core.Errorf("InvalidInput", "Invalid request: %s is not a valid DNS name in Change with %s", name, changeDesc(action, rs))
	}
	if !dns.IsSubDomain(apex, name) {
		return rs, batchErr("RRSet with DNS name %s is not permitted in zone %s", name, apex)
	}
	if _, ok := dns.StringToType[string(rs.Type)]; !ok || rs.Type == "" {
		return rs, core.Errorf("InvalidInput", "Invalid request: unknown record type '%s' in Change with %s", rs.Type, changeDesc(action, rs))
	}
	if rs.Failover != "" || rs.GeoLocation != nil || rs.Region != "" || rs.MultiValueAnswer != nil ||
		rs.CidrRoutingConfig != nil || rs.GeoProximityLocation != nil || rs.TrafficPolicyInstanceId != nil || rs.HealthCheckId != nil {
		return rs, core.Errorf("InvalidInput", "bake sim serves simple, weighted and alias records; remove the other routing settings from %s", changeDesc(action, rs))
	}
	switch {
	case rs.SetIdentifier != nil && rs.Weight == nil:
		return rs, core.Errorf("InvalidInput", "Invalid request: Expected exactly one of [Weight, Region, Failover, GeoLocation, MultiValueAnswer, GeoProximityLocation, or CidrRoutingConfig], but found none in Change with %s", changeDesc(action, rs))
	case rs.SetIdentifier == nil && rs.Weight != nil:
		return rs, core.Errorf("InvalidInput", "Invalid request: Missing field 'SetIdentifier' in Change with %s", changeDesc(action, rs))
	case rs.Weight != nil && (*rs.Weight < 0 || *rs.Weight > 255):
		return rs, core.Errorf("InvalidInput", "Invalid request: Weight must be between 0 and 255 in Change with %s", changeDesc(action, rs))
	}
	hasRecords := rs.TTL != nil || len(rs.ResourceRecords) > 0
	switch {
	case rs.AliasTarget != nil && hasRecords:
		return rs, core.Errorf("InvalidInput", "Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found more than one in Change with %s", changeDesc(action, rs))
	case rs.AliasTarget == nil && (rs.TTL == nil || len(rs.ResourceRecords) == 0):
		return rs, core.Errorf("InvalidInput", "Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none in Change with %s", changeDesc(action, rs))
	case rs.AliasTarget != nil:
		at := *rs.AliasTarget
		at.DNSName = aws.String(dns.CanonicalName(aws.ToString(at.DNSName)))
		rs.AliasTarget = &at
	case *rs.TTL < 0 || *rs.TTL > 2147483647:
		return rs, core.Errorf("InvalidInput", "Invalid request: TTL must be between 0 and 2147483647 in Change with %s", changeDesc(action, rs))
	}
	if rs.Type == types.RRTypeCname && len(rs.ResourceRecords) > 1 {
		return rs, batchErr("RRSet of type CNAME with DNS name %s contains more than one value", name)
	}
	for _, v := range rs.ResourceRecords {
		if err := dnsserver.ValidValue(string(rs.Type), aws.ToString(v.Value)); err != nil {
			return rs, batchErr("Invalid Resource Record: 'FATAL problem: %s encountered with '%s''", err, aws.ToString(v.Value))
		}
	}
	return rs, nil
}

// apply runs one change against records, returning the new list.
func apply(apex string, records []types.ResourceRecordSet, action types.ChangeAction, rs types.ResourceRecordSet) ([]types.ResourceRecordSet, error) {
	i := slices.IndexFunc(records, func(x types.ResourceRecordSet) bool { return sameKey(x, rs) })
	name := aws.ToString(rs.Name)
	apexRecord := name == apex && (rs.Type == types.RRTypeSoa || rs.Type == types.RRTypeNs)
	switch action {
	case types.ChangeActionDelete:
		if i < 0 {
			return nil, batchErr("Tried to delete resource record set %s but it was not found", describe(rs))
		}
		if !sameRecord(records[i], rs) {
			return nil, batchErr("Tried to delete resource record set %s but the values provided do not match the current values", describe(rs))
		}
		if apexRecord {
			return nil, batchErr("A HostedZone must contain exactly one SOA record and at least one NS record for the zone itself.")
		}
		return slices.Delete(slices.Clone(records), i, i+1), nil
	case types.ChangeActionCreate:
		if i >= 0 {
			return nil, batchErr("Tried to create resource record set %s but it already exists", describe(rs))
		}
	case types.ChangeActionUpsert:
	default:
		return nil, core.Errorf("InvalidInput", "Invalid request: Action '%s' must be one of CREATE, DELETE, UPSERT", action)
	}
	for j, x := range records {
		if j == i || aws.ToString(x.Name) != name {
			continue
		}
		if (rs.Type == types.RRTypeCname) != (x.Type == types.RRTypeCname) {
			return nil, batchErr("RRSet of type %s with DNS name %s is not permitted as it conflicts with other records with the same DNS name in zone %s", rs.Type, name, apex)
		}
		if x.Type == rs.Type && (x.SetIdentifier == nil) != (rs.SetIdentifier == nil) {
			return nil, batchErr("RRSet with DNS name %s, type %s cannot be created as a set with a different routing policy exists with the same name and type", name, rs.Type)
		}
	}
	if rs.Type == types.RRTypeCname && name == apex {
		return nil, batchErr("RRSet of type CNAME with DNS name %s is not permitted at apex in zone %s", name, apex)
	}
	out := slices.Clone(records)
	if i >= 0 {
		out[i] = rs
	} else {
		out = append(out, rs)
	}
	return out, nil
}

// sameRecord reports whether a DELETE's record set matches the stored one.
func sameRecord(a, b types.ResourceRecordSet) bool {
	if aws.ToInt64(a.TTL) != aws.ToInt64(b.TTL) || aws.ToInt64(a.Weight) != aws.ToInt64(b.Weight) ||
		(a.AliasTarget == nil) != (b.AliasTarget == nil) || len(a.ResourceRecords) != len(b.ResourceRecords) {
		return false
	}
	if a.AliasTarget != nil && aws.ToString(a.AliasTarget.DNSName) != aws.ToString(b.AliasTarget.DNSName) {
		return false
	}
	av, bv := values(a), values(b)
	return slices.Equal(av, bv)
}

func values(rs types.ResourceRecordSet) []string {
	var out []string
	for _, v := range rs.ResourceRecords {
		out = append(out, strings.ToLower(aws.ToString(v.Value)))
	}
	sort.Strings(out)
	return out
}

func (r *Route53) changeResourceRecordSets(_ context.Context, _ *core.Request, in *r53.ChangeResourceRecordSetsInput) (*r53.ChangeResourceRecordSetsOutput, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := zoneID(in.HostedZoneId)
	z := r.zones[id]
	if z == nil {
		return nil, errNoZone(id)
	}
	if in.ChangeBatch == nil || len(in.ChangeBatch.Changes) == 0 {
		return nil, core.Errorf("InvalidInput", "Invalid request: the change batch must contain at least one change")
	}
	apex := aws.ToString(z.Zone.Name)
	records := z.Records
	for _, c := range in.ChangeBatch.Changes {
		if c.ResourceRecordSet == nil {
			return nil, core.Errorf("InvalidInput", "Invalid request: a change has no ResourceRecordSet")
		}
		rs, err := checkRecord(apex, c.Action, *c.ResourceRecordSet)
		if err != nil {
			return nil, err
		}
		if records, err = apply(apex, records, c.Action, rs); err != nil {
			return nil, err // the batch is all or nothing: z is untouched
		}
	}
	sortRecords(records)
	z.Records = records
	z.Zone.ResourceRecordSetCount = aws.Int64(int64(len(records)))
	r.publish(z)
	r.save()
	return &r53.ChangeResourceRecordSetsOutput{ChangeInfo: ptr(r.newChange(in.ChangeBatch.Comment))}, nil
}

// sortRecords orders record sets as Route53 lists them: by name with
// labels reversed, then type, then set identifier.
func sortRecords(rs []types.ResourceRecordSet) {
	sort.SliceStable(rs, func(i, j int) bool { return recordLess(rs[i], rs[j]) })
}

func recordLess(a, b types.ResourceRecordSet) bool {
	an, bn := reversed(aws.ToString(a.Name)), reversed(aws.ToString(b.Name))
	if an != bn {
		return an < bn
	}
	if a.Type != b.Type {
		return a.Type < b.Type
	}
	return aws.ToString(a.SetIdentifier) < aws.ToString(b.SetIdentifier)
}

func (r *Route53) listResourceRecordSets(_ context.Context, _ *core.Request, in *r53.ListResourceRecordSetsInput) (*r53.ListResourceRecordSetsOutput, error) {
	n, err := maxItems(in.MaxItems, 300)
	if err != nil {
		return nil, err
	}
	if in.StartRecordType != "" && in.StartRecordName == nil {
		return nil, core.Errorf("InvalidInput", "The input is not valid: StartRecordType requires StartRecordName")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	id := zoneID(in.HostedZoneId)
	z := r.zones[id]
	if z == nil {
		return nil, errNoZone(id)
	}
	out := &r53.ListResourceRecordSetsOutput{ResourceRecordSets: []types.ResourceRecordSet{}, MaxItems: aws.Int32(int32(n))}
	start := types.ResourceRecordSet{Name: in.StartRecordName, Type: in.StartRecordType, SetIdentifier: in.StartRecordIdentifier}
	if start.Name != nil {
		start.Name = aws.String(dns.CanonicalName(*start.Name))
	}
	for _, rs := range z.Records {
		if in.StartRecordName != nil && recordLess(rs, start) {
			continue
		}
		if len(out.ResourceRecordSets) == n {
			out.IsTruncated = true
			out.NextRecordName, out.NextRecordType, out.NextRecordIdentifier = rs.Name, rs.Type, rs.SetIdentifier
			break
		}
		out.ResourceRecordSets = append(out.ResourceRecordSets, rs)
	}
	return out, nil
}
