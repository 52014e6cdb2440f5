package roll_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/bakehq/bake/images"
)

// bakeRun runs the real bake binary against the local cloud (the
// harness exported AWS_ENDPOINT_URL and test credentials).
func bakeRun(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bakeBin, args...)
	var out, errb syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{out.String(), errb.String(), 0}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("bake %v: %v", args, err)
	}
	return r
}

// promote points channel at version with the real `bake promote`, as a
// pipeline does before it rolls by channel.
func promote(t *testing.T, version, channel string) {
	t.Helper()
	promoteName(t, bakeName, version, channel)
}

// promoteName is promote of the AMIs of the bake name.
func promoteName(t *testing.T, name, version, channel string) {
	t.Helper()
	r := bakeRun(t, "promote", name, version, "--kind", "amazon-ebs", "--region", "us-east-1", "--channel", channel)
	if r.code != 0 {
		t.Fatalf("bake promote %s %s --channel %s: %s", name, version, channel, r)
	}
}

func channelAMI(t *testing.T, channel string) string {
	t.Helper()
	out, err := cloud.ssm.GetParameter(context.Background(), &ssm.GetParameterInput{Name: aws.String(images.ChannelParameter(bakeName, channel))})
	must(t, err)
	return aws.ToString(out.Parameter.Value)
}

// TestPromoteThenRollByChannel is the pipeline's promote-and-roll: `bake
// promote` records green for the channel, `roll --channel` resolves it
// through the service's image and moves the service under load with no
// failed request. Mistakes in either change nothing.
func TestPromoteThenRollByChannel(t *testing.T) {
	t.Parallel()
	needBin(t)
	s := newService(t, "channel", serviceOpts{via: viaListener, extra: `  image = "` + bakeName + `"`})
	deploy(t, s, "blue")

	promote(t, "green", "prod")
	if got := channelAMI(t, "prod"); got != cloud.amis["green"] {
		t.Fatalf("after bake promote, /bake/%s/prod = %s, want green's %s", bakeName, got, cloud.amis["green"])
	}
	r := bakeRun(t, "images", bakeName, "--kind", "amazon-ebs", "--region", "us-east-1", "--channel", "prod")
	if r.code != 0 || !strings.Contains(r.stdout, "green") {
		t.Errorf("bake images --channel prod: %s", r)
	}

	// Bad input first: nothing may change.
	r = bakeRun(t, "promote", bakeName, "v-none", "--kind", "amazon-ebs", "--region", "us-east-1", "--channel", "prod")
	if r.code != 2 || !strings.Contains(r.stderr, "v-none") {
		t.Errorf("bake promote of an unknown version: %s", r)
	}
	if got := channelAMI(t, "prod"); got != cloud.amis["green"] {
		t.Errorf("a failed promote changed the channel: %s, want %s", got, cloud.amis["green"])
	}
	r = run(t, "--service", s.file, "--strategy", "bluegreen", "--channel", "nope")
	if r.code != 2 || !strings.Contains(r.stderr, "/bake/"+bakeName+"/nope") {
		t.Errorf("roll --channel nope: %s", r)
	}

	r = rollBinUnderLoad(t, s, "green", "--service", s.file, "--strategy", "bluegreen", "--channel", "prod")
	if !strings.Contains(r.stdout+r.stderr, cloud.amis["green"]) {
		t.Errorf("roll --channel prod does not name green's AMI: %s", r)
	}
	if g := groupsOf(t, "channel", true); len(g) != 1 {
		t.Errorf("groups left %v, want one", g)
	}
}

// rollBinUnderLoad runs the roll binary with args on the deployed s
// under load, and checks it succeeded with no failed request and moved
// all traffic from blue to version.
func rollBinUnderLoad(t *testing.T, s *service, version string, args ...string) result {
	t.Helper()
	l := startLoad(t, s)
	waitFor(t, "traffic on blue", 30*time.Second, func() bool { return l.Stats().allOn("blue") })
	r := run(t, args...)
	time.Sleep(time.Second)
	l.Stop()
	st := l.Stats()
	t.Logf("roll %v: %s\nload: %s", args, r, st)
	if r.code != 0 {
		t.Fatalf("roll %v: %s", args, r)
	}
	if st.Failed != 0 {
		t.Errorf("%d requests failed during the roll: %s", st.Failed, st)
	}
	if !st.allOn(version) || st.Versions["blue"] == 0 {
		t.Errorf("traffic did not move from blue to %s: %s", version, st)
	}
	return r
}
