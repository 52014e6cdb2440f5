package roll_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/bakehq/bake/internal/testenv"
)

// TestNaiveSwitch is bench/roll.sh's peer: the unguarded cutover a
// pipeline script does with awscli — create the green group, then point
// the listener at it at once — measured under the same load as roll.
func TestNaiveSwitch(t *testing.T) {
	if os.Getenv("ROLL_BENCH") == "" {
		t.Skip("a benchmark peer: run by bench/roll.sh (ROLL_BENCH=1)")
	}
	t.Parallel()
	needCloud(t)
	awsBin, err := exec.LookPath("aws")
	if err != nil {
		testenv.SkipOrFail(t, "awscli not installed")
	}
	s := newService(t, "naive", serviceOpts{via: viaListener})
	deploy(t, s, "blue")
	l := startLoad(t, s)
	waitFor(t, "traffic on blue", 30*time.Second, func() bool { return l.Stats().allOn("blue") })
	subnets, err := cloud.ec2.DescribeSubnets(context.Background(), &ec2.DescribeSubnetsInput{})
	must(t, err)
	var ids []string
	for _, sn := range subnets.Subnets {
		ids = append(ids, aws.ToString(sn.SubnetId))
	}
	awscli := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(awsBin, append([]string{"--endpoint-url", cloud.endpoint, "--region", "us-east-1", "--output", "text"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	v := awscli("ec2", "create-launch-template-version", "--launch-template-name", "naive", "--source-version", "1",
		"--launch-template-data", "ImageId="+cloud.amis["green"], "--query", "LaunchTemplateVersion.VersionNumber")
	awscli("autoscaling", "create-auto-scaling-group", "--auto-scaling-group-name", "naive-green", "--launch-template",
		"LaunchTemplateName=naive,Version="+v, "--min-size", "1", "--max-size", "1", "--desired-capacity", "1",
		"--vpc-zone-identifier", strings.Join(ids, ","), "--target-group-arns", s.tgs[1])
	awscli("elbv2", "modify-listener", "--listener-arn", s.lis[0], "--default-actions", "Type=forward,TargetGroupArn="+s.tgs[1])
	waitFor(t, "traffic on green", 90*time.Second, func() bool { return l.Stats().allOn("green") })
	l.Stop()
	st := l.Stats()
	t.Logf("naive switch: %s", st)
	benchRecord(t, "naive-switch", st, nil, nil)
}
