package amazon

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go/middleware"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/internal/awserr"
)

// The EC2 calls the bake makes, grouped by what uses them. *ec2.Client
// has them all; tests can give a step a fake of just its group.
type (
	imageFinder interface {
		DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, opts ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error)
		DescribeRegions(ctx context.Context, in *ec2.DescribeRegionsInput, opts ...func(*ec2.Options)) (*ec2.DescribeRegionsOutput, error)
	}
	keyPairs interface {
		ImportKeyPair(ctx context.Context, in *ec2.ImportKeyPairInput, opts ...func(*ec2.Options)) (*ec2.ImportKeyPairOutput, error)
		DeleteKeyPair(ctx context.Context, in *ec2.DeleteKeyPairInput, opts ...func(*ec2.Options)) (*ec2.DeleteKeyPairOutput, error)
	}
	securityGroups interface {
		CreateSecurityGroup(ctx context.Context, in *ec2.CreateSecurityGroupInput, opts ...func(*ec2.Options)) (*ec2.CreateSecurityGroupOutput, error)
		AuthorizeSecurityGroupIngress(ctx context.Context, in *ec2.AuthorizeSecurityGroupIngressInput, opts ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupIngressOutput, error)
		DeleteSecurityGroup(ctx context.Context, in *ec2.DeleteSecurityGroupInput, opts ...func(*ec2.Options)) (*ec2.DeleteSecurityGroupOutput, error)
		DescribeSecurityGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput, opts ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error)
		DescribeSubnets(ctx context.Context, in *ec2.DescribeSubnetsInput, opts ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error)
		DescribeVpcs(ctx context.Context, in *ec2.DescribeVpcsInput, opts ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error)
	}
	instances interface {
		RunInstances(ctx context.Context, in *ec2.RunInstancesInput, opts ...func(*ec2.Options)) (*ec2.RunInstancesOutput, error)
		DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, opts ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
		TerminateInstances(ctx context.Context, in *ec2.TerminateInstancesInput, opts ...func(*ec2.Options)) (*ec2.TerminateInstancesOutput, error)
		GetConsoleOutput(ctx context.Context, in *ec2.GetConsoleOutputInput, opts ...func(*ec2.Options)) (*ec2.GetConsoleOutputOutput, error)
	}
	images interface {
		CreateImage(ctx context.Context, in *ec2.CreateImageInput, opts ...func(*ec2.Options)) (*ec2.CreateImageOutput, error)
		CopyImage(ctx context.Context, in *ec2.CopyImageInput, opts ...func(*ec2.Options)) (*ec2.CopyImageOutput, error)
		DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, opts ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error)
		DeregisterImage(ctx context.Context, in *ec2.DeregisterImageInput, opts ...func(*ec2.Options)) (*ec2.DeregisterImageOutput, error)
		DescribeSnapshots(ctx context.Context, in *ec2.DescribeSnapshotsInput, opts ...func(*ec2.Options)) (*ec2.DescribeSnapshotsOutput, error)
		DeleteSnapshot(ctx context.Context, in *ec2.DeleteSnapshotInput, opts ...func(*ec2.Options)) (*ec2.DeleteSnapshotOutput, error)
		CreateTags(ctx context.Context, in *ec2.CreateTagsInput, opts ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error)
		DeleteTags(ctx context.Context, in *ec2.DeleteTagsInput, opts ...func(*ec2.Options)) (*ec2.DeleteTagsOutput, error)
		EnableImageDeprecation(ctx context.Context, in *ec2.EnableImageDeprecationInput, opts ...func(*ec2.Options)) (*ec2.EnableImageDeprecationOutput, error)
		ModifyImageAttribute(ctx context.Context, in *ec2.ModifyImageAttributeInput, opts ...func(*ec2.Options)) (*ec2.ModifyImageAttributeOutput, error)
		ModifySnapshotAttribute(ctx context.Context, in *ec2.ModifySnapshotAttributeInput, opts ...func(*ec2.Options)) (*ec2.ModifySnapshotAttributeOutput, error)
	}
)

// EC2 is what the bake needs of one region's EC2.
type EC2 interface {
	imageFinder
	keyPairs
	securityGroups
	instances
	images
}

// clients makes one EC2 client per region from the standard credential
// chain (AWS_PROFILE or profile, AWS_REGION, AWS_ENDPOINT_URL, ...), and
// counts the calls they make.
type clients struct {
	cfg   aws.Config
	calls *callCounter

	mu     sync.Mutex
	byName map[string]EC2
	// newClient is replaced in tests.
	newClient func(region string) EC2
}

func loadClients(ctx context.Context, c *Config) (*clients, error) {
	counter := &callCounter{byOp: map[string]int{}}
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithAPIOptions([]func(*middleware.Stack) error{counter.middleware})}
	endpoint := ""
	if pc := c.pc; pc != nil {
		// Packer's access arguments; vault_aws_engine's credentials are
		// in AccessKey/SecretKey/Token once Prepare asked Vault.
		if pc.AccessKey != "" {
			opts = append(opts, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(pc.AccessKey, pc.SecretKey, pc.Token)))
		}
		if pc.CredsFilename != "" {
			opts = append(opts, awsconfig.WithSharedCredentialsFiles([]string{pc.CredsFilename}))
		}
		if pc.MaxRetries > 0 {
			opts = append(opts, awsconfig.WithRetryMaxAttempts(pc.MaxRetries))
		}
		endpoint = pc.CustomEndpointEc2
	}
	cfg, err := AWSConfig(ctx, fmt.Sprintf("source %q", c.name), "source", c.Region, c.Profile, opts...)
	if err != nil {
		return nil, err
	}
	if endpoint != "" {
		if !strings.Contains(endpoint, "://") {
			endpoint = "https://" + endpoint
		}
		cfg.BaseEndpoint = aws.String(endpoint)
	}
	cl := &clients{cfg: cfg, calls: counter, byName: map[string]EC2{}}
	cl.newClient = func(region string) EC2 {
		return ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.Region = region })
	}
	return cl, nil
}

// AWSConfig loads the standard credential chain (AWS_PROFILE or profile,
// AWS_REGION or region, AWS_ENDPOINT_URL, ...) for a block: what names it
// in errors (source "x", data.amazon-ami.x at f.pkr.hcl:3) and kind says
// where region can be set (source, data). Data sources use it too.
func AWSConfig(ctx context.Context, what, kind, region, profile string, opts ...func(*awsconfig.LoadOptions) error) (aws.Config, error) {
	var all []func(*awsconfig.LoadOptions) error
	if region != "" {
		all = append(all, awsconfig.WithRegion(region))
	}
	if profile != "" {
		all = append(all, awsconfig.WithSharedConfigProfile(profile))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, append(all, opts...)...)
	if err != nil {
		return aws.Config{}, bake.BadInputf("%s: load AWS configuration (profile %q): %w", what, profile, err)
	}
	if cfg.Region == "" {
		return aws.Config{}, bake.BadInputf("%s: region is not set: set region in the %s block or AWS_REGION", what, kind)
	}
	return cfg, nil
}

func (c *clients) region() string { return c.cfg.Region }

// in returns the client for region.
func (c *clients) in(region string) EC2 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.byName[region]; ok {
		return cl
	}
	cl := c.newClient(region)
	c.byName[region] = cl
	return cl
}

// checkCredentials fails clearly when the credential chain finds none.
func (c *clients) checkCredentials(ctx context.Context, name string) error {
	if c.cfg.Credentials == nil {
		return bake.BadInputf("source %q: credentials: no AWS credentials found: set profile (or AWS_PROFILE), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", name)
	}
	if _, err := c.cfg.Credentials.Retrieve(ctx); err != nil {
		return bake.BadInputf("source %q: credentials: no AWS credentials found (%v): set profile (or AWS_PROFILE), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", name, awserr.Short(err))
	}
	return nil
}

// endpointHost is the host the EC2 API is reached at, for the local
// address that the temporary security group admits.
func (c *clients) endpointHost() string {
	if c.cfg.BaseEndpoint != nil {
		if u, err := url.Parse(*c.cfg.BaseEndpoint); err == nil && u.Hostname() != "" {
			port := u.Port()
			if port == "" {
				port = "443"
			}
			return net.JoinHostPort(u.Hostname(), port)
		}
	}
	return "ec2." + c.region() + ".amazonaws.com:443"
}

// callerCIDR is the address this machine reaches EC2 from, as a /32 (or
// /128): the only source the temporary security group admits by default.
// Dialling UDP sends nothing; it asks the kernel for the route.
func callerCIDR(ctx context.Context, endpoint string) (string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", endpoint)
	if err != nil {
		return "", fmt.Errorf("find this machine's address towards %s: %w (set temporary_security_group_source_cidrs)", endpoint, err)
	}
	defer conn.Close()
	ip := conn.LocalAddr().(*net.UDPAddr).IP
	if ip.To4() != nil {
		return ip.String() + "/32", nil
	}
	return ip.String() + "/128", nil
}

// callCounter counts API calls by operation (for the bench's figures).
type callCounter struct {
	mu   sync.Mutex
	byOp map[string]int
}

func (c *callCounter) middleware(st *middleware.Stack) error {
	return st.Initialize.Add(middleware.InitializeMiddlewareFunc("bakeCallCounter",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			c.mu.Lock()
			c.byOp[middleware.GetOperationName(ctx)]++
			c.mu.Unlock()
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

// Summary is "N calls (Op×n, ...)".
func (c *callCounter) Summary() (int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	total := 0
	ops := make([]string, 0, len(c.byOp))
	for op, n := range c.byOp {
		total += n
		ops = append(ops, fmt.Sprintf("%s=%d", op, n))
	}
	sort.Strings(ops)
	return total, strings.Join(ops, " ")
}
