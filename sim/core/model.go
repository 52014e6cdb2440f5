package core

import (
	"embed"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
)

//go:generate /usr/bin/python3 models/gen.py

// models holds the AWS API models (trimmed from botocore by models/gen.py).
// They drive the wire codecs, so names, wrappers and formats are the real
// service's, not a hand-written approximation.
//
//go:embed models/*.json
var models embed.FS

// Model is one service's API model, as botocore ships it.
type Model struct {
	Metadata   Metadata              `json:"metadata"`
	Operations map[string]*Operation `json:"operations"`
	Shapes     map[string]*Shape     `json:"shapes"`

	name   string
	errors map[string]*Shape // by error code
}

// Metadata is a model's protocol description.
type Metadata struct {
	APIVersion     string `json:"apiVersion"`
	EndpointPrefix string `json:"endpointPrefix"`
	Protocol       string `json:"protocol"` // ec2, query, json, rest-xml
	JSONVersion    string `json:"jsonVersion"`
	TargetPrefix   string `json:"targetPrefix"`
	SigningName    string `json:"signingName"`
	XMLNamespace   string `json:"xmlNamespace"`
}

// Operation is one API call.
type Operation struct {
	Name string `json:"name"`
	HTTP struct {
		Method       string `json:"method"`
		RequestURI   string `json:"requestUri"`
		ResponseCode int    `json:"responseCode"`
	} `json:"http"`
	Input  *Ref `json:"input"`
	Output *Ref `json:"output"`
}

// Ref is a reference to a shape from a member, list or operation, with the
// wire details that belong to the reference.
type Ref struct {
	Shape         string `json:"shape"`
	LocationName  string `json:"locationName"`
	QueryName     string `json:"queryName"`
	Location      string `json:"location"` // uri, querystring, header, headers, statusCode
	Flattened     bool   `json:"flattened"`
	ResultWrapper string `json:"resultWrapper"`
	TimestampFmt  string `json:"timestampFormat"`
	XMLNamespace  *struct {
		URI string `json:"uri"`
	} `json:"xmlNamespace"`

	target *Shape // the shape, resolved at load
}

// Shape is a type in a model.
type Shape struct {
	Type         string          `json:"type"`
	Members      map[string]*Ref `json:"members"`
	Member       *Ref            `json:"member"`
	Key          *Ref            `json:"key"`
	Value        *Ref            `json:"value"`
	Required     []string        `json:"required"`
	Flattened    bool            `json:"flattened"`
	LocationName string          `json:"locationName"`
	Payload      string          `json:"payload"`
	TimestampFmt string          `json:"timestampFormat"`
	Exception    bool            `json:"exception"`
	Error        *struct {
		Code           string `json:"code"`
		HTTPStatusCode int    `json:"httpStatusCode"`
		SenderFault    bool   `json:"senderFault"`
	} `json:"error"`

	byLower map[string]string // lower-cased member name -> member name
}

// member finds a member by a Go field name (case-insensitively: the SDK's
// field names are the model's member names).
func (s *Shape) member(field string) (string, *Ref) {
	name, ok := s.byLower[strings.ToLower(field)]
	if !ok {
		return "", nil
	}
	return name, s.Members[name]
}

// fieldPlan is a Go struct field that is a member of a shape.
type fieldPlan struct {
	index int
	name  string // the member name
	ref   *Ref
	el    string // the XML element name
}

type planKey struct {
	t     reflect.Type
	shape *Shape
}

var plans sync.Map // planKey -> []fieldPlan

// plan is the fields of struct type t that are members of shape, worked
// out once per pair (the codecs are on every call's path).
func plan(t reflect.Type, shape *Shape) []fieldPlan {
	key := planKey{t, shape}
	if p, ok := plans.Load(key); ok {
		return p.([]fieldPlan)
	}
	var out []fieldPlan
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, ref := shape.member(f.Name)
		if ref == nil {
			continue
		}
		el := name
		if ref.LocationName != "" {
			el = ref.LocationName
		}
		out = append(out, fieldPlan{index: i, name: name, ref: ref, el: el})
	}
	plans.Store(key, out)
	return out
}

var (
	modelMu    sync.Mutex
	modelCache = map[string]*Model{}
)

// LoadModel returns the embedded model of service (ec2, autoscaling, elbv2,
// route53, ssm, sts).
func LoadModel(service string) (*Model, error) {
	modelMu.Lock()
	defer modelMu.Unlock()
	if m, ok := modelCache[service]; ok {
		return m, nil
	}
	b, err := models.ReadFile("models/" + service + ".json")
	if err != nil {
		return nil, fmt.Errorf("load api model of %s: no such model (have ec2, autoscaling, elbv2, route53, ssm, sts)", service)
	}
	m := &Model{name: service, errors: map[string]*Shape{}}
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("load api model of %s: %w", service, err)
	}
	for name, s := range m.Shapes {
		s.byLower = make(map[string]string, len(s.Members))
		for mn, r := range s.Members {
			s.byLower[strings.ToLower(mn)] = mn
			r.target = m.Shapes[r.Shape]
		}
		for _, r := range []*Ref{s.Member, s.Key, s.Value} {
			if r != nil {
				r.target = m.Shapes[r.Shape]
			}
		}
		if s.Exception {
			code := name
			if s.Error != nil && s.Error.Code != "" {
				code = s.Error.Code
			}
			m.errors[code] = s
		}
	}
	if m.Metadata.XMLNamespace == "" && strings.Contains(m.Metadata.Protocol, "xml") {
		m.Metadata.XMLNamespace = "https://" + m.Metadata.EndpointPrefix + ".amazonaws.com/doc/" + m.Metadata.APIVersion + "/"
	}
	modelCache[service] = m
	return m, nil
}

// Name is the model's service name (the botocore directory name).
func (m *Model) Name() string { return m.name }

func (m *Model) shape(r *Ref) *Shape {
	if r == nil {
		return nil
	}
	if r.target != nil {
		return r.target
	}
	return m.Shapes[r.Shape]
}
