package core

import (
	"fmt"
	"net/netip"
	"sync"
)

// Loopback hands out loopback addresses (127.0.x.y) so that every instance,
// load balancer and DNS server of the sim has its own address, and its
// ports (22, 80, ...) mean the same as on a real host. Linux routes all of
// 127.0.0.0/8 to lo, so no setup is needed. Safe for concurrent use.
type Loopback struct {
	mu    sync.Mutex
	next  netip.Addr
	last  netip.Addr
	taken map[netip.Addr]bool
}

// NewLoopback hands out addresses from first to last inclusive; the default
// range (zero values) is 127.0.16.1 – 127.0.255.254.
func NewLoopback(first, last netip.Addr) *Loopback {
	if !first.IsValid() {
		first = netip.MustParseAddr("127.0.16.1")
	}
	if !last.IsValid() {
		last = netip.MustParseAddr("127.0.255.254")
	}
	return &Loopback{next: first, last: last, taken: map[netip.Addr]bool{}}
}

// Take reserves a (restored from saved state) so it is never handed out.
func (l *Loopback) Take(a netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.taken[a] = true
}

// Next is a fresh address, never handed out before by l. Addresses ending
// in .0 or .255 are skipped.
func (l *Loopback) Next() (netip.Addr, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.next.Compare(l.last) <= 0 {
		a := l.next
		l.next = a.Next()
		b := a.As4()
		if b[3] == 0 || b[3] == 255 || l.taken[a] {
			continue
		}
		l.taken[a] = true
		return a, nil
	}
	return netip.Addr{}, fmt.Errorf("allocate a loopback address: all of %s to %s are in use", l.next, l.last)
}
