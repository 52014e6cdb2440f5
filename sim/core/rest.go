package core

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
)

// restPatterns turns an operation's requestUri into net/http ServeMux
// patterns: "{Name+}" labels become "{Name...}", the query part is
// dropped, and a trailing slash is optional (SDKs differ on it).
func restPatterns(op *Operation) ([]string, error) {
	uri, _, _ := strings.Cut(op.HTTP.RequestURI, "?")
	if op.HTTP.Method == "" || !strings.HasPrefix(uri, "/") {
		return nil, fmt.Errorf("operation %s has no REST route in its model", op.Name)
	}
	uri = strings.ReplaceAll(uri, "+}", "...}")
	if uri != "/" && strings.HasSuffix(uri, "/") {
		uri = strings.TrimSuffix(uri, "/")
	}
	if strings.HasSuffix(uri, "...}") {
		return []string{op.HTTP.Method + " " + uri}, nil
	}
	return []string{op.HTTP.Method + " " + uri, op.HTTP.Method + " " + uri + "/{$}"}, nil
}

// decodeREST fills in (an SDK input struct pointer) from a REST-XML
// request: URI labels, query string, headers and the XML body.
func (m *Model) decodeREST(r *http.Request, in reflect.Value, shape *Shape) *Error {
	v := in.Elem()
	t := v.Type()
	hasBody := false
	for _, fp := range plan(t, shape) {
		i, name, ref := fp.index, fp.name, fp.ref
		loc := ref.LocationName
		if loc == "" {
			loc = name
		}
		var raw string
		var ok bool
		switch ref.Location {
		case "uri":
			raw = r.PathValue(loc)
			ok = raw != ""
		case "querystring":
			q := r.URL.Query()
			_, ok = q[loc]
			raw = q.Get(loc)
		case "header":
			raw = r.Header.Get(loc)
			ok = raw != ""
		default:
			hasBody = true
			continue
		}
		if !ok {
			continue
		}
		if ms := m.shape(ref); ms.Type == "list" {
			fv := alloc(v.Field(i))
			out := reflect.MakeSlice(fv.Type(), 0, 4)
			for _, s := range r.URL.Query()[loc] {
				elem := reflect.New(fv.Type().Elem()).Elem()
				if err := setScalar(alloc(elem), s); err != nil {
					return malformed("%s: %v", loc, err)
				}
				out = reflect.Append(out, elem)
			}
			fv.Set(out)
			continue
		}
		if err := setScalar(alloc(v.Field(i)), raw); err != nil {
			return malformed("%s: %v", loc, err)
		}
	}
	if !hasBody || r.Body == nil || r.ContentLength == 0 {
		return nil
	}
	root, err := parseXML(http.MaxBytesReader(nil, r.Body, 16<<20))
	if err != nil {
		return malformed("The XML document is malformed: %v", err)
	}
	if shape.Payload != "" {
		ref := shape.Members[shape.Payload]
		fv := fieldByMember(in, shape.Payload)
		if err := m.decodeXML(root, fv, m.shape(ref)); err != nil {
			return malformed("%v", err)
		}
		return nil
	}
	if err := m.decodeXML(root, v, shape); err != nil {
		return malformed("%v", err)
	}
	return nil
}
