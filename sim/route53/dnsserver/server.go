// Package dnsserver is the sim's authoritative DNS server: it answers, over
// UDP and TCP, for the record sets of Route53 hosted zones (simple, weighted
// and alias records, CNAME chains, TTLs as set) and for the names the sim
// itself owns, such as load balancers' DNS names. It does not recurse: a
// name outside its zones is REFUSED.
package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/miekg/dns"
)

// RecordSet is one Route53 resource record set.
type RecordSet struct {
	Name   string // any case, with or without the trailing dot
	Type   string // A, AAAA, CNAME, TXT, MX, NS, SOA, ...
	TTL    uint32
	Values []string // in zone-file syntax for Type
	SetID  string   // SetIdentifier of a weighted record
	Weight *int64   // set for weighted records
	Alias  *Alias
}

// Alias points a record at another name the server answers for: a load
// balancer's DNS name or another record set. The answer carries the
// target's records under the alias's name.
type Alias struct {
	DNSName string
}

// Zone is a hosted zone: its apex and every record set in it.
type Zone struct {
	ID      string
	Name    string
	Records []RecordSet
}

// aliasTTL is the TTL Route53 gives answers for aliases to AWS resources
// such as load balancers.
const aliasTTL = 60

// Server answers DNS queries from an immutable snapshot of the zones and
// hosts, replaced whole on every change, so queries never take a lock.
type Server struct {
	udp, tcp *dns.Server
	addr     string

	mu    sync.Mutex // serialises writers
	zones map[string]Zone
	hosts map[string][]string
	data  atomic.Pointer[snapshot]
}

type snapshot struct {
	zones []zone              // longest apex first
	hosts map[string][]net.IP // fqdn -> addresses
}

type zone struct {
	apex string
	sets map[string][]RecordSet // "name type" -> sets (several when weighted)
	has  map[string]bool        // every name with records, and every name above one
	soa  dns.RR
}

// New makes a server with no zones that has not started listening.
func New() *Server {
	s := &Server{zones: map[string]Zone{}, hosts: map[string][]string{}}
	s.data.Store(&snapshot{hosts: map[string][]net.IP{}})
	return s
}

// listenBoth listens on addr over UDP and TCP on one port. With port 0
// the free UDP port may be taken for TCP by another process: it tries
// again with a new port (bounded).
func listenBoth(addr string) (net.PacketConn, net.Listener, error) {
	_, port, _ := net.SplitHostPort(addr)
	for attempt := 0; ; attempt++ {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("listen for dns on udp %s: %w", addr, err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		if port != "0" || attempt >= 20 {
			return nil, nil, fmt.Errorf("listen for dns on tcp %s: %w", pc.LocalAddr(), err)
		}
	}
}

// Start serves DNS on addr over UDP and TCP (the same port for both; port 0
// picks a free one) until Close.
func (s *Server) Start(addr string) error {
	pc, ln, err := listenBoth(addr)
	if err != nil {
		return err
	}
	s.addr = pc.LocalAddr().String()
	h := dns.HandlerFunc(s.serve)
	s.udp = &dns.Server{PacketConn: pc, Handler: h}
	s.tcp = &dns.Server{Listener: ln, Handler: h}
	started := make(chan struct{}, 2)
	s.udp.NotifyStartedFunc = func() { started <- struct{}{} }
	s.tcp.NotifyStartedFunc = func() { started <- struct{}{} }
	go func() { _ = s.udp.ActivateAndServe() }() // ends with Close
	go func() { _ = s.tcp.ActivateAndServe() }()
	<-started
	<-started
	return nil
}

// Addr is the address the server answers on.
func (s *Server) Addr() string { return s.addr }

// Close stops serving.
func (s *Server) Close(ctx context.Context) error {
	var errs []error
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		if srv != nil {
			if err := srv.ShutdownContext(ctx); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stop dns server on %s: %w", s.addr, err)
	}
	return nil
}

// SetZone adds or replaces a hosted zone with all its record sets.
func (s *Server) SetZone(z Zone) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.zones[z.ID] = z
	s.rebuild()
}

// RemoveZone drops a hosted zone.
func (s *Server) RemoveZone(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.zones, id)
	s.rebuild()
}

// SetHost makes name answer A queries with ips: the sim's own names, such
// as a load balancer's DNSName. No ips removes the name.
func (s *Server) SetHost(name string, ips ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(ips) == 0 {
		delete(s.hosts, dns.CanonicalName(name))
	} else {
		s.hosts[dns.CanonicalName(name)] = ips
	}
	s.rebuild()
}

// rebuild publishes a fresh snapshot. Called with s.mu held.
func (s *Server) rebuild() {
	snap := &snapshot{hosts: make(map[string][]net.IP, len(s.hosts))}
	for name, ips := range s.hosts {
		for _, ip := range ips {
			if p := net.ParseIP(ip); p != nil {
				snap.hosts[name] = append(snap.hosts[name], p)
			}
		}
	}
	for _, z := range s.zones {
		cz := zone{apex: dns.CanonicalName(z.Name), sets: map[string][]RecordSet{}, has: map[string]bool{}}
		for _, rs := range z.Records {
			rs.Name = dns.CanonicalName(rs.Name)
			rs.Type = strings.ToUpper(rs.Type)
			k := rs.Name + " " + rs.Type
			cz.sets[k] = append(cz.sets[k], rs)
			for n := rs.Name; dns.IsSubDomain(cz.apex, n); n = parent(n) {
				cz.has[n] = true
				if n == cz.apex {
					break
				}
			}
			if rs.Type == "SOA" && rs.Name == cz.apex && len(rs.Values) > 0 {
				if rr, err := dns.NewRR(fmt.Sprintf("%s %d IN SOA %s", rs.Name, rs.TTL, rs.Values[0])); err == nil {
					cz.soa = rr
				}
			}
		}
		snap.zones = append(snap.zones, cz)
	}
	// longest apex first, so the most specific zone answers
	for i := 1; i < len(snap.zones); i++ {
		for j := i; j > 0 && dns.CountLabel(snap.zones[j].apex) > dns.CountLabel(snap.zones[j-1].apex); j-- {
			snap.zones[j], snap.zones[j-1] = snap.zones[j-1], snap.zones[j]
		}
	}
	s.data.Store(snap)
}

func parent(name string) string {
	if i, end := dns.NextLabel(name, 0); !end {
		return name[i:]
	}
	return "."
}
