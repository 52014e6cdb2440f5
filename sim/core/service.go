package core

import (
	"context"
	"fmt"
	"reflect"
)

// Service is one AWS service the sim serves: its model and a handler per
// operation. A service package makes one with NewService, registers its
// operations with Handle, and the server adds it with Server.Add.
type Service struct {
	Model    *Model
	handlers map[string]*handler
}

type handler struct {
	in  reflect.Type // the SDK input struct type
	run func(ctx context.Context, req *Request, in any) (any, error)
}

// NewService is a service with the embedded model named name (ec2,
// autoscaling, elbv2, route53, ssm, sts) and no operations yet.
func NewService(name string) (*Service, error) {
	m, err := LoadModel(name)
	if err != nil {
		return nil, err
	}
	return &Service{Model: m, handlers: map[string]*handler{}}, nil
}

// MustService is NewService for the fixed names of the embedded models; it
// panics on an unknown name, which is a programming error.
func MustService(name string) *Service {
	s, err := NewService(name)
	if err != nil {
		panic(err)
	}
	return s
}

// Handle registers fn as operation op of s. In and Out are the AWS SDK's
// input and output types of the operation (for example ec2.RunInstancesInput
// and ec2.RunInstancesOutput): the server decodes the request into an *In
// with the service's model and encodes the returned *Out the same way, so a
// handler deals only in typed values. fn returns an *Error for an AWS error;
// any other error becomes InternalError (500).
//
// Handle panics when op is not in the service's model: the models are
// trimmed to the operations the sim serves (see models/gen.py).
func Handle[In, Out any](s *Service, op string, fn func(ctx context.Context, req *Request, in *In) (*Out, error)) {
	if _, ok := s.Model.Operations[op]; !ok {
		panic(fmt.Sprintf("sim: operation %s is not in the %s model; add it to models/gen.py", op, s.Model.name))
	}
	s.handlers[op] = &handler{
		in: reflect.TypeOf((*In)(nil)).Elem(),
		run: func(ctx context.Context, req *Request, in any) (any, error) {
			out, err := fn(ctx, req, in.(*In))
			if err != nil {
				return nil, err
			}
			return out, nil
		},
	}
}

// Operations lists the operations s serves.
func (s *Service) Operations() []string {
	out := make([]string, 0, len(s.handlers))
	for op := range s.handlers {
		out = append(out, op)
	}
	return out
}
