package core

import (
	"crypto/rand"
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
	first netip.Addr
	next  netip.Addr
	last  netip.Addr
	taken map[netip.Addr]bool
}

// NewLoopback hands out addresses from first to last inclusive; the default
// range (zero values) is 127.0.16.1 – 127.0.255.254, starting at a random
// /24 in it so that sims running side by side (tests in parallel) rarely
// meet.
func NewLoopback(first, last netip.Addr) *Loopback {
	start := first
	if !first.IsValid() {
		first = netip.MustParseAddr("127.0.16.1")
		var b [1]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
		start = netip.AddrFrom4([4]byte{127, 0, 16 + b[0]%240, 1})
	}
	if !last.IsValid() {
		last = netip.MustParseAddr("127.0.255.254")
	}
	return &Loopback{first: first, next: start, last: last, taken: map[netip.Addr]bool{}}
}

// Take reserves a (restored from saved state) so it is never handed out.
func (l *Loopback) Take(a netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.taken[a] = true
}

// Next is a fresh address, never handed out before by l. Addresses ending
// in .0 or .255 are skipped; after the last address it wraps to the first.
func (l *Loopback) Next() (netip.Addr, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	start := l.next
	for {
		a := l.next
		l.next = a.Next()
		if l.next.Compare(l.last) > 0 {
			l.next = l.first
		}
		b := a.As4()
		if b[3] != 0 && b[3] != 255 && !l.taken[a] {
			l.taken[a] = true
			return a, nil
		}
		if l.next == start {
			return netip.Addr{}, fmt.Errorf("allocate a loopback address: all of %s to %s are in use", l.first, l.last)
		}
	}
}
