package cli

import (
	"context"
	"fmt"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/images"
)

// amazonStore is the AMI store over regions, with clients from the
// standard chain (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, ...).
func amazonStore(ctx context.Context, regions []string) (images.Store, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if len(regions) == 0 {
		if cfg.Region == "" {
			return nil, bake.BadInputf("no AWS region: set AWS_REGION or pass --region")
		}
		regions = []string{cfg.Region}
	}
	s := &images.Amazon{}
	for _, r := range regions {
		c := cfg.Copy()
		c.Region = r
		s.Regions = append(s.Regions, images.AmazonRegion{
			Name: r, EC2: ec2.NewFromConfig(c), SSM: ssm.NewFromConfig(c), Groups: autoscaling.NewFromConfig(c),
		})
	}
	return s, nil
}
