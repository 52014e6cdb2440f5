// Package secretsmanager is the sim's Secrets Manager: secrets with
// versions and staging labels (AWSCURRENT, AWSPREVIOUS), deletion with a
// recovery window, over the JSON protocol held to botocore's model.
// Secret values are never logged.
package secretsmanager

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/google/uuid"

	"github.com/bakehq/bake/sim/core"
)

// The staging labels Secrets Manager moves itself.
const (
	Current  = "AWSCURRENT"
	Previous = "AWSPREVIOUS"
)

// Version is one value of a secret.
type Version struct {
	ID      string    `json:"id"`
	String  *string   `json:"string,omitempty"`
	Binary  []byte    `json:"binary,omitempty"`
	Stages  []string  `json:"stages"`
	Created time.Time `json:"created"`
}

// Secret is one secret and its versions.
type Secret struct {
	ARN         string              `json:"arn"`
	Name        string              `json:"name"`
	Description string              `json:"description,omitempty"`
	KmsKeyID    string              `json:"kmsKeyId,omitempty"`
	Created     time.Time           `json:"created"`
	Changed     time.Time           `json:"changed"`
	Deleted     *time.Time          `json:"deleted,omitempty"` // when it will be removed
	Tags        []types.Tag         `json:"tags,omitempty"`
	Versions    map[string]*Version `json:"versions"`
}

// SecretsManager is the service's state.
type SecretsManager struct {
	srv *core.Server
	mu  sync.Mutex
	// Secrets by name.
	Secrets map[string]*Secret
	now     func() time.Time
}

// New makes the service with its saved state, if any.
func New(srv *core.Server) (*SecretsManager, *core.Service, error) {
	s := &SecretsManager{srv: srv, Secrets: map[string]*Secret{}, now: func() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }}
	if _, err := srv.Store().Load("secretsmanager", &s.Secrets); err != nil {
		return nil, nil, err
	}
	svc := core.MustService("secretsmanager")
	core.Handle(svc, "CreateSecret", s.createSecret)
	core.Handle(svc, "PutSecretValue", s.putSecretValue)
	core.Handle(svc, "GetSecretValue", s.getSecretValue)
	core.Handle(svc, "DescribeSecret", s.describeSecret)
	core.Handle(svc, "DeleteSecret", s.deleteSecret)
	core.Handle(svc, "ListSecrets", s.listSecrets)
	return s, svc, nil
}

// save writes the state; call with s.mu held.
func (s *SecretsManager) save() {
	if err := s.srv.Store().Save("secretsmanager", s.Secrets); err != nil {
		s.srv.Log().Error("save secretsmanager state", "err", err)
	}
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]{1,512}$`)

func validation(format string, args ...any) error {
	return core.Errorf("ValidationException", format, args...)
}

func invalidParam(format string, args ...any) error {
	return core.Errorf("InvalidParameterException", format, args...)
}

func invalidRequest(format string, args ...any) error {
	return core.Errorf("InvalidRequestException", format, args...)
}

func notFound() error {
	return core.Errorf("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
}

// suffix is the six random characters Secrets Manager appends to a
// secret's name in its ARN.
func suffix() string {
	const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 6)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return string(b)
}

// checkValue checks a request's SecretString and SecretBinary.
func checkValue(str *string, bin []byte, required bool) error {
	switch {
	case str != nil && bin != nil:
		return invalidParam("You can't specify both a binary secret value and a string secret value in the same secret.")
	case str != nil && len(*str) > 65536, len(bin) > 65536:
		return validation("1 validation error detected: Value at 'secretString' failed to satisfy constraint: Member must have length less than or equal to 65536")
	case required && str == nil && bin == nil:
		return invalidRequest("You must provide either SecretString or SecretBinary.")
	}
	return nil
}

// token is the version id a request gives, or a new one.
func token(t *string) (string, error) {
	if t == nil {
		return uuid.NewString(), nil
	}
	if len(*t) < 32 || len(*t) > 64 {
		return "", validation("1 validation error detected: Value at 'clientRequestToken' failed to satisfy constraint: Member must have length greater than or equal to 32")
	}
	return *t, nil
}

// find is the secret SecretId names (its name or ARN, or the ARN without
// its random suffix); call with s.mu held.
func (s *SecretsManager) find(id string) (*Secret, error) {
	if id == "" {
		return nil, validation("1 validation error detected: Value at 'secretId' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	if sec, ok := s.Secrets[id]; ok {
		return sec, nil
	}
	for _, sec := range s.Secrets {
		if sec.ARN == id || strings.HasPrefix(id, "arn:") && strings.TrimSuffix(sec.ARN, sec.ARN[len(sec.ARN)-7:]) == id {
			return sec, nil
		}
	}
	return nil, notFound()
}

// live is find for operations refused on a secret marked for deletion.
func (s *SecretsManager) live(id string) (*Secret, error) {
	sec, err := s.find(id)
	if err != nil {
		return nil, err
	}
	if sec.Deleted != nil {
		return nil, invalidRequest("You can't perform this operation on the secret because it was marked for deletion.")
	}
	return sec, nil
}

// addVersion adds v with stages, moving each stage off the version that
// had it; a new AWSCURRENT makes the old current AWSPREVIOUS. Call with
// s.mu held.
func (sec *Secret) addVersion(v *Version, stages []string, now time.Time) {
	var oldCurrent string
	for _, st := range stages {
		for id, o := range sec.Versions {
			if id == v.ID {
				continue
			}
			if i := indexOf(o.Stages, st); i >= 0 {
				o.Stages = append(o.Stages[:i], o.Stages[i+1:]...)
				if st == Current {
					oldCurrent = id
				}
			}
		}
	}
	if oldCurrent != "" {
		for _, o := range sec.Versions {
			if i := indexOf(o.Stages, Previous); i >= 0 {
				o.Stages = append(o.Stages[:i], o.Stages[i+1:]...)
			}
		}
		o := sec.Versions[oldCurrent]
		o.Stages = append(o.Stages, Previous)
	}
	v.Stages = append([]string(nil), stages...)
	sec.Versions[v.ID] = v
	// A version with no stage left is dropped, as Secrets Manager
	// eventually does.
	for id, o := range sec.Versions {
		if len(o.Stages) == 0 {
			delete(sec.Versions, id)
		}
	}
	sec.Changed = now
}

func indexOf(ss []string, s string) int {
	for i, x := range ss {
		if x == s {
			return i
		}
	}
	return -1
}

func sameValue(v *Version, str *string, bin []byte) bool {
	return aws.ToString(v.String) == aws.ToString(str) && (v.String == nil) == (str == nil) && bytes.Equal(v.Binary, bin)
}

func (s *SecretsManager) createSecret(_ context.Context, req *core.Request, in *sm.CreateSecretInput) (*sm.CreateSecretOutput, error) {
	name := aws.ToString(in.Name)
	if !nameRE.MatchString(name) {
		return nil, validation("Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!")
	}
	if err := checkValue(in.SecretString, in.SecretBinary, false); err != nil {
		return nil, err
	}
	id, err := token(in.ClientRequestToken)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec, ok := s.Secrets[name]; ok {
		if sec.Deleted != nil {
			return nil, invalidRequest("You can't create this secret because a secret with this name is already scheduled for deletion.")
		}
		return nil, core.Errorf("ResourceExistsException", "The operation failed because the secret %s already exists.", name)
	}
	now := s.now()
	sec := &Secret{
		ARN:  fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-%s", req.Region, req.AccountID, name, suffix()),
		Name: name, Description: aws.ToString(in.Description), KmsKeyID: aws.ToString(in.KmsKeyId),
		Created: now, Changed: now, Tags: in.Tags, Versions: map[string]*Version{},
	}
	out := &sm.CreateSecretOutput{ARN: aws.String(sec.ARN), Name: aws.String(name)}
	if in.SecretString != nil || in.SecretBinary != nil {
		sec.addVersion(&Version{ID: id, String: in.SecretString, Binary: in.SecretBinary, Created: now}, []string{Current}, now)
		out.VersionId = aws.String(id)
	}
	s.Secrets[name] = sec
	s.save()
	return out, nil
}

func (s *SecretsManager) putSecretValue(_ context.Context, _ *core.Request, in *sm.PutSecretValueInput) (*sm.PutSecretValueOutput, error) {
	if err := checkValue(in.SecretString, in.SecretBinary, true); err != nil {
		return nil, err
	}
	id, err := token(in.ClientRequestToken)
	if err != nil {
		return nil, err
	}
	stages := in.VersionStages
	if len(stages) == 0 {
		stages = []string{Current}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.live(aws.ToString(in.SecretId))
	if err != nil {
		return nil, err
	}
	out := &sm.PutSecretValueOutput{ARN: aws.String(sec.ARN), Name: aws.String(sec.Name), VersionId: aws.String(id)}
	if v, ok := sec.Versions[id]; ok {
		// The same request again is not an error; another value under
		// the same token is.
		if !sameValue(v, in.SecretString, in.SecretBinary) {
			return nil, core.Errorf("ResourceExistsException", "You can't modify an existing version, you can only create a new version.")
		}
		out.VersionStages = append([]string(nil), v.Stages...)
		return out, nil
	}
	now := s.now()
	sec.addVersion(&Version{ID: id, String: in.SecretString, Binary: in.SecretBinary, Created: now}, stages, now)
	out.VersionStages = append([]string(nil), stages...)
	s.save()
	return out, nil
}

func (s *SecretsManager) getSecretValue(_ context.Context, _ *core.Request, in *sm.GetSecretValueInput) (*sm.GetSecretValueOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.live(aws.ToString(in.SecretId))
	if err != nil {
		return nil, err
	}
	var v *Version
	switch {
	case in.VersionId != nil:
		v = sec.Versions[*in.VersionId]
		if v == nil {
			return nil, core.Errorf("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for VersionId: %s", *in.VersionId)
		}
		if in.VersionStage != nil && indexOf(v.Stages, *in.VersionStage) < 0 {
			return nil, invalidRequest("You provided a VersionStage that is not associated to the provided VersionId.")
		}
	default:
		stage := aws.ToString(in.VersionStage)
		if stage == "" {
			stage = Current
		}
		for _, o := range sec.Versions {
			if indexOf(o.Stages, stage) >= 0 {
				v = o
			}
		}
		if v == nil {
			return nil, core.Errorf("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: %s", stage)
		}
	}
	created := v.Created
	return &sm.GetSecretValueOutput{
		ARN: aws.String(sec.ARN), Name: aws.String(sec.Name), VersionId: aws.String(v.ID),
		SecretString: v.String, SecretBinary: v.Binary, VersionStages: append([]string(nil), v.Stages...), CreatedDate: &created,
	}, nil
}

func (s *SecretsManager) versionStages(sec *Secret) map[string][]string {
	m := make(map[string][]string, len(sec.Versions))
	for id, v := range sec.Versions {
		m[id] = append([]string(nil), v.Stages...)
	}
	return m
}

func (s *SecretsManager) describeSecret(_ context.Context, _ *core.Request, in *sm.DescribeSecretInput) (*sm.DescribeSecretOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.find(aws.ToString(in.SecretId))
	if err != nil {
		return nil, err
	}
	created, changed := sec.Created, sec.Changed
	out := &sm.DescribeSecretOutput{
		ARN: aws.String(sec.ARN), Name: aws.String(sec.Name), CreatedDate: &created, LastChangedDate: &changed,
		Tags: sec.Tags, VersionIdsToStages: s.versionStages(sec), DeletedDate: sec.Deleted,
	}
	if sec.Description != "" {
		out.Description = aws.String(sec.Description)
	}
	if sec.KmsKeyID != "" {
		out.KmsKeyId = aws.String(sec.KmsKeyID)
	}
	return out, nil
}

func (s *SecretsManager) deleteSecret(_ context.Context, _ *core.Request, in *sm.DeleteSecretInput) (*sm.DeleteSecretOutput, error) {
	force := aws.ToBool(in.ForceDeleteWithoutRecovery)
	days := int64(30)
	if in.RecoveryWindowInDays != nil {
		if force {
			return nil, invalidParam("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
		}
		days = aws.ToInt64(in.RecoveryWindowInDays)
		if days < 7 || days > 30 {
			return nil, invalidParam("The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.find(aws.ToString(in.SecretId))
	if err != nil {
		return nil, err
	}
	now := s.now()
	when := now
	if force {
		delete(s.Secrets, sec.Name)
	} else {
		if sec.Deleted != nil {
			return nil, invalidRequest("You can't perform this operation on the secret because it was already scheduled for deletion.")
		}
		when = now.Add(time.Duration(days) * 24 * time.Hour)
		sec.Deleted = &when
	}
	s.save()
	return &sm.DeleteSecretOutput{ARN: aws.String(sec.ARN), Name: aws.String(sec.Name), DeletionDate: &when}, nil
}

// matches reports whether sec passes every filter (values of one filter
// are alternatives; a value starting with ! negates).
func matches(sec *Secret, filters []types.Filter) bool {
	for _, f := range filters {
		ok := false
		for _, want := range f.Values {
			neg := strings.HasPrefix(want, "!")
			want = strings.ToLower(strings.TrimPrefix(want, "!"))
			var fields []string
			switch f.Key {
			case types.FilterNameStringTypeName:
				fields = []string{sec.Name}
			case types.FilterNameStringTypeDescription:
				fields = []string{sec.Description}
			case types.FilterNameStringTypeTagKey, types.FilterNameStringTypeTagValue, types.FilterNameStringTypeAll:
				if f.Key == types.FilterNameStringTypeAll {
					fields = []string{sec.Name, sec.Description}
				}
				for _, t := range sec.Tags {
					if f.Key != types.FilterNameStringTypeTagValue {
						fields = append(fields, aws.ToString(t.Key))
					}
					if f.Key != types.FilterNameStringTypeTagKey {
						fields = append(fields, aws.ToString(t.Value))
					}
				}
			}
			hit := false
			for _, x := range fields {
				if strings.HasPrefix(strings.ToLower(x), want) {
					hit = true
				}
			}
			if hit != neg {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func (s *SecretsManager) listSecrets(_ context.Context, _ *core.Request, in *sm.ListSecretsInput) (*sm.ListSecretsOutput, error) {
	max := 100
	if in.MaxResults != nil {
		max = int(*in.MaxResults)
		if max < 1 || max > 100 {
			return nil, validation("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100", max)
		}
	}
	for _, f := range in.Filters {
		switch f.Key {
		case types.FilterNameStringTypeName, types.FilterNameStringTypeDescription, types.FilterNameStringTypeTagKey,
			types.FilterNameStringTypeTagValue, types.FilterNameStringTypeAll:
		default:
			return nil, validation("1 validation error detected: Value '%s' at 'filters.key' failed to satisfy constraint: Member must satisfy enum value set: [all, name, tag-key, description, tag-value]", f.Key)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.Secrets))
	for n, sec := range s.Secrets {
		if sec.Deleted != nil && !aws.ToBool(in.IncludePlannedDeletion) || !matches(sec, in.Filters) {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	if in.SortOrder == types.SortOrderTypeDesc {
		sort.Sort(sort.Reverse(sort.StringSlice(names)))
	}
	start := 0
	if in.NextToken != nil {
		start = indexOf(names, *in.NextToken)
		if start < 0 {
			return nil, invalidParam("The NextToken value is not valid.")
		}
	}
	names = names[start:]
	out := &sm.ListSecretsOutput{SecretList: []types.SecretListEntry{}}
	if len(names) > max {
		out.NextToken = aws.String(names[max])
		names = names[:max]
	}
	for _, n := range names {
		sec := s.Secrets[n]
		created, changed := sec.Created, sec.Changed
		e := types.SecretListEntry{
			ARN: aws.String(sec.ARN), Name: aws.String(sec.Name), CreatedDate: &created, LastChangedDate: &changed,
			DeletedDate: sec.Deleted, Tags: sec.Tags, SecretVersionsToStages: s.versionStages(sec),
		}
		if sec.Description != "" {
			e.Description = aws.String(sec.Description)
		}
		if sec.KmsKeyID != "" {
			e.KmsKeyId = aws.String(sec.KmsKeyID)
		}
		out.SecretList = append(out.SecretList, e)
	}
	return out, nil
}
