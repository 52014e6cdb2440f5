// Package ecr is the sim's ECR: GetAuthorizationToken, so that Packer's
// ecr_login (docker builder, docker-push) gets registry credentials. The
// sim has no registry of its own: the token is for a local registry that
// accepts the user AWS with the password Password (Debian's
// docker-registry with htpasswd or token auth, as bake's tests run it).
package ecr

import (
	"context"
	"encoding/base64"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/bakehq/bake/sim/core"
)

// User and Password are what every token decodes to, as ECR's tokens
// decode to AWS:<password>.
const (
	User     = "AWS"
	Password = "bake-sim-ecr-password"
)

// TokenLifetime is how long a token is said to be valid (ECR: 12 hours).
const TokenLifetime = 12 * time.Hour

// New is the ECR service.
func New() *core.Service {
	svc := core.MustService("ecr")
	core.Handle(svc, "GetAuthorizationToken", getAuthorizationToken)
	return svc
}

func getAuthorizationToken(_ context.Context, req *core.Request, _ *ecr.GetAuthorizationTokenInput) (*ecr.GetAuthorizationTokenOutput, error) {
	token := base64.StdEncoding.EncodeToString([]byte(User + ":" + Password))
	return &ecr.GetAuthorizationTokenOutput{AuthorizationData: []types.AuthorizationData{{
		AuthorizationToken: aws.String(token),
		ExpiresAt:          aws.Time(time.Now().Add(TokenLifetime).UTC()),
		ProxyEndpoint:      aws.String("https://" + req.AccountID + ".dkr.ecr." + req.Region + ".amazonaws.com"),
	}}}, nil
}
