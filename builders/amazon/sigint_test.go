package amazon_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/bakehq/bake/builders/amazon"
)

// TestSIGINTBinary sends a real SIGINT to bake build in the middle of a
// provisioner: bake exits non-zero after removing everything it made.
func TestSIGINTBinary(t *testing.T) {
	c := startCloud(t)
	bin := filepath.Join(t.TempDir(), "bake")
	build := exec.Command("go", "build", "-o", bin, "github.com/bakehq/bake/cmd/bake")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	path := writeBake(t, faultBake)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "build", "--manifest", "", "--var", "sleep=120", "--version", "sigint1", path)
	cmd.Env = os.Environ()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	runs := map[string]bool{}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		log.WriteString(line + "\n")
		if strings.Contains(line, "provisioning") {
			// The run's UUID, from the tags of what it made so far
			// (this sim serves this test only).
			out, err := c.ec2In("us-east-1").DescribeTags(ctx, &ec2.DescribeTagsInput{})
			if err != nil {
				t.Fatal(err)
			}
			for _, tg := range out.Tags {
				if aws.ToString(tg.Key) == amazon.TagRun {
					runs[aws.ToString(tg.Value)] = true
				}
			}
			if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if len(runs) != 1 {
		t.Fatalf("found runs %v before the interrupt, want one:\n%s", runs, log.String())
	}
	for sc.Scan() { // the rest, until bake exits and closes stderr
		log.WriteString(sc.Text() + "\n")
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("bake build exited with %v after SIGINT, want a failure:\n%s", err, log.String())
	}
	for r := range runs {
		if left := c.leftovers(t, r, "us-east-1", "us-west-2"); len(left) > 0 {
			t.Errorf("left after SIGINT: %v\n%s", left, log.String())
		}
	}
	if !strings.Contains(log.String(), "terminated") {
		t.Errorf("bake did not report terminating the instance:\n%s", log.String())
	}
}
