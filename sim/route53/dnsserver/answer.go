package dnsserver

import (
	"fmt"
	"math/rand/v2"
	"net"

	"github.com/miekg/dns"
)

// maxChain bounds CNAME and alias chains, as resolvers do.
const maxChain = 8

func (s *Server) serve(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	if len(r.Question) != 1 || r.Opcode != dns.OpcodeQuery {
		m.Rcode = dns.RcodeNotImplemented
		if len(r.Question) != 1 {
			m.Rcode = dns.RcodeFormatError
		}
		_ = w.WriteMsg(m) // nothing to do about a client that went away
		return
	}
	q := r.Question[0]
	a := s.data.Load().resolve(dns.CanonicalName(q.Name), q.Qtype, 0)
	m.Rcode, m.Answer = a.rcode, a.rrs
	if a.soa != nil && (len(a.rrs) == 0 || a.rcode == dns.RcodeNameError) {
		m.Ns = []dns.RR{a.soa}
	}
	if a.rcode == dns.RcodeRefused {
		m.Authoritative = false
	}
	if _, udp := w.LocalAddr().(*net.UDPAddr); udp {
		size := dns.MinMsgSize
		if opt := r.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
			m.SetEdns0(opt.UDPSize(), false)
		}
		m.Truncate(size)
	}
	_ = w.WriteMsg(m) // nothing to do about a client that went away
}

type answer struct {
	rrs   []dns.RR
	rcode int
	soa   dns.RR // the zone's SOA, for negative answers
}

// resolve answers name/qtype from the snapshot, following CNAMEs and
// aliases through the names the server holds.
func (sn *snapshot) resolve(name string, qtype uint16, depth int) answer {
	if depth > maxChain {
		return answer{rcode: dns.RcodeServerFailure}
	}
	if ips, ok := sn.hosts[name]; ok {
		return answer{rrs: hostRRs(name, qtype, ips)}
	}
	z := sn.zoneFor(name)
	if z == nil {
		if depth > 0 {
			return answer{} // a CNAME out of our data: the client's resolver goes on
		}
		return answer{rcode: dns.RcodeRefused}
	}
	if qtype != dns.TypeCNAME {
		if sets := z.sets[name+" CNAME"]; len(sets) > 0 {
			rs := pick(sets)
			rrs := records(rs)
			if len(rrs) == 0 {
				return answer{rcode: dns.RcodeServerFailure}
			}
			next := sn.resolve(dns.CanonicalName(rrs[0].(*dns.CNAME).Target), qtype, depth+1)
			next.rrs = append(rrs[:1:1], next.rrs...)
			if next.soa == nil {
				next.soa = z.soa
			}
			return next
		}
	}
	sets := z.sets[name+" "+dns.TypeToString[qtype]]
	if len(sets) == 0 {
		if z.has[name] {
			return answer{soa: z.soa} // the name exists, without this type
		}
		return answer{rcode: dns.RcodeNameError, soa: z.soa}
	}
	rs := pick(sets)
	if rs.Alias != nil {
		target := dns.CanonicalName(rs.Alias.DNSName)
		a := sn.resolve(target, qtype, depth+1)
		for i, rr := range a.rrs {
			if dns.CanonicalName(rr.Header().Name) == target {
				rr = dns.Copy(rr)
				rr.Header().Name = name
				a.rrs[i] = rr
			}
		}
		if len(a.rrs) == 0 {
			a.soa = z.soa
		}
		return a
	}
	return answer{rrs: records(rs), soa: z.soa}
}

// zoneFor finds the most specific zone holding name.
func (sn *snapshot) zoneFor(name string) *zone {
	for i := range sn.zones {
		if dns.IsSubDomain(sn.zones[i].apex, name) {
			return &sn.zones[i]
		}
	}
	return nil
}

// pick chooses one record set among those sharing a name and type: the
// only one, or one of the weighted ones with probability weight/total.
// When every weight is 0, each is equally likely, as on Route53.
func pick(sets []RecordSet) RecordSet {
	if len(sets) == 1 {
		return sets[0]
	}
	var total int64
	for _, rs := range sets {
		if rs.Weight != nil && *rs.Weight > 0 {
			total += *rs.Weight
		}
	}
	if total == 0 {
		return sets[rand.IntN(len(sets))]
	}
	n := rand.Int64N(total)
	for _, rs := range sets {
		if rs.Weight == nil || *rs.Weight <= 0 {
			continue
		}
		if n < *rs.Weight {
			return rs
		}
		n -= *rs.Weight
	}
	return sets[len(sets)-1]
}

// records turns a record set's values into RRs; values that do not parse
// for the type are skipped (the API refuses them before they get here).
func records(rs RecordSet) []dns.RR {
	var out []dns.RR
	for _, v := range rs.Values {
		rr, err := dns.NewRR(fmt.Sprintf("%s %d IN %s %s", rs.Name, rs.TTL, rs.Type, v))
		if err == nil && rr != nil {
			out = append(out, rr)
		}
	}
	return out
}

// ValidValue reports whether value is valid zone-file data for type typ.
func ValidValue(typ, value string) error {
	rr, err := dns.NewRR(fmt.Sprintf("example.com. 300 IN %s %s", typ, value))
	if err != nil {
		return fmt.Errorf("%s value %q: %w", typ, value, err)
	}
	if rr == nil {
		return fmt.Errorf("%s value %q is empty", typ, value)
	}
	return nil
}

func hostRRs(name string, qtype uint16, ips []net.IP) []dns.RR {
	var out []dns.RR
	for _, ip := range ips {
		hdr := dns.RR_Header{Name: name, Class: dns.ClassINET, Ttl: aliasTTL}
		switch v4 := ip.To4(); {
		case v4 != nil && (qtype == dns.TypeA || qtype == dns.TypeANY):
			hdr.Rrtype = dns.TypeA
			out = append(out, &dns.A{Hdr: hdr, A: v4})
		case v4 == nil && (qtype == dns.TypeAAAA || qtype == dns.TypeANY):
			hdr.Rrtype = dns.TypeAAAA
			out = append(out, &dns.AAAA{Hdr: hdr, AAAA: ip})
		}
	}
	return out
}
