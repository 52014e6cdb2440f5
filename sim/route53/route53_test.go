package route53_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	r53 "github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"
	"github.com/miekg/dns"

	"github.com/bakehq/bake/sim/core"
	"github.com/bakehq/bake/sim/route53"
	"github.com/bakehq/bake/sim/route53/dnsserver"
)

type env struct {
	c   *r53.Client
	dns *dnsserver.Server
	srv *core.Server
}

func newEnv(t *testing.T, store *core.Store) *env {
	t.Helper()
	srv := core.NewServer(core.Config{Store: store})
	d, err := route53.StartDNS(srv, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, svc, err := route53.New(route53.Config{Server: srv, DNS: d})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Add(svc); err != nil {
		t.Fatal(err)
	}
	d.SetHost("web-123.us-east-1.elb.amazonaws.com", "127.0.50.1")
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	c := r53.New(r53.Options{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDSIM", "secret", "")})
	return &env{c: c, dns: d, srv: srv}
}

type result[T any] struct {
	v   T
	err error
}

func do[T any](v T, err error) result[T] { return result[T]{v, err} }

func (r result[T]) must(t *testing.T) T {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.v
}

func apiErr(err error) (string, int) {
	var ae smithy.APIError
	code := ""
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	var re interface{ HTTPStatusCode() int }
	status := 0
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return code, status
}

func (e *env) query(t *testing.T, name string, qt uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qt)
	r, err := dns.Exchange(m, e.dns.Addr())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func change(action types.ChangeAction, rs types.ResourceRecordSet) types.Change {
	return types.Change{Action: action, ResourceRecordSet: &rs}
}

func a(name string, ttl int64, ips ...string) types.ResourceRecordSet {
	rs := types.ResourceRecordSet{Name: aws.String(name), Type: types.RRTypeA, TTL: aws.Int64(ttl)}
	for _, ip := range ips {
		rs.ResourceRecords = append(rs.ResourceRecords, types.ResourceRecord{Value: aws.String(ip)})
	}
	return rs
}

func TestHostedZonesAndRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	hz := do(e.c.CreateHostedZone(ctx, &r53.CreateHostedZoneInput{Name: aws.String("example.com"), CallerReference: aws.String("ref-1")})).must(t)
	if !strings.HasPrefix(aws.ToString(hz.HostedZone.Id), "/hostedzone/Z") || aws.ToString(hz.HostedZone.Name) != "example.com." ||
		len(hz.DelegationSet.NameServers) != 4 || hz.ChangeInfo.Status != types.ChangeStatusPending ||
		!strings.HasSuffix(aws.ToString(hz.Location), strings.TrimPrefix(*hz.HostedZone.Id, "/hostedzone/")) {
		t.Errorf("created zone %+v %+v", hz.HostedZone, hz.ChangeInfo)
	}
	if _, err := e.c.CreateHostedZone(ctx, &r53.CreateHostedZoneInput{Name: aws.String("example.com"), CallerReference: aws.String("ref-1")}); func() bool {
		c, s := apiErr(err)
		return c != "HostedZoneAlreadyExists" || s != 409
	}() {
		t.Errorf("same caller reference: %v", err)
	}
	do(e.c.CreateHostedZone(ctx, &r53.CreateHostedZoneInput{Name: aws.String("b.example.org"), CallerReference: aws.String("ref-2")})).must(t)
	id := hz.HostedZone.Id

	ch := do(e.c.ChangeResourceRecordSets(ctx, &r53.ChangeResourceRecordSetsInput{HostedZoneId: id, ChangeBatch: &types.ChangeBatch{
		Comment: aws.String("first"),
		Changes: []types.Change{
			change(types.ChangeActionCreate, a("www.example.com", 300, "127.0.1.1", "127.0.1.2")),
			change(types.ChangeActionCreate, types.ResourceRecordSet{Name: aws.String("app.example.com"), Type: types.RRTypeCname,
				TTL: aws.Int64(60), ResourceRecords: []types.ResourceRecord{{Value: aws.String("www.example.com")}}}),
			change(types.ChangeActionCreate, types.ResourceRecordSet{Name: aws.String("lb.example.com"), Type: types.RRTypeA,
				AliasTarget: &types.AliasTarget{HostedZoneId: aws.String("Z35SXDOTRQ7X7K"), DNSName: aws.String("web-123.us-east-1.elb.amazonaws.com"), EvaluateTargetHealth: true}}),
			change(types.ChangeActionCreate, func() types.ResourceRecordSet {
				rs := a("canary.example.com", 10, "127.0.2.1")
				rs.SetIdentifier, rs.Weight = aws.String("blue"), aws.Int64(255)
				return rs
			}()),
			change(types.ChangeActionCreate, func() types.ResourceRecordSet {
				rs := a("canary.example.com", 10, "127.0.2.2")
				rs.SetIdentifier, rs.Weight = aws.String("green"), aws.Int64(0)
				return rs
			}()),
		}}})).must(t)
	got := do(e.c.GetChange(ctx, &r53.GetChangeInput{Id: ch.ChangeInfo.Id})).must(t)
	if got.ChangeInfo.Status != types.ChangeStatusInsync || aws.ToString(got.ChangeInfo.Comment) != "first" {
		t.Errorf("change %+v", got.ChangeInfo)
	}

	for _, tc := range []struct {
		name string
		qt   uint16
		want []string
	}{
		{"www.example.com", dns.TypeA, []string{"www.example.com.\t300\tIN\tA\t127.0.1.1", "www.example.com.\t300\tIN\tA\t127.0.1.2"}},
		{"app.example.com", dns.TypeA, []string{"app.example.com.\t60\tIN\tCNAME\twww.example.com.", "www.example.com.\t300\tIN\tA\t127.0.1.1", "www.example.com.\t300\tIN\tA\t127.0.1.2"}},
		{"lb.example.com", dns.TypeA, []string{"lb.example.com.\t60\tIN\tA\t127.0.50.1"}},
		{"canary.example.com", dns.TypeA, []string{"canary.example.com.\t10\tIN\tA\t127.0.2.1"}},
	} {
		r := e.query(t, tc.name, tc.qt)
		var ans []string
		for _, rr := range r.Answer {
			ans = append(ans, rr.String())
		}
		if strings.Join(ans, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s: %q, want %q", tc.name, ans, tc.want)
		}
	}

	// UPSERT changes the answer; DELETE must match
	do(e.c.ChangeResourceRecordSets(ctx, &r53.ChangeResourceRecordSetsInput{HostedZoneId: id, ChangeBatch: &types.ChangeBatch{
		Changes: []types.Change{change(types.ChangeActionUpsert, a("www.example.com", 5, "127.0.1.9"))}}})).must(t)
	if r := e.query(t, "www.example.com", dns.TypeA); len(r.Answer) != 1 || r.Answer[0].Header().Ttl != 5 {
		t.Errorf("after UPSERT: %v", r.Answer)
	}
	list := do(e.c.ListResourceRecordSets(ctx, &r53.ListResourceRecordSetsInput{HostedZoneId: id})).must(t)
	var names []string
	for _, rs := range list.ResourceRecordSets {
		names = append(names, aws.ToString(rs.Name)+" "+string(rs.Type)+" "+aws.ToString(rs.SetIdentifier))
	}
	want := []string{"example.com. NS ", "example.com. SOA ", "app.example.com. CNAME ", "canary.example.com. A blue",
		"canary.example.com. A green", "lb.example.com. A ", "www.example.com. A "}
	if strings.Join(names, "|") != strings.Join(want, "|") {
		t.Errorf("records:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
	page := do(e.c.ListResourceRecordSets(ctx, &r53.ListResourceRecordSetsInput{HostedZoneId: id, MaxItems: aws.Int32(2),
		StartRecordName: aws.String("canary.example.com")})).must(t)
	if len(page.ResourceRecordSets) != 2 || !page.IsTruncated || aws.ToString(page.NextRecordName) != "lb.example.com." {
		t.Errorf("page %+v next %v", page.ResourceRecordSets, aws.ToString(page.NextRecordName))
	}

	zones := do(e.c.ListHostedZones(ctx, &r53.ListHostedZonesInput{})).must(t)
	if len(zones.HostedZones) != 2 || aws.ToString(zones.HostedZones[0].Name) != "example.com." {
		t.Errorf("zones %+v", zones.HostedZones)
	}
	byName := do(e.c.ListHostedZonesByName(ctx, &r53.ListHostedZonesByNameInput{DNSName: aws.String("example.org")})).must(t)
	if len(byName.HostedZones) != 1 || aws.ToString(byName.HostedZones[0].Name) != "b.example.org." {
		t.Errorf("zones by name from example.org %+v", byName.HostedZones)
	}
	if gz := do(e.c.GetHostedZone(ctx, &r53.GetHostedZoneInput{Id: id})).must(t); aws.ToInt64(gz.HostedZone.ResourceRecordSetCount) != 7 {
		t.Errorf("record count %d", aws.ToInt64(gz.HostedZone.ResourceRecordSetCount))
	}
	if _, err := e.c.DeleteHostedZone(ctx, &r53.DeleteHostedZoneInput{Id: id}); func() bool { c, _ := apiErr(err); return c != "HostedZoneNotEmpty" }() {
		t.Errorf("delete a zone with records: %v", err)
	}
}

// TestAliasWithoutTargetHealth is the everyday alias record: the SDK sends
// EvaluateTargetHealth=false, which is a value, not a missing member.
func TestAliasWithoutTargetHealth(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	id := do(e.c.CreateHostedZone(ctx, &r53.CreateHostedZoneInput{Name: aws.String("example.com"), CallerReference: aws.String("r")})).must(t).HostedZone.Id
	_, err := e.c.ChangeResourceRecordSets(ctx, &r53.ChangeResourceRecordSetsInput{HostedZoneId: id, ChangeBatch: &types.ChangeBatch{
		Changes: []types.Change{change(types.ChangeActionCreate, types.ResourceRecordSet{Name: aws.String("lb.example.com"), Type: types.RRTypeA,
			AliasTarget: &types.AliasTarget{HostedZoneId: aws.String("Z35SXDOTRQ7X7K"), DNSName: aws.String("web-123.us-east-1.elb.amazonaws.com")}})}}})
	if err != nil {
		t.Fatalf("alias with EvaluateTargetHealth=false refused (sim/core's required-member check treats a false bool as missing): %v", err)
	}
	if r := e.query(t, "lb.example.com", dns.TypeA); len(r.Answer) != 1 {
		t.Errorf("alias answers %v", r.Answer)
	}
}

func TestChangeBatchErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	id := do(e.c.CreateHostedZone(ctx, &r53.CreateHostedZoneInput{Name: aws.String("example.com"), CallerReference: aws.String("r")})).must(t).HostedZone.Id
	do(e.c.ChangeResourceRecordSets(ctx, &r53.ChangeResourceRecordSetsInput{HostedZoneId: id, ChangeBatch: &types.ChangeBatch{
		Changes: []types.Change{change(types.ChangeActionCreate, a("www.example.com", 300, "127.0.0.1"))}}})).must(t)
	weighted := a("w.example.com", 60, "127.0.0.2")
	weighted.Weight = aws.Int64(1)
	for _, tc := range []struct {
		name   string
		zone   *string
		change types.Change
		code   string
		status int
		msg    string
	}{
		{"create existing", id, change(types.ChangeActionCreate, a("www.example.com", 300, "127.0.0.1")), "InvalidChangeBatch", 400,
			"Tried to create resource record set [name='www.example.com.', type='A'] but it already exists"},
		{"delete missing", id, change(types.ChangeActionDelete, a("nope.example.com", 300, "127.0.0.1")), "InvalidChangeBatch", 400, "but it was not found"},
		{"delete mismatch", id, change(types.ChangeActionDelete, a("www.example.com", 60, "127.0.0.1")), "InvalidChangeBatch", 400, "do not match"},
		{"outside zone", id, change(types.ChangeActionCreate, a("www.example.org", 300, "127.0.0.1")), "InvalidChangeBatch", 400, "is not permitted in zone"},
		{"bad ip", id, change(types.ChangeActionCreate, a("x.example.com", 300, "300.1.1.1")), "InvalidChangeBatch", 400, "Invalid Resource Record"},
		{"cname conflict", id, change(types.ChangeActionCreate, types.ResourceRecordSet{Name: aws.String("www.example.com"), Type: types.RRTypeCname,
			TTL: aws.Int64(1), ResourceRecords: []types.ResourceRecord{{Value: aws.String("x.example.com")}}}), "InvalidChangeBatch", 400, "conflicts"},
		{"weight without set id", id, change(types.ChangeActionCreate, weighted), "InvalidInput", 400, "SetIdentifier"},
		{"no ttl", id, change(types.ChangeActionCreate, types.ResourceRecordSet{Name: aws.String("y.example.com"), Type: types.RRTypeA,
			ResourceRecords: []types.ResourceRecord{{Value: aws.String("127.0.0.1")}}}), "InvalidInput", 400, "Expected exactly one of"},
		{"delete soa", id, change(types.ChangeActionDelete, types.ResourceRecordSet{Name: aws.String("example.com"), Type: types.RRTypeSoa, TTL: aws.Int64(900),
			ResourceRecords: []types.ResourceRecord{{Value: aws.String("ns-1536.awsdns-00.co.uk. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400")}}}),
			"InvalidChangeBatch", 400, "SOA"},
		{"unknown zone", aws.String("Z0000000000000000000X"), change(types.ChangeActionCreate, a("www.example.com", 300, "127.0.0.1")), "NoSuchHostedZone", 404, "No hosted zone found with ID: Z0000000000000000000X"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.c.ChangeResourceRecordSets(ctx, &r53.ChangeResourceRecordSetsInput{HostedZoneId: tc.zone,
				ChangeBatch: &types.ChangeBatch{Changes: []types.Change{tc.change}}})
			code, status := apiErr(err)
			if code != tc.code || status != tc.status || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("got %s %d (%v), want %s %d containing %q", code, status, err, tc.code, tc.status, tc.msg)
			}
		})
	}
	// a batch is all or nothing
	_, err := e.c.ChangeResourceRecordSets(ctx, &r53.ChangeResourceRecordSetsInput{HostedZoneId: id, ChangeBatch: &types.ChangeBatch{
		Changes: []types.Change{change(types.ChangeActionCreate, a("new.example.com", 1, "127.0.0.3")),
			change(types.ChangeActionCreate, a("www.example.com", 300, "127.0.0.1"))}}})
	if err == nil {
		t.Fatal("a batch with a failing change succeeded")
	}
	if r := e.query(t, "new.example.com", dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Errorf("the good half of a failed batch was applied: %v", r)
	}
	if _, err := e.c.GetChange(ctx, &r53.GetChangeInput{Id: aws.String("C0000")}); func() bool { c, s := apiErr(err); return c != "NoSuchChange" || s != 404 }() {
		t.Errorf("unknown change: %v", err)
	}
	if _, err := e.c.ListResourceRecordSets(ctx, &r53.ListResourceRecordSetsInput{HostedZoneId: aws.String("ZNOPE")}); func() bool { c, s := apiErr(err); return c != "NoSuchHostedZone" || s != 404 }() {
		t.Errorf("records of an unknown zone: %v", err)
	}
	if _, err := e.c.CreateHostedZone(ctx, &r53.CreateHostedZoneInput{Name: aws.String("bad..name"), CallerReference: aws.String("x")}); func() bool { c, _ := apiErr(err); return c != "InvalidDomainName" }() {
		t.Errorf("bad zone name: %v", err)
	}
}

func TestZonesPersist(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	e := newEnv(t, &core.Store{Dir: dir})
	id := do(e.c.CreateHostedZone(ctx, &r53.CreateHostedZoneInput{Name: aws.String("keep.test"), CallerReference: aws.String("r")})).must(t).HostedZone.Id
	do(e.c.ChangeResourceRecordSets(ctx, &r53.ChangeResourceRecordSetsInput{HostedZoneId: id, ChangeBatch: &types.ChangeBatch{
		Changes: []types.Change{change(types.ChangeActionCreate, a("www.keep.test", 300, "127.0.0.7"))}}})).must(t)
	e2 := newEnv(t, &core.Store{Dir: dir})
	if r := e2.query(t, "www.keep.test", dns.TypeA); len(r.Answer) != 1 {
		t.Errorf("restored zone answers %v", r)
	}
	if _, err := http.Get("http://127.0.0.1:1"); err == nil {
		t.Log("port 1 answered; ignoring")
	}
}
