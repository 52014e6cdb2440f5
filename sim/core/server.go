package core

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// DefaultAccountID is the account every caller of the sim belongs to.
const DefaultAccountID = "123456789012"

// Config configures a Server.
type Config struct {
	Region    string       // when a request is unsigned; default us-east-1
	AccountID string       // default DefaultAccountID
	Faults    *Faults      // latency and failure injection; default none
	Log       *slog.Logger // progress and failures; default discards
	Store     *Store       // --state DIR; default in memory only
	Loopback  *Loopback    // addresses for instances, load balancers, DNS; default NewLoopback's range
}

// Server is the sim's one HTTP endpoint. It dispatches a request to a
// service by protocol — X-Amz-Target for JSON services, the REST path for
// REST-XML services, Action (and Version or the SigV4 scope) for the EC2 and
// query protocols — decodes its input with the service's model, runs the
// handler and writes the output or error in the service's wire format.
type Server struct {
	cfg Config

	mu        sync.Mutex
	services  map[string]*Service // by model name
	byTarget  map[string]*Service // JSON: X-Amz-Target prefix
	byVersion map[string]*Service // query/EC2: Version parameter
	bySigning map[string]*Service // SigV4 scope service name
	rest      *http.ServeMux
	hasREST   bool
	closers   []func(context.Context) error
}

// NewServer is a server with no services.
func NewServer(cfg Config) *Server {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.AccountID == "" {
		cfg.AccountID = DefaultAccountID
	}
	if cfg.Faults == nil {
		cfg.Faults = NewFaults()
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Store == nil {
		cfg.Store = &Store{}
	}
	if cfg.Loopback == nil {
		cfg.Loopback = NewLoopback(netip.Addr{}, netip.Addr{})
	}
	return &Server{
		cfg:       cfg,
		services:  map[string]*Service{},
		byTarget:  map[string]*Service{},
		byVersion: map[string]*Service{},
		bySigning: map[string]*Service{},
		rest:      http.NewServeMux(),
	}
}

// Faults is the server's fault injection, shared with services (for
// example to mark an instance's app unhealthy).
func (s *Server) Faults() *Faults { return s.cfg.Faults }

// Region is the default region.
func (s *Server) Region() string { return s.cfg.Region }

// AccountID is the account every caller belongs to.
func (s *Server) AccountID() string { return s.cfg.AccountID }

// Store is where services persist their state (a no-op without --state).
func (s *Server) Store() *Store { return s.cfg.Store }

// Loopback hands out the loopback addresses of instances, load balancers
// and DNS servers.
func (s *Server) Loopback() *Loopback { return s.cfg.Loopback }

// Log is the server's logger.
func (s *Server) Log() *slog.Logger { return s.cfg.Log }

// Add serves svc. A REST-XML service's operations are routed by the
// requestUri of each registered operation in its model.
func (s *Server) Add(svc *Service) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	md := svc.Model.Metadata
	name := svc.Model.name
	if _, dup := s.services[name]; dup {
		return fmt.Errorf("add service %s: already added", name)
	}
	s.services[name] = svc
	switch md.Protocol {
	case "json":
		s.byTarget[md.TargetPrefix] = svc
	case "ec2", "query":
		s.byVersion[md.APIVersion] = svc
		s.bySigning[md.EndpointPrefix] = svc
		if md.SigningName != "" {
			s.bySigning[md.SigningName] = svc
		}
	case "rest-xml":
		for op := range svc.handlers {
			patterns, err := restPatterns(svc.Model.Operations[op])
			if err != nil {
				return fmt.Errorf("add service %s: %w", name, err)
			}
			for _, pattern := range patterns {
				s.rest.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
					s.serveOp(w, r, svc, op, nil)
				})
			}
		}
		s.hasREST = true
	default:
		return fmt.Errorf("add service %s: protocol %q is not served", name, md.Protocol)
	}
	return nil
}

// OnClose registers fn to run when the server closes (for example to remove
// the containers a service started). Closers run in reverse order.
func (s *Server) OnClose(fn func(ctx context.Context) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closers = append(s.closers, fn)
}

// Close runs the closers registered with OnClose and returns their errors
// joined. ctx bounds the cleanup; give it a fresh deadline.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	closers := s.closers
	s.closers = nil
	s.mu.Unlock()
	var errs []error
	for i := len(closers) - 1; i >= 0; i-- {
		if err := closers[i](ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Serve serves HTTP on ln until ctx ends, then shuts the listener down
// (not the services: call Close for that).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := hs.Shutdown(sctx); err != nil {
			s.cfg.Log.Warn("shut down the api endpoint", "err", err)
		}
	}()
	err := hs.Serve(ln)
	<-done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// ServeHTTP dispatches one API call.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.serveAdmin(w, r)
		return
	}
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		prefix, op, _ := strings.Cut(target, ".")
		s.mu.Lock()
		svc := s.byTarget[prefix]
		s.mu.Unlock()
		if svc == nil {
			s.writeError(w, nil, newRequestID(), unknownOperation("The target %s is not served by bake sim", target))
			return
		}
		s.serveOp(w, r, svc, op, nil)
		return
	}
	if s.hasREST {
		if _, pattern := s.rest.Handler(r); pattern != "" {
			s.rest.ServeHTTP(w, r) // sets the path values Handler does not
			return
		}
	}
	if err := r.ParseForm(); err != nil {
		s.writeError(w, nil, newRequestID(), malformed("The request body is not a form: %v", err))
		return
	}
	action := r.Form.Get("Action")
	_, _, signing := credentialScope(r)
	s.mu.Lock()
	svc := s.byVersion[r.Form.Get("Version")]
	if svc == nil {
		svc = s.bySigning[signing]
	}
	if svc == nil && signing == "route53" {
		svc = s.services["route53"]
	}
	s.mu.Unlock()
	if svc == nil {
		s.writeError(w, nil, newRequestID(), unknownOperation("Could not tell which service the request is for (no X-Amz-Target, Version or SigV4 scope bake sim serves)"))
		return
	}
	if svc.Model.Metadata.Protocol == "rest-xml" {
		s.writeError(w, svc.Model, newRequestID(), unknownOperation("No %s operation at %s %s", svc.Model.name, r.Method, r.URL.Path))
		return
	}
	if action == "" {
		s.writeError(w, svc.Model, newRequestID(), Missing("The request must contain the parameter Action"))
		return
	}
	s.serveOp(w, r, svc, action, r.Form)
}

func newRequestID() string { return uuid.NewString() }

// serveOp decodes, runs and answers one operation.
func (s *Server) serveOp(w http.ResponseWriter, r *http.Request, svc *Service, op string, form url.Values) {
	m := svc.Model
	reqID := newRequestID()
	key, region, _ := credentialScope(r)
	if region == "" {
		region = s.cfg.Region
	}
	req := &Request{Service: m.name, Operation: op, Region: region, AccessKey: key, AccountID: s.cfg.AccountID, RequestID: reqID, HTTP: r}
	h := svc.handlers[op]
	if h == nil {
		msg := fmt.Sprintf("The action %s is not valid for this web service.", op)
		if m.Metadata.Protocol == "json" {
			msg = fmt.Sprintf("Operation %s is not served by bake sim", op)
		}
		s.writeError(w, m, reqID, unknownOperation("%s", msg))
		return
	}
	opm := m.Operations[op]
	in := reflect.New(h.in)
	if opm.Input != nil {
		inShape := m.Shapes[opm.Input.Shape]
		if err := s.decode(r, form, m, in, inShape); err != nil {
			s.writeError(w, m, reqID, err)
			return
		}
		if err := m.checkRequired(in, inShape, ""); err != nil {
			s.writeError(w, m, reqID, err)
			return
		}
	}
	if err := s.cfg.Faults.inject(r.Context(), m, op); err != nil {
		s.cfg.Log.Info("injected failure", "service", m.name, "operation", op)
		s.writeError(w, m, reqID, err)
		return
	}
	start := time.Now()
	out, err := h.run(r.Context(), req, in.Interface())
	if err != nil {
		ae := internalError(err)
		if ae.Status >= 500 || ae.Code == "InternalError" {
			s.cfg.Log.Error("api call failed", "service", m.name, "operation", op, "err", err)
		}
		s.writeError(w, m, reqID, ae)
		return
	}
	s.cfg.Log.Debug("api call", "service", m.name, "operation", op, "elapsed", time.Since(start))
	s.writeOutput(w, m, op, reqID, out)
}

func (s *Server) decode(r *http.Request, form url.Values, m *Model, in reflect.Value, shape *Shape) *Error {
	switch m.Metadata.Protocol {
	case "ec2", "query":
		if err := m.decodeQuery(form, in.Interface(), shape); err != nil {
			return internalError(err)
		}
	case "json":
		body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		if err != nil {
			return malformed("read the request body: %v", err)
		}
		if len(bytes.TrimSpace(body)) == 0 {
			body = []byte("{}")
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var data any
		if err := dec.Decode(&data); err != nil {
			return &Error{Code: "SerializationException", Message: "The request body is not valid JSON: " + err.Error()}
		}
		if err := m.decodeJSON(data, in, shape); err != nil {
			return &Error{Code: "SerializationException", Message: err.Error()}
		}
	case "rest-xml":
		if err := m.decodeREST(r, in, shape); err != nil {
			return err
		}
	}
	return nil
}

// checkRequired reports the first required member of v that is missing.
func (m *Model) checkRequired(v reflect.Value, shape *Shape, path string) *Error {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if shape.Type != "structure" || v.Kind() != reflect.Struct {
		return nil
	}
	for _, name := range shape.Required {
		f := v.FieldByNameFunc(func(n string) bool { return strings.EqualFold(n, name) })
		if !f.IsValid() {
			continue
		}
		if missing(f) {
			full := path + name
			switch m.Metadata.Protocol {
			case "ec2":
				return Missing("The request must contain the parameter %s", full)
			default:
				return Missing("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", lowerFirst(full))
			}
		}
	}
	t := v.Type()
	for _, fp := range plan(t, shape) {
		i, name, ref := fp.index, fp.name, fp.ref
		ms := m.shape(ref)
		fv := v.Field(i)
		switch ms.Type {
		case "structure":
			if err := m.checkRequired(fv, ms, path+name+"."); err != nil {
				return err
			}
		case "list":
			es := m.shape(ms.Member)
			if es.Type == "structure" && fv.Kind() == reflect.Slice {
				for j := 0; j < fv.Len(); j++ {
					if err := m.checkRequired(fv.Index(j), es, fmt.Sprintf("%s%s.%d.", path, name, j+1)); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// missing reports whether a required member was left out. The SDK keeps
// some required booleans and numbers as plain values, where false or 0 is
// a value given, not an absence: only nil and "" count as missing.
func missing(f reflect.Value) bool {
	switch f.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		return f.IsNil()
	case reflect.String:
		return f.Len() == 0
	}
	return false
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// writeOutput writes out in the protocol of m.
func (s *Server) writeOutput(w http.ResponseWriter, m *Model, op, reqID string, out any) {
	opm := m.Operations[op]
	var outShape *Shape
	if opm.Output != nil {
		outShape = m.Shapes[opm.Output.Shape]
	}
	v := reflect.ValueOf(out)
	w.Header().Set("X-Amzn-RequestId", reqID)
	ns := m.Metadata.XMLNamespace
	var b bytes.Buffer
	e := &xmlEncoder{m: m, b: &b, ec2: m.Metadata.Protocol == "ec2"}
	switch m.Metadata.Protocol {
	case "ec2":
		b.WriteString(xmlHeader)
		fmt.Fprintf(&b, `<%sResponse xmlns="%s"><requestId>%s</requestId>`, op, ns, reqID)
		if outShape != nil {
			e.members(v, outShape)
		}
		fmt.Fprintf(&b, `</%sResponse>`, op)
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	case "query":
		b.WriteString(xmlHeader)
		fmt.Fprintf(&b, `<%sResponse xmlns="%s">`, op, ns)
		if outShape != nil {
			wrapper := opm.Output.ResultWrapper
			if wrapper == "" {
				wrapper = op + "Result"
			}
			e.open(wrapper)
			e.members(v, outShape)
			e.end(wrapper)
		}
		fmt.Fprintf(&b, `<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`, reqID, op)
		w.Header().Set("Content-Type", "text/xml")
	case "json":
		var body any = map[string]any{}
		if outShape != nil {
			if x := m.jsonValue(v, outShape); x != nil {
				body = x
			}
		}
		enc := json.NewEncoder(&b)
		if err := enc.Encode(body); err != nil {
			s.writeError(w, m, reqID, internalError(err))
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-"+m.Metadata.JSONVersion)
	case "rest-xml":
		status := http.StatusOK
		if opm.HTTP.ResponseCode != 0 {
			status = opm.HTTP.ResponseCode
		}
		if outShape != nil {
			writeHeaders(w, v, outShape)
			b.WriteString(xmlHeader)
			root := opm.Output.Shape
			if outShape.Payload != "" {
				ref := outShape.Members[outShape.Payload]
				root = outShape.Payload
				if ref.LocationName != "" {
					root = ref.LocationName
				}
				fv := fieldByMember(v, outShape.Payload)
				ps := m.shape(ref)
				fmt.Fprintf(&b, `<%s xmlns="%s">`, root, ns)
				if fv.IsValid() {
					e.members(fv, ps)
				}
			} else {
				fmt.Fprintf(&b, `<%s xmlns="%s">`, root, ns)
				e.members(v, outShape)
			}
			e.end(root)
		}
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		_, _ = w.Write(b.Bytes()) // the client went away: nothing to do
		return
	}
	_, _ = w.Write(b.Bytes()) // the client went away: nothing to do
}

const xmlHeader = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

func fieldByMember(v reflect.Value, member string) reflect.Value {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return reflect.Value{}
		}
		v = v.Elem()
	}
	return v.FieldByNameFunc(func(n string) bool { return strings.EqualFold(n, member) })
}

func writeHeaders(w http.ResponseWriter, v reflect.Value, shape *Shape) {
	names := make([]string, 0, len(shape.Members))
	for n := range shape.Members {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ref := shape.Members[n]
		if ref.Location != "header" {
			continue
		}
		fv := fieldByMember(v, n)
		for fv.IsValid() && fv.Kind() == reflect.Pointer {
			if fv.IsNil() {
				fv = reflect.Value{}
				break
			}
			fv = fv.Elem()
		}
		if fv.IsValid() && isScalar(fv.Type()) {
			w.Header().Set(ref.LocationName, scalarString(fv))
		}
	}
}

// writeError writes err in the protocol of m (query-style when m is nil).
func (s *Server) writeError(w http.ResponseWriter, m *Model, reqID string, err *Error) {
	e := err.resolve(m)
	proto, ns := "query", ""
	if m != nil {
		proto, ns = m.Metadata.Protocol, m.Metadata.XMLNamespace
	}
	w.Header().Set("X-Amzn-RequestId", reqID)
	var b bytes.Buffer
	x := &xmlEncoder{b: &b}
	switch proto {
	case "json":
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-ErrorType", e.Code)
		body, _ := json.Marshal(map[string]string{"__type": e.Code, "message": e.Message}) // strings only: cannot fail
		b.Write(body)
	case "ec2":
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
		b.WriteString(xmlHeader)
		b.WriteString("<Response><Errors><Error><Code>")
		x.escape(e.Code)
		b.WriteString("</Code><Message>")
		x.escape(e.Message)
		fmt.Fprintf(&b, "</Message></Error></Errors><RequestID>%s</RequestID></Response>", reqID)
	default:
		w.Header().Set("Content-Type", "text/xml")
		b.WriteString(xmlHeader)
		typ := "Sender"
		if !e.sender() {
			typ = "Receiver"
		}
		if ns != "" {
			fmt.Fprintf(&b, `<ErrorResponse xmlns="%s">`, ns)
		} else {
			b.WriteString("<ErrorResponse>")
		}
		fmt.Fprintf(&b, "<Error><Type>%s</Type><Code>", typ)
		x.escape(e.Code)
		b.WriteString("</Code><Message>")
		x.escape(e.Message)
		fmt.Fprintf(&b, "</Message></Error><RequestId>%s</RequestId></ErrorResponse>", reqID)
	}
	w.WriteHeader(e.Status)
	_, _ = w.Write(b.Bytes()) // the client went away: nothing to do
}
