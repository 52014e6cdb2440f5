// Package amazon is Packer's amazon data sources (amazon-ami,
// amazon-parameterstore, amazon-secretsmanager) in bake. Each block is
// decoded with packer-plugin-amazon's own HCL2 spec, so every argument
// Packer accepts is accepted with its type; the calls are made with
// aws-sdk-go-v2 through the credential chain the amazon-ebs builder uses
// (builders/amazon.AWSConfig: AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL).
package amazon

import (
	"context"
	"crypto/tls"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/hashicorp/hcl/v2"

	amazonbuilder "github.com/bakehq/bake/builders/amazon"
	"github.com/bakehq/bake/datasources"
)

// access is packer-plugin-amazon's AccessConfig as bake honours it.
type access struct {
	region, profile               string
	accessKey, secretKey, token   string
	credsFile                     string
	maxRetries                    int
	insecureSkipTLS, skipMetadata bool
}

// noEffect are the AccessConfig arguments bake accepts without acting on
// them, and why; each set one gets one info line.
var noEffect = []struct{ name, why string }{
	{"assume_role", "bake's data sources do not assume roles yet: they use the standard credential chain; put the role in an AWS profile (role_arn, source_profile) and set profile"},
	{"vault_aws_engine", "bake does not read AWS credentials from Vault: they come from the standard credential chain"},
	{"mfa_code", "bake does not pass an MFA code: use an AWS profile with mfa_serial"},
	{"decode_authorization_messages", "bake shows AWS errors as AWS returns them"},
	{"skip_credential_validation", "bake does not check credentials before the data source's own call"},
	{"aws_polling", "data sources make one call and do not wait"},
	{"packer_build_name", "it is set by Packer itself"},
	{"packer_builder_type", "it is set by Packer itself"},
	{"packer_core_version", "it is set by Packer itself"},
	{"packer_debug", "it is set by Packer itself"},
	{"packer_force", "it is set by Packer itself"},
	{"packer_on_error", "it is set by Packer itself"},
	{"packer_user_variables", "it is set by Packer itself"},
	{"packer_sensitive_variables", "it is set by Packer itself"},
}

// decodeAccess reads the AccessConfig arguments of b, with an info line
// for each one set that has no effect.
func decodeAccess(b *datasources.Block) (access, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	for _, n := range noEffect {
		if b.Set(n.name) {
			diags = append(diags, b.Info(n.name, n.why+"."))
		}
	}
	a := access{
		region: b.String("region"), profile: b.String("profile"),
		accessKey: b.String("access_key"), secretKey: b.String("secret_key"), token: b.String("token"),
		credsFile: b.String("shared_credentials_file"), maxRetries: b.Int("max_retries"),
		insecureSkipTLS: b.Bool("insecure_skip_tls_verify"), skipMetadata: b.Bool("skip_metadata_api_check"),
	}
	if (a.accessKey == "") != (a.secretKey == "") && b.Value("access_key").IsKnown() && b.Value("secret_key").IsKnown() {
		name := "secret_key"
		if a.accessKey == "" {
			name = "access_key"
		}
		diags = append(diags, b.Diag(name, "access_key and secret_key go together",
			"Set both (static credentials), or neither to use the standard credential chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, ...)."))
	}
	return a, diags
}

// config is the AWS configuration for b's calls.
func (a access) config(ctx context.Context, b *datasources.Block) (aws.Config, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if a.accessKey != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(a.accessKey, a.secretKey, a.token)))
	}
	if a.credsFile != "" {
		opts = append(opts, awsconfig.WithSharedCredentialsFiles([]string{a.credsFile}))
	}
	if a.maxRetries > 0 {
		opts = append(opts, awsconfig.WithRetryMaxAttempts(a.maxRetries+1))
	}
	if a.skipMetadata {
		opts = append(opts, awsconfig.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	}
	if a.insecureSkipTLS {
		opts = append(opts, awsconfig.WithHTTPClient(awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user's insecure_skip_tls_verify
		})))
	}
	return amazonbuilder.AWSConfig(ctx, b.Where(), "data", a.region, a.profile, opts...)
}
