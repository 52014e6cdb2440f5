package amazon

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/packer-plugin-amazon/datasource/secretsmanager"
	"github.com/zclconf/go-cty/cty"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/datasources"
	"github.com/bakehq/bake/internal/awserr"
)

// SecretsManagerType is the amazon-secretsmanager data block's type label.
const SecretsManagerType = "amazon-secretsmanager"

// SecretsManager is one amazon-secretsmanager data block: a secret's
// value. Its values are sensitive: bake hides them wherever they would be
// shown.
type SecretsManager struct {
	b                           *datasources.Block
	acc                         access
	name, key, versionID, stage string
}

var (
	_ bake.DataSource    = (*SecretsManager)(nil)
	_ bake.SensitiveData = (*SecretsManager)(nil)
)

// NewSecretsManager decodes an amazon-secretsmanager data block with
// packer-plugin-amazon's spec.
func NewSecretsManager(dc bake.DecodeContext) (bake.DataSource, hcl.Diagnostics) {
	b, diags := datasources.Decode(SecretsManagerType, dc, (&secretsmanager.Config{}).FlatMapstructure().HCL2Spec())
	if diags.HasErrors() {
		return nil, diags
	}
	acc, d := decodeAccess(b)
	diags = append(diags, d...)
	s := &SecretsManager{b: b, acc: acc, name: b.String("name"), key: b.String("key"), versionID: b.String("version_id"), stage: b.String("version_stage")}
	if s.stage == "" {
		s.stage = "AWSCURRENT"
	}
	if v := b.Value("name"); v.IsNull() || v.IsKnown() && s.name == "" {
		diags = append(diags, b.Diag("name", "name is required", `Set name to the secret's name or ARN, for example name = "prod/app/db".`))
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return s, diags
}

// OutputType is packer-plugin-amazon's output: value, secret_string,
// secret_binary, version_id.
func (s *SecretsManager) OutputType() cty.Type {
	return datasources.SpecType((&secretsmanager.DatasourceOutput{}).FlatMapstructure().HCL2Spec())
}

// Sensitive: secrets never reach logs.
func (s *SecretsManager) Sensitive() bool { return true }

// Execute gets the secret's version (version_id, else version_stage).
func (s *SecretsManager) Execute(ctx context.Context) (cty.Value, error) {
	if !s.b.Known() {
		return cty.NilVal, s.b.Failf("arguments are not known yet (they use a data source that was not read)")
	}
	cfg, err := s.acc.config(ctx, s.b)
	if err != nil {
		return cty.NilVal, err
	}
	in := &sm.GetSecretValueInput{SecretId: aws.String(s.name)}
	version := s.stage
	if s.versionID != "" {
		in.VersionId, version = aws.String(s.versionID), s.versionID
	} else {
		in.VersionStage = aws.String(s.stage)
	}
	out, err := sm.NewFromConfig(cfg).GetSecretValue(ctx, in)
	switch awserr.Code(err) {
	case "":
		if err != nil {
			return cty.NilVal, s.b.Failf("get secret %q in %s: %w", s.name, cfg.Region, err)
		}
	case "ResourceNotFoundException", "InvalidRequestException":
		return cty.NilVal, s.b.Errorf("secret %q version %q not found in %s (%s): check name, version_id or version_stage, and region", s.name, version, cfg.Region, awserr.Short(err))
	default:
		return cty.NilVal, s.b.Failf("get secret %q in %s: %s", s.name, cfg.Region, awserr.Short(err))
	}
	str := aws.ToString(out.SecretString)
	value, err := secretValue(str, s.key)
	if err != nil {
		return cty.NilVal, s.b.Errorf("secret %q: %v", s.name, err)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"value":         cty.StringVal(value),
		"secret_string": cty.StringVal(str),
		"secret_binary": cty.StringVal(string(out.SecretBinary)),
		"version_id":    cty.StringVal(aws.ToString(out.VersionId)),
	}), nil
}

// secretValue is Packer's value output: the secret string when it is not
// JSON; else the value of key, or with no key the first value (bake takes
// the first key in sorted order, so the choice is stable); "" when the
// key is missing.
func secretValue(secret, key string) (string, error) {
	var m map[string]any
	if !json.Valid([]byte(secret)) {
		return secret, nil
	}
	if err := json.Unmarshal([]byte(secret), &m); err != nil {
		// Valid JSON that is not an object (a string, a number).
		return secret, nil
	}
	if key == "" {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if len(keys) == 0 {
			return "", nil
		}
		key = keys[0]
	}
	v, ok := m[key]
	if !ok {
		return "", nil
	}
	switch v := v.(type) {
	case string:
		return v, nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(v), nil
	default:
		return "", bake.BadInputf("key %q holds a JSON %T, not a string or number: read secret_string with jsondecode instead", key, v)
	}
}
