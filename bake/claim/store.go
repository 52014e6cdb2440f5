package claim

import (
	"context"
	"errors"
	"maps"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// SSMAPI is the part of the SSM client claims use.
type SSMAPI interface {
	PutParameter(ctx context.Context, in *ssm.PutParameterInput, opts ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
	GetParametersByPath(ctx context.Context, in *ssm.GetParametersByPathInput, opts ...func(*ssm.Options)) (*ssm.GetParametersByPathOutput, error)
	DeleteParameters(ctx context.Context, in *ssm.DeleteParametersInput, opts ...func(*ssm.Options)) (*ssm.DeleteParametersOutput, error)
}

// SSM keeps claims as String parameters of SSM Parameter Store: Create is
// PutParameter without overwrite, which fails with ParameterAlreadyExists
// for all but one of the runners that race for a name.
type SSM struct{ API SSMAPI }

func (s SSM) Create(ctx context.Context, name, value string) error {
	_, err := s.API.PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String(name), Value: aws.String(value), Type: ssmtypes.ParameterTypeString,
		Overwrite: aws.Bool(false), Description: aws.String("bake claim"),
	})
	var exists *ssmtypes.ParameterAlreadyExists
	if errors.As(err, &exists) {
		return ErrExists
	}
	return err
}

func (s SSM) Put(ctx context.Context, name, value string) error {
	_, err := s.API.PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String(name), Value: aws.String(value), Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(true),
	})
	return err
}

func (s SSM) List(ctx context.Context, prefix string) (map[string]string, error) {
	out := map[string]string{}
	in := &ssm.GetParametersByPathInput{Path: aws.String(prefix), Recursive: aws.Bool(false)}
	for {
		page, err := s.API.GetParametersByPath(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, p := range page.Parameters {
			out[aws.ToString(p.Name)] = aws.ToString(p.Value)
		}
		if aws.ToString(page.NextToken) == "" {
			return out, nil
		}
		in.NextToken = page.NextToken
	}
}

func (s SSM) Delete(ctx context.Context, names ...string) error {
	for len(names) > 0 {
		n := min(len(names), 10) // DeleteParameters takes at most 10
		_, err := s.API.DeleteParameters(ctx, &ssm.DeleteParametersInput{Names: names[:n]})
		if err != nil {
			return err
		}
		names = names[n:]
	}
	return nil
}

// Memory is a Store in memory, for tests and for one machine.
type Memory struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *Memory) Create(_ context.Context, name, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[name]; ok {
		return ErrExists
	}
	if s.m == nil {
		s.m = map[string]string{}
	}
	s.m[name] = value
	return nil
}

func (s *Memory) Put(_ context.Context, name, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]string{}
	}
	s.m[name] = value
	return nil
}

func (s *Memory) List(_ context.Context, prefix string) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for k, v := range s.m {
		if rest, ok := strings.CutPrefix(k, prefix+"/"); ok && !strings.Contains(rest, "/") {
			out[k] = v
		}
	}
	return out, nil
}

func (s *Memory) Delete(_ context.Context, names ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range names {
		delete(s.m, n)
	}
	return nil
}

// Snapshot copies the store's contents.
func (s *Memory) Snapshot() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.m)
}
