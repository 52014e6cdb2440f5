// Package sts is the sim's STS: GetCallerIdentity, so that tools which
// check their credentials first (bake, terraform, the AWS CLI) work.
package sts

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/bakehq/bake/sim/core"
)

// New is the STS service. Every caller is the user "bake-sim" of the
// server's account; the access key is echoed as the user id.
func New() *core.Service {
	svc := core.MustService("sts")
	core.Handle(svc, "GetCallerIdentity", getCallerIdentity)
	return svc
}

func getCallerIdentity(_ context.Context, req *core.Request, _ *sts.GetCallerIdentityInput) (*sts.GetCallerIdentityOutput, error) {
	user := req.AccessKey
	if user == "" {
		user = "AIDASIMBAKESIMUSER01"
	}
	return &sts.GetCallerIdentityOutput{
		Account: aws.String(req.AccountID),
		Arn:     aws.String("arn:aws:iam::" + req.AccountID + ":user/bake-sim"),
		UserId:  aws.String(user),
	}, nil
}
