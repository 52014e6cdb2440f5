package proxy

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Weighted is one target group of a listener's forward action and its
// share of the traffic (0..999, as ELBv2 allows).
type Weighted struct {
	Group  *Group
	Weight int
}

// Listener is an ALB listener: an HTTP server on the load balancer's own
// address that forwards each request to a healthy target of a target group
// chosen by weight. Changing the forward action is one atomic swap, so
// requests in flight finish where they started and none fail.
type Listener struct {
	ln   net.Listener
	srv  *http.Server
	port string

	mu    sync.Mutex // serialises SetForward, SetRules and Close
	fwd   atomic.Pointer[forward]
	rules atomic.Pointer[[]rule] // in priority order, tried before fwd
}

type forward struct {
	groups []Weighted
	total  int
}

type ctxKey struct{}

// transport is shared by every listener: kept-alive connections to targets
// are what keeps the proxy's added latency well under a millisecond.
var transport = &http.Transport{
	Proxy:               nil,
	DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	MaxIdleConns:        1024,
	MaxIdleConnsPerHost: 256,
	IdleConnTimeout:     60 * time.Second, // the ALB's default idle timeout
	DisableCompression:  true,
}

// buffers recycles the proxy's copy buffers across requests.
var buffers = &bufferPool{}

type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if buf, ok := b.p.Get().(*[]byte); ok {
		return *buf
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

// Listen starts a listener on addr (the load balancer's IP and the
// listener's port) forwarding to fwd.
func Listen(addr string, fwd []Weighted) (*Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	l := &Listener{ln: ln, port: port}
	l.fwd.Store(&forward{})
	l.rules.Store(&[]rule{})
	l.SetForward(fwd)
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			mb := pr.In.Context().Value(ctxKey{}).(*member)
			pr.SetURL(mb.url)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
			pr.Out.Header.Set("X-Forwarded-Port", l.port)
		},
		Transport:  transport,
		BufferPool: buffers,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the client went away; nobody to answer
			}
			elbError(w, http.StatusBadGateway, "Bad Gateway")
		},
	}
	l.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mb := l.route(r).pick()
			if mb == nil {
				elbError(w, http.StatusServiceUnavailable, "Service Temporarily Unavailable")
				return
			}
			mb.inflight.Add(1)
			defer mb.inflight.Add(-1)
			rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, mb)))
		}),
		ReadHeaderTimeout: 60 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	go func() { _ = l.srv.Serve(ln) }() // returns ErrServerClosed on Close; nothing to report
	return l, nil
}

// Addr is the address the listener serves on.
func (l *Listener) Addr() string { return l.ln.Addr().String() }

// SetForward replaces the forward action.
func (l *Listener) SetForward(fwd []Weighted) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fwd.Swap(newForward(fwd)).release()
}

// newForward makes a forward action and counts it as a user of its groups.
func newForward(fwd []Weighted) *forward {
	next := &forward{}
	for _, w := range fwd {
		if w.Group == nil {
			continue
		}
		next.groups = append(next.groups, w)
		next.total += max(w.Weight, 0)
		w.Group.use(+1)
	}
	return next
}

// release stops counting f as a user of its groups.
func (f *forward) release() {
	for _, w := range f.groups {
		w.Group.use(-1)
	}
}

// pick chooses a target group by weight, then a healthy member of it.
func (f *forward) pick() *member {
	if f.total <= 0 {
		return nil
	}
	n := rand.IntN(f.total)
	for _, w := range f.groups {
		if w.Weight <= 0 {
			continue
		}
		if n < w.Weight {
			return w.Group.pick()
		}
		n -= w.Weight
	}
	return nil
}

// Close stops accepting connections, lets requests in flight finish until
// ctx ends, and releases the target groups.
func (l *Listener) Close(ctx context.Context) error {
	err := l.srv.Shutdown(ctx)
	l.SetForward(nil)
	l.SetRules(nil)
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("close listener %s: %w", l.Addr(), err)
	}
	return nil
}

// elbError answers with the page an ALB itself serves when it has no
// target to give a request to.
func elbError(w http.ResponseWriter, code int, text string) {
	status := strconv.Itoa(code) + " " + text
	body := "<html>\r\n<head><title>" + status + "</title></head>\r\n<body>\r\n<center><h1>" + status +
		"</h1></center>\r\n</body>\r\n</html>\r\n"
	w.Header().Set("Server", "awselb/2.0")
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body)) // a client that hung up needs no page
}
