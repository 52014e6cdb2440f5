package docker

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/bakehq/bake/bake"
)

// ECR are the credentials Packer's ecr_login takes: static keys, or a
// profile, or (all empty) the default credential chain.
type ECR struct {
	Server    string // login_server: ACCOUNT.dkr.ecr.REGION.amazonaws.com
	AccessKey string
	SecretKey string
	Token     string
	Profile   string
}

var ecrHost = regexp.MustCompile(`^(?:https?://)?[0-9]+\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com`)

// Login gets a registry user and password from ECR's
// GetAuthorizationToken (the token is base64 of USER:PASSWORD). The
// region comes from the server's name when it is an ECR host, else from
// the AWS configuration; AWS_ENDPOINT_URL(_ECR) points it at bake sim.
func (e ECR) Login(ctx context.Context) (user, password string, err error) {
	var opts []func(*awsconfig.LoadOptions) error
	if m := ecrHost.FindStringSubmatch(e.Server); m != nil {
		opts = append(opts, awsconfig.WithRegion(m[1]))
	}
	if e.Profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(e.Profile))
	}
	if e.AccessKey != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(e.AccessKey, e.SecretKey, e.Token)))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return "", "", bake.BadInputf("ecr_login for %s: load AWS configuration: %w (set aws_access_key/aws_secret_key or aws_profile)", e.Server, err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	out, err := ecr.NewFromConfig(cfg).GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return "", "", fmt.Errorf("ecr_login for %s: get an ECR authorization token: %w (check the AWS credentials and ecr:GetAuthorizationToken permission)", e.Server, err)
	}
	if len(out.AuthorizationData) == 0 {
		return "", "", fmt.Errorf("ecr_login for %s: ECR returned no authorization data", e.Server)
	}
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(out.AuthorizationData[0].AuthorizationToken))
	if err != nil {
		return "", "", fmt.Errorf("ecr_login for %s: decode the ECR authorization token: %w", e.Server, err)
	}
	user, password, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", fmt.Errorf("ecr_login for %s: the ECR authorization token is not USER:PASSWORD", e.Server)
	}
	return user, password, nil
}
