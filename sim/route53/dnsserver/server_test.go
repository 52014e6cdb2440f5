package dnsserver

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func ptr(n int64) *int64 { return &n }

func start(t *testing.T) *Server {
	t.Helper()
	s := New()
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return s
}

func exampleZone() Zone {
	return Zone{ID: "Z1", Name: "example.com", Records: []RecordSet{
		{Name: "example.com.", Type: "SOA", TTL: 900, Values: []string{
			"ns-1.awsdns-01.org. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"}},
		{Name: "example.com.", Type: "NS", TTL: 172800, Values: []string{"ns-1.awsdns-01.org."}},
		{Name: "www.example.com", Type: "A", TTL: 300, Values: []string{"127.0.1.1", "127.0.1.2"}},
		{Name: "alias.example.com", Type: "CNAME", TTL: 120, Values: []string{"www.example.com."}},
		{Name: "txt.example.com", Type: "TXT", TTL: 30, Values: []string{`"hello world"`}},
		{Name: "app.example.com", Type: "A", TTL: 10, SetID: "blue", Weight: ptr(3), Values: []string{"127.0.2.1"}},
		{Name: "app.example.com", Type: "A", TTL: 10, SetID: "green", Weight: ptr(1), Values: []string{"127.0.2.2"}},
		{Name: "off.example.com", Type: "A", TTL: 10, SetID: "a", Weight: ptr(0), Values: []string{"127.0.3.1"}},
		{Name: "off.example.com", Type: "A", TTL: 10, SetID: "b", Weight: ptr(5), Values: []string{"127.0.3.2"}},
		{Name: "lb.example.com", Type: "A", Alias: &Alias{DNSName: "my-alb-1.us-east-1.elb.amazonaws.com"}},
		{Name: "apex-alias.example.com", Type: "A", Alias: &Alias{DNSName: "www.example.com"}},
		{Name: "a.b.deep.example.com", Type: "A", TTL: 60, Values: []string{"127.0.4.1"}},
		{Name: "out.example.com", Type: "CNAME", TTL: 60, Values: []string{"elsewhere.invalid."}},
	}}
}

func query(t *testing.T, s *Server, netw, name string, qtype uint16) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: netw, Timeout: 2 * time.Second}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	r, _, err := c.Exchange(m, s.Addr())
	if err != nil {
		t.Fatalf("query %s %s over %s: %v", name, dns.TypeToString[qtype], netw, err)
	}
	return r
}

func answers(r *dns.Msg) []string {
	var out []string
	for _, rr := range r.Answer {
		out = append(out, strings.ReplaceAll(rr.String(), "\t", " "))
	}
	return out
}

func TestAnswers(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.SetZone(exampleZone())
	s.SetHost("my-alb-1.us-east-1.elb.amazonaws.com", "127.0.9.9")
	for _, tc := range []struct {
		name  string
		qtype uint16
		rcode int
		want  []string
		ns    bool // SOA in the authority section
	}{
		{name: "www.example.com", qtype: dns.TypeA,
			want: []string{"www.example.com. 300 IN A 127.0.1.1", "www.example.com. 300 IN A 127.0.1.2"}},
		{name: "WWW.Example.COM", qtype: dns.TypeA,
			want: []string{"www.example.com. 300 IN A 127.0.1.1", "www.example.com. 300 IN A 127.0.1.2"}},
		{name: "alias.example.com", qtype: dns.TypeA, want: []string{
			"alias.example.com. 120 IN CNAME www.example.com.",
			"www.example.com. 300 IN A 127.0.1.1", "www.example.com. 300 IN A 127.0.1.2"}},
		{name: "alias.example.com", qtype: dns.TypeCNAME, want: []string{"alias.example.com. 120 IN CNAME www.example.com."}},
		{name: "txt.example.com", qtype: dns.TypeTXT, want: []string{`txt.example.com. 30 IN TXT "hello world"`}},
		{name: "lb.example.com", qtype: dns.TypeA, want: []string{"lb.example.com. 60 IN A 127.0.9.9"}},
		{name: "apex-alias.example.com", qtype: dns.TypeA,
			want: []string{"apex-alias.example.com. 300 IN A 127.0.1.1", "apex-alias.example.com. 300 IN A 127.0.1.2"}},
		{name: "my-alb-1.us-east-1.elb.amazonaws.com", qtype: dns.TypeA,
			want: []string{"my-alb-1.us-east-1.elb.amazonaws.com. 60 IN A 127.0.9.9"}},
		{name: "off.example.com", qtype: dns.TypeA, want: []string{"off.example.com. 10 IN A 127.0.3.2"}},
		{name: "out.example.com", qtype: dns.TypeA, want: []string{"out.example.com. 60 IN CNAME elsewhere.invalid."}},
		{name: "www.example.com", qtype: dns.TypeAAAA, ns: true},                          // NODATA
		{name: "deep.example.com", qtype: dns.TypeA, ns: true},                            // empty non-terminal
		{name: "nope.example.com", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: true}, // NXDOMAIN
		{name: "example.org", qtype: dns.TypeA, rcode: dns.RcodeRefused},                  // not ours
		{name: "example.com", qtype: dns.TypeNS, want: []string{"example.com. 172800 IN NS ns-1.awsdns-01.org."}},
	} {
		for _, netw := range []string{"udp", "tcp"} {
			t.Run(netw+" "+tc.name+" "+dns.TypeToString[tc.qtype], func(t *testing.T) {
				t.Parallel()
				r := query(t, s, netw, tc.name, tc.qtype)
				if r.Rcode != tc.rcode {
					t.Fatalf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.rcode])
				}
				if got := answers(r); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
					t.Errorf("answers:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
				}
				if tc.ns != (len(r.Ns) == 1 && r.Ns[0].Header().Rrtype == dns.TypeSOA) {
					t.Errorf("authority %v, want SOA: %v", r.Ns, tc.ns)
				}
				if tc.rcode != dns.RcodeRefused && !r.Authoritative {
					t.Error("answer is not authoritative")
				}
			})
		}
	}
}

func TestWeightedChoiceFollowsWeights(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.SetZone(exampleZone())
	counts := map[string]int{}
	const n = 800
	for range n {
		r := query(t, s, "udp", "app.example.com", dns.TypeA)
		if len(r.Answer) != 1 {
			t.Fatalf("weighted answer has %d records, want 1", len(r.Answer))
		}
		counts[r.Answer[0].(*dns.A).A.String()]++
	}
	// weights 3:1 → 600 ± 12.2 sd for blue; allow 5 sd
	if b := counts["127.0.2.1"]; b < 539 || b > 661 {
		t.Errorf("blue answered %d of %d at weight 3/4: %v", b, n, counts)
	}
}

func TestChangesApplyToTheNextQuery(t *testing.T) {
	t.Parallel()
	s := start(t)
	if r := query(t, s, "udp", "www.example.com", dns.TypeA); r.Rcode != dns.RcodeRefused {
		t.Fatalf("before the zone exists: %s, want REFUSED", dns.RcodeToString[r.Rcode])
	}
	z := exampleZone()
	s.SetZone(z)
	z.Records[2].Values = []string{"127.0.7.7"}
	z.Records[2].TTL = 5
	s.SetZone(z)
	if got := answers(query(t, s, "udp", "www.example.com", dns.TypeA)); len(got) != 1 || got[0] != "www.example.com. 5 IN A 127.0.7.7" {
		t.Errorf("after UPSERT: %v", got)
	}
	s.RemoveZone("Z1")
	if r := query(t, s, "udp", "www.example.com", dns.TypeA); r.Rcode != dns.RcodeRefused {
		t.Errorf("after the zone is gone: %s, want REFUSED", dns.RcodeToString[r.Rcode])
	}
	s.SetHost("lb.elb.amazonaws.com", "127.0.9.1")
	s.SetHost("lb.elb.amazonaws.com")
	if r := query(t, s, "udp", "lb.elb.amazonaws.com", dns.TypeA); r.Rcode != dns.RcodeRefused {
		t.Errorf("removed host: %s, want REFUSED", dns.RcodeToString[r.Rcode])
	}
}

func TestMostSpecificZoneAnswers(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.SetZone(exampleZone())
	s.SetZone(Zone{ID: "Z2", Name: "sub.example.com", Records: []RecordSet{
		{Name: "x.sub.example.com", Type: "A", TTL: 1, Values: []string{"127.0.5.5"}}}})
	if got := answers(query(t, s, "udp", "x.sub.example.com", dns.TypeA)); len(got) != 1 || !strings.HasSuffix(got[0], "127.0.5.5") {
		t.Errorf("sub zone answer %v", got)
	}
}

func TestAliasLoopFails(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.SetZone(Zone{ID: "Z3", Name: "loop.test", Records: []RecordSet{
		{Name: "a.loop.test", Type: "A", Alias: &Alias{DNSName: "b.loop.test"}},
		{Name: "b.loop.test", Type: "A", Alias: &Alias{DNSName: "a.loop.test"}},
	}})
	if r := query(t, s, "udp", "a.loop.test", dns.TypeA); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("alias loop: %s, want SERVFAIL", dns.RcodeToString[r.Rcode])
	}
}

func TestValidValue(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		typ, v string
		ok     bool
	}{
		{"A", "127.0.0.1", true}, {"A", "not-an-ip", false}, {"CNAME", "x.example.com.", true},
		{"TXT", `"x"`, true}, {"MX", "10 mail.example.com.", true}, {"MX", "mail", false},
	} {
		if err := ValidValue(tc.typ, tc.v); (err == nil) != tc.ok {
			t.Errorf("ValidValue(%s, %q) = %v, want ok %v", tc.typ, tc.v, err, tc.ok)
		}
	}
}

func FuzzResolve(f *testing.F) {
	f.Add("www.example.com.", uint16(dns.TypeA))
	f.Add("alias.example.com.", uint16(dns.TypeCNAME))
	f.Add("..", uint16(0))
	s := New()
	s.SetZone(exampleZone())
	s.SetHost("my-alb-1.us-east-1.elb.amazonaws.com", "127.0.9.9")
	f.Fuzz(func(t *testing.T, name string, qtype uint16) {
		if _, ok := dns.IsDomainName(name); !ok {
			return
		}
		a := s.data.Load().resolve(dns.CanonicalName(name), qtype, 0)
		if a.rcode == dns.RcodeSuccess && len(a.rrs) == 0 && a.soa == nil && s.data.Load().zoneFor(dns.CanonicalName(name)) != nil {
			t.Errorf("%q: empty success without SOA", name)
		}
	})
}
