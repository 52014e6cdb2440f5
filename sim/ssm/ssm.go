// Package ssm is the sim's SSM Parameter Store: parameters with versions
// and history, by name and by path.
package ssm

import (
	"context"
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/bakehq/bake/sim/core"
)

// SSM is the parameter store.
type SSM struct {
	srv *core.Server
	mu  sync.Mutex
	// Params maps a parameter name to its versions, oldest first.
	Params map[string][]types.ParameterHistory
}

// New makes the SSM service with its saved state, if any.
func New(srv *core.Server) (*SSM, *core.Service, error) {
	s := &SSM{srv: srv, Params: map[string][]types.ParameterHistory{}}
	if _, err := srv.Store().Load("ssm", &s.Params); err != nil {
		return nil, nil, err
	}
	svc := core.MustService("ssm")
	core.Handle(svc, "PutParameter", s.putParameter)
	core.Handle(svc, "GetParameter", s.getParameter)
	core.Handle(svc, "GetParameters", s.getParameters)
	core.Handle(svc, "GetParametersByPath", s.getParametersByPath)
	core.Handle(svc, "DeleteParameter", s.deleteParameter)
	core.Handle(svc, "DeleteParameters", s.deleteParameters)
	core.Handle(svc, "DescribeParameters", s.describeParameters)
	core.Handle(svc, "GetParameterHistory", s.getParameterHistory)
	return s, svc, nil
}

func (s *SSM) save() {
	if err := s.srv.Store().Save("ssm", s.Params); err != nil {
		s.srv.Log().Error("save ssm state", "err", err)
	}
}

func checkName(name string) error {
	lower := strings.ToLower(strings.TrimPrefix(name, "/"))
	switch {
	case name == "" || len(name) > 2048:
		return core.Errorf("ValidationException", "Parameter name must be 1 to 2048 characters")
	case strings.HasPrefix(lower, "aws") || strings.HasPrefix(lower, "ssm"):
		return core.Errorf("ValidationException", "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive).")
	case strings.Contains(name, "/") && !strings.HasPrefix(name, "/"):
		return core.Errorf("ValidationException", "Parameter name must be a fully qualified name: a name with / must begin with /")
	}
	return nil
}

func (s *SSM) putParameter(_ context.Context, req *core.Request, in *ssm.PutParameterInput) (*ssm.PutParameterOutput, error) {
	name := aws.ToString(in.Name)
	if err := checkName(name); err != nil {
		return nil, err
	}
	if in.Value == nil || *in.Value == "" {
		return nil, core.Errorf("ValidationException", "1 validation error detected: Value '' at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	if aws.ToBool(in.Overwrite) && len(in.Tags) > 0 {
		return nil, core.Errorf("ValidationException", "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	versions := s.Params[name]
	if len(versions) > 0 && !aws.ToBool(in.Overwrite) {
		return nil, core.Errorf("ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")
	}
	typ := in.Type
	if typ == "" {
		if len(versions) == 0 {
			return nil, core.Errorf("ValidationException", "A parameter type is required when you create a parameter.")
		}
		typ = versions[len(versions)-1].Type
	}
	switch typ {
	case types.ParameterTypeString, types.ParameterTypeStringList, types.ParameterTypeSecureString:
	default:
		return nil, core.Errorf("ValidationException", "1 validation error detected: Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]", typ)
	}
	desc := in.Description
	if desc == nil && len(versions) > 0 {
		desc = versions[len(versions)-1].Description
	}
	dataType := aws.ToString(in.DataType)
	if dataType == "" {
		dataType = "text"
	}
	v := types.ParameterHistory{
		Name: in.Name, Type: typ, Value: in.Value, Version: int64(len(versions) + 1), Description: desc,
		LastModifiedDate: aws.Time(time.Now().UTC().Truncate(time.Millisecond)), Tier: types.ParameterTierStandard,
		DataType: aws.String(dataType), LastModifiedUser: aws.String(fmt.Sprintf("arn:aws:iam::%s:user/bake-sim", req.AccountID)),
		KeyId: in.KeyId,
	}
	if typ == types.ParameterTypeSecureString && v.KeyId == nil {
		v.KeyId = aws.String("alias/aws/ssm")
	}
	s.Params[name] = append(versions, v)
	s.save()
	return &ssm.PutParameterOutput{Version: v.Version, Tier: v.Tier}, nil
}

func (s *SSM) arn(req *core.Request, name string) string {
	return fmt.Sprintf("arn:aws:ssm:%s:%s:parameter/%s", req.Region, req.AccountID, strings.TrimPrefix(name, "/"))
}

// parameter is the version of name selected by "name:N" (or the latest);
// call with s.mu held.
func (s *SSM) parameter(req *core.Request, selector string, decrypt bool) (*types.Parameter, error) {
	name, ver, hasVer := strings.Cut(selector, ":")
	versions := s.Params[name]
	if len(versions) == 0 {
		return nil, core.Errorf("ParameterNotFound", "Parameter %s not found.", name)
	}
	v := versions[len(versions)-1]
	if hasVer {
		n, err := strconv.ParseInt(ver, 10, 64)
		if err != nil || n < 1 || n > int64(len(versions)) {
			return nil, core.Errorf("ParameterVersionNotFound", "Systems Manager could not find version %s of %s. Verify the version and try again.", ver, name)
		}
		v = versions[n-1]
	}
	p := &types.Parameter{
		Name: v.Name, Type: v.Type, Value: v.Value, Version: v.Version, LastModifiedDate: v.LastModifiedDate,
		ARN: aws.String(s.arn(req, name)), DataType: v.DataType,
	}
	if hasVer {
		p.Selector = aws.String(":" + ver)
	}
	if v.Type == types.ParameterTypeSecureString && !decrypt {
		p.Value = aws.String(base64.StdEncoding.EncodeToString([]byte("bake-sim-kms:" + aws.ToString(v.KeyId) + ":" + aws.ToString(v.Value))))
	}
	return p, nil
}

func (s *SSM) getParameter(_ context.Context, req *core.Request, in *ssm.GetParameterInput) (*ssm.GetParameterOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.parameter(req, aws.ToString(in.Name), aws.ToBool(in.WithDecryption))
	if err != nil {
		return nil, err
	}
	return &ssm.GetParameterOutput{Parameter: p}, nil
}

func (s *SSM) getParameters(_ context.Context, req *core.Request, in *ssm.GetParametersInput) (*ssm.GetParametersOutput, error) {
	if len(in.Names) > 10 {
		return nil, core.Errorf("ValidationException", "1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length less than or equal to 10")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &ssm.GetParametersOutput{Parameters: []types.Parameter{}, InvalidParameters: []string{}}
	for _, n := range in.Names {
		p, err := s.parameter(req, n, aws.ToBool(in.WithDecryption))
		if err != nil {
			out.InvalidParameters = append(out.InvalidParameters, n)
			continue
		}
		out.Parameters = append(out.Parameters, *p)
	}
	return out, nil
}

func (s *SSM) names() []string {
	out := make([]string, 0, len(s.Params))
	for n := range s.Params {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (s *SSM) getParametersByPath(_ context.Context, req *core.Request, in *ssm.GetParametersByPathInput) (*ssm.GetParametersByPathOutput, error) {
	path := aws.ToString(in.Path)
	if !strings.HasPrefix(path, "/") {
		return nil, core.Errorf("ValidationException", "The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash \"/\".")
	}
	prefix := strings.TrimSuffix(path, "/") + "/"
	max := 10
	if in.MaxResults != nil {
		max = int(*in.MaxResults)
		if max < 1 || max > 10 {
			return nil, core.Errorf("ValidationException", "1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 10", max)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for _, n := range s.names() {
		if !strings.HasPrefix(n, prefix) {
			continue
		}
		if !aws.ToBool(in.Recursive) && strings.Contains(n[len(prefix):], "/") {
			continue
		}
		if in.NextToken != nil && n < *in.NextToken {
			continue
		}
		names = append(names, n)
	}
	out := &ssm.GetParametersByPathOutput{Parameters: []types.Parameter{}}
	if len(names) > max {
		out.NextToken = aws.String(names[max])
		names = names[:max]
	}
	for _, n := range names {
		p, err := s.parameter(req, n, aws.ToBool(in.WithDecryption))
		if err != nil {
			return nil, err
		}
		out.Parameters = append(out.Parameters, *p)
	}
	return out, nil
}

func (s *SSM) deleteParameter(_ context.Context, _ *core.Request, in *ssm.DeleteParameterInput) (*ssm.DeleteParameterOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := aws.ToString(in.Name)
	if _, ok := s.Params[name]; !ok {
		return nil, core.Errorf("ParameterNotFound", "Parameter %s not found.", name)
	}
	delete(s.Params, name)
	s.save()
	return &ssm.DeleteParameterOutput{}, nil
}

func (s *SSM) deleteParameters(_ context.Context, _ *core.Request, in *ssm.DeleteParametersInput) (*ssm.DeleteParametersOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &ssm.DeleteParametersOutput{DeletedParameters: []string{}, InvalidParameters: []string{}}
	for _, n := range in.Names {
		if _, ok := s.Params[n]; !ok {
			out.InvalidParameters = append(out.InvalidParameters, n)
			continue
		}
		delete(s.Params, n)
		out.DeletedParameters = append(out.DeletedParameters, n)
	}
	s.save()
	return out, nil
}

func (s *SSM) describeParameters(_ context.Context, _ *core.Request, in *ssm.DescribeParametersInput) (*ssm.DescribeParametersOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &ssm.DescribeParametersOutput{Parameters: []types.ParameterMetadata{}}
	for _, n := range s.names() {
		v := s.Params[n][len(s.Params[n])-1]
		ok := true
		for _, f := range in.ParameterFilters {
			key := aws.ToString(f.Key)
			opt := aws.ToString(f.Option)
			match := false
			for _, want := range f.Values {
				switch {
				case key == "Name" && (opt == "BeginsWith" && strings.HasPrefix(n, want) || opt == "Contains" && strings.Contains(n, want) || (opt == "" || opt == "Equals") && n == want):
					match = true
				case key == "Type" && string(v.Type) == want:
					match = true
				case key == "Path" && strings.HasPrefix(n, strings.TrimSuffix(want, "/")+"/"):
					match = true
				}
			}
			ok = ok && match
		}
		if !ok {
			continue
		}
		out.Parameters = append(out.Parameters, types.ParameterMetadata{
			Name: v.Name, Type: v.Type, Version: v.Version, LastModifiedDate: v.LastModifiedDate, Description: v.Description,
			Tier: v.Tier, DataType: v.DataType, LastModifiedUser: v.LastModifiedUser, KeyId: v.KeyId,
		})
	}
	return out, nil
}

func (s *SSM) getParameterHistory(_ context.Context, _ *core.Request, in *ssm.GetParameterHistoryInput) (*ssm.GetParameterHistoryOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := aws.ToString(in.Name)
	versions, ok := s.Params[name]
	if !ok {
		return nil, core.Errorf("ParameterNotFound", "Parameter %s not found.", name)
	}
	out := &ssm.GetParameterHistoryOutput{Parameters: append([]types.ParameterHistory{}, versions...)}
	return out, nil
}
