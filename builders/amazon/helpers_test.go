package amazon_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/hashicorp/hcl/v2"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/bake/config"
	"github.com/bakehq/bake/builders/amazon"
	"github.com/bakehq/bake/internal/testenv"
	"github.com/bakehq/bake/provisioners/file"
	"github.com/bakehq/bake/provisioners/recipe"
	"github.com/bakehq/bake/provisioners/shell"
	"github.com/bakehq/bake/sim"
	"github.com/bakehq/bake/sim/core"
	simec2 "github.com/bakehq/bake/sim/ec2"
)

// consoleRuntime is the sim's Docker runtime with a switch that hides the
// host key fingerprints from every console, as an AMI without
// cloud-init's ssh module would.
type consoleRuntime struct {
	*simec2.Docker
	hide atomic.Bool
}

func (r *consoleRuntime) Console(ctx context.Context, id string) (string, error) {
	out, err := r.Docker.Console(ctx, id)
	if r.hide.Load() {
		out = strings.ReplaceAll(out, "SSH HOST KEY FINGERPRINTS", "(hidden by the test)")
	}
	return out, err
}

// cloud is a sim started for one test, on loopback, with its own state.
type cloud struct {
	sim     *sim.Sim
	faults  *core.Faults
	runtime *consoleRuntime
}

// startCloud runs a sim with the Docker runtime and the Debian AMI,
// skipping when a part is truly absent, and points the AWS SDK's
// environment at it. Its containers and images are removed at cleanup.
func startCloud(t *testing.T) *cloud {
	t.Helper()
	if testing.Short() {
		t.Skip("boots instances as containers: skipped with -short")
	}
	ctx := context.Background()
	d, err := simec2.NewDocker(ctx)
	if err != nil {
		testenv.SkipOrFail(t, "docker engine not reachable: %v", err)
	}
	// Registered first, so it runs after the sim is closed: with a
	// runtime of its own the sim leaves its containers to us.
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer ccancel()
		if err := d.RemoveAll(cctx); err != nil {
			t.Errorf("remove the sim's containers: %v", err)
		}
		d.Close()
	})
	c := &cloud{faults: core.NewFaults(), runtime: &consoleRuntime{Docker: d}}
	c.sim = testenv.StartSim(t, sim.Options{Faults: c.faults, Runtime: c.runtime})
	setAWSEnv(t, c.sim.Endpoint())
	return c
}

// setAWSEnv points the SDK's standard chain at endpoint with static
// credentials, and keeps it off this machine's AWS files and IMDS.
func setAWSEnv(t *testing.T, endpoint string) {
	testenv.UseSim(t, endpoint)
	t.Setenv("AWS_MAX_ATTEMPTS", "2")
}

// ec2In is an SDK client of the sim in region, for the checks.
func (c *cloud) ec2In(region string) *ec2.Client {
	return ec2.New(ec2.Options{
		Region: region, BaseEndpoint: aws.String(c.sim.Endpoint()),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDBAKETEST", "bake-test-secret", ""),
	})
}

var _ = awsconfig.LoadDefaultConfig // the builder's chain; the checks use static clients

// bakeRun is one bake of a bake file, in process, as bake build runs it.
type bakeRun struct {
	UUID    string
	Version string
	Jobs    []*bake.Job
	events  *eventLog
}

// plan decodes a bake file with the builder and provisioners bake build
// registers.
func plan(t *testing.T, path string, vars []string, onError string) *bakeRun {
	t.Helper()
	cfg, err := config.Load(config.Options{Path: path, Vars: vars, Env: os.Environ()})
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	r := &bakeRun{UUID: fmt.Sprintf("%08x-test-%d", time.Now().UnixNano()&0xffffffff, time.Now().UnixNano()%1000), events: &eventLog{}}
	r.Version = "t" + time.Now().UTC().Format("20060102.150405.000000")
	jobs, err := cfg.Jobs(config.ExpandOptions{
		Plugins: bake.Plugins{
			Builders:     map[string]func(bake.DecodeContext) (bake.Builder, hcl.Diagnostics){amazon.Type: amazon.New},
			Provisioners: map[string]func(bake.DecodeContext) (bake.Provisioner, hcl.Diagnostics){"shell": shell.New, "recipe": recipe.New, "file": file.New},
		},
		Version: r.Version, BuildTime: time.Now().UTC(), RunUUID: r.UUID, OnError: onError,
	})
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	r.Jobs = jobs
	return r
}

// run bakes the one job and returns its result.
func (r *bakeRun) run(ctx context.Context, t *testing.T) bake.Result {
	t.Helper()
	res := bake.Run(ctx, r.Jobs, bake.RunOptions{Parallel: 1, Reporter: r.events, Version: r.Version,
		BuildTime: time.Now().UTC(), RunUUID: r.UUID, Revision: "0123456789abcdef", CleanupTimeout: 2 * time.Minute})
	if len(res) != 1 {
		t.Fatalf("got %d results, want 1", len(res))
	}
	return res[0]
}

// eventLog keeps a bake's events.
type eventLog struct {
	mu     sync.Mutex
	events []bake.Event
	on     func(bake.Event)
}

func (l *eventLog) Report(e bake.Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	on := l.on
	l.mu.Unlock()
	if on != nil {
		on(e)
	}
}

func (l *eventLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, e := range l.events {
		fmt.Fprintf(&b, "%s %s [%s] %s%s\n", e.Type, e.Source, e.Step, e.Message, map[bool]string{true: " error: " + e.Error}[e.Error != ""])
	}
	return b.String()
}

// leftovers counts, through the API and by the run's tag, what a run
// left in regions: instances not terminated, key pairs, security groups,
// images and snapshots. The sim has no volume API; an instance's volume
// is its container, gone with the instance.
func (c *cloud) leftovers(t *testing.T, run string, regions ...string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tag := []types.Filter{{Name: aws.String("tag:" + amazon.TagRun), Values: []string{run}}}
	var left []string
	for _, region := range regions {
		api := c.ec2In(region)
		insts, err := api.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: tag})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range insts.Reservations {
			for _, i := range r.Instances {
				if i.State.Name != types.InstanceStateNameTerminated {
					left = append(left, fmt.Sprintf("%s: instance %s (%s)", region, aws.ToString(i.InstanceId), i.State.Name))
				}
			}
		}
		keys, err := api.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{Filters: tag})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys.KeyPairs {
			left = append(left, fmt.Sprintf("%s: key pair %s", region, aws.ToString(k.KeyName)))
		}
		groups, err := api.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: tag})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range groups.SecurityGroups {
			left = append(left, fmt.Sprintf("%s: security group %s", region, aws.ToString(g.GroupId)))
		}
		imgs, err := api.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: tag})
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range imgs.Images {
			if hasTag(im.Tags, amazon.TagCheckpoint) {
				continue // kept on purpose for --resume; the checkpoint tests count them
			}
			left = append(left, fmt.Sprintf("%s: image %s (%s)", region, aws.ToString(im.ImageId), im.State))
		}
		snaps, err := api.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, Filters: tag})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range snaps.Snapshots {
			if hasTag(s.Tags, amazon.TagCheckpoint) {
				continue
			}
			left = append(left, fmt.Sprintf("%s: snapshot %s", region, aws.ToString(s.SnapshotId)))
		}
	}
	return left
}

// instanceOf finds the running build instance of a run.
func (c *cloud) instanceOf(ctx context.Context, run string) (string, error) {
	out, err := c.ec2In("us-east-1").DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{
		{Name: aws.String("tag:" + amazon.TagRun), Values: []string{run}},
		{Name: aws.String("instance-state-name"), Values: []string{"running"}},
	}})
	if err != nil {
		return "", err
	}
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			return aws.ToString(i.InstanceId), nil
		}
	}
	return "", errors.New("no running instance of run " + run)
}

// writeBake writes a bake file into a temporary directory.
func writeBake(t *testing.T, text string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "test.bake.hcl")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// aptProxy is the apt-cacher-ng hack/setup-recipes.sh runs, as the
// instances (containers on the docker bridge) reach it, or "".
func aptProxy(t *testing.T) string {
	if p, ok := os.LookupEnv("BAKE_TEST_APT_PROXY"); ok {
		return p
	}
	conn, err := net.DialTimeout("tcp", "127.0.0.1:3142", time.Second)
	if err != nil {
		t.Logf("no apt-cacher-ng on 127.0.0.1:3142 (hack/setup-recipes.sh starts one): apt downloads from the mirror")
		return ""
	}
	conn.Close()
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return ""
	}
	defer api.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nw, err := api.NetworkInspect(ctx, "bridge", network.InspectOptions{})
	if err != nil || len(nw.IPAM.Config) == 0 {
		return ""
	}
	gw := nw.IPAM.Config[0].Gateway
	if gw == "" {
		pfx, err := netip.ParsePrefix(nw.IPAM.Config[0].Subnet)
		if err != nil {
			return ""
		}
		gw = pfx.Masked().Addr().Next().String()
	}
	return "http://" + gw + ":3142"
}

// hasTag reports whether tags has key.
func hasTag(tags []types.Tag, key string) bool {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return true
		}
	}
	return false
}
