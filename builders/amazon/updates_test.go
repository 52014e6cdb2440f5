package amazon_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/builders/amazon"
	"github.com/bakehq/bake/images"
	"github.com/bakehq/bake/internal/testenv"
	simec2 "github.com/bakehq/bake/sim/ec2"
)

const checkBake = `
source "amazon-ebs" "u" {
  instance_type = "t3.micro"
  source_ami_filter {
    filters     = { name = "debian-12-amd64-*" }
    owners      = ["136693071363"]
    most_recent = true
  }
  ami_name         = "u-${bake.version}"
  host_key_timeout = "1m"
  ssh_timeout      = "1m"
}

build {
  sources = ["source.amazon-ebs.u"]
}
`

type updateChecker interface {
	CheckUpdates(ctx context.Context, ami string, log bake.Log) (images.Updates, error)
}

// TestCheckUpdates boots the sim's Debian AMI for the update check: apt
// (from Debian's mirror) counts pending updates, and the instance, key
// pair and security group are gone afterwards. Then the check is
// interrupted before each boot step, in the middle of apt, and made to
// fail at RunInstances; nothing is left either, and no image is made.
func TestCheckUpdates(t *testing.T) {
	c := startCloud(t)
	path := writeBake(t, checkBake)
	debian := func(t *testing.T) string {
		out, err := c.ec2In("us-east-1").DescribeImages(context.Background(), &ec2.DescribeImagesInput{Owners: []string{simec2.DebianOwnerID}, Filters: []types.Filter{{Name: aws.String("name"), Values: []string{"debian-12-amd64-*"}}}})
		if err != nil || len(out.Images) != 1 {
			t.Fatalf("the sim's debian ami: %v %v", err, out)
		}
		return aws.ToString(out.Images[0].ImageId)
	}
	resolve := func(t *testing.T) (*bakeRun, updateChecker) {
		t.Helper()
		r := plan(t, path, nil, "abort") // the check removes its instance even with --on-error=abort
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := r.Jobs[0].Builder.Resolve(ctx); err != nil {
			t.Fatal(err)
		}
		return r, r.Jobs[0].Builder.(updateChecker)
	}
	checkLeftovers := func(t *testing.T, r *bakeRun) {
		t.Helper()
		if left := c.leftovers(t, r.UUID, "us-east-1"); len(left) > 0 {
			t.Errorf("left after the check:\n  %s\n%s", strings.Join(left, "\n  "), r.events)
		}
	}

	t.Run("pending updates", func(t *testing.T) {
		r, uc := resolve(t)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		ami := debian(t)
		u, err := uc.CheckUpdates(ctx, ami, bake.Log{R: r.events, Source: "u"})
		if err != nil && strings.Contains(err.Error(), "deb.debian.org") {
			testenv.SkipOrFail(t, "Debian's mirror is not reachable from the sim's instances: %v", err)
		}
		if err != nil {
			t.Fatalf("check updates in %s: %v\n%s", ami, err, r.events)
		}
		// The sim's image is debootstrapped from bookworm's main suite;
		// its -security suite is always ahead.
		if u.Pending == 0 || u.Security == 0 || u.Unsupported || u.NotChecked != "" {
			t.Errorf("updates of %s = %+v, want some pending, some of them security", ami, u)
		}
		t.Logf("%s: %d pending (%d security)", ami, u.Pending, u.Security)
		checkLeftovers(t, r)
	})

	interrupt := errors.New("interrupted (SIGINT)")
	type tcase struct {
		name string
		step string // interrupt before it; "" for in the middle of apt
		fail string // the API call failed at step, instead
	}
	var cases []tcase
	for _, s := range []string{"key pair", "security group", "instance", "instance running", "host keys", "ssh"} {
		cases = append(cases, tcase{name: "interrupt before " + s, step: s})
	}
	cases = append(cases, tcase{name: "interrupt in apt"}, tcase{name: "fail ec2:RunInstances", step: "instance", fail: "ec2:RunInstances"})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, uc := resolve(t)
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			ctx, tcancel := context.WithTimeout(ctx, 3*time.Minute)
			defer tcancel()
			var once sync.Once
			hit := false
			amazon.SetHooks(r.Jobs[0].Builder, func(_ context.Context, step string) {
				if step != tc.step {
					return
				}
				hit = true
				if tc.fail != "" {
					c.faults.SetFail(tc.fail, "UnauthorizedOperation")
				} else {
					cancel(interrupt)
				}
			}, func(step string, err error) {
				if step == tc.step {
					c.faults.Clear()
				}
				if tc.step == "" && step == "ssh" && err == nil {
					// apt-get update takes seconds: interrupt it.
					once.Do(func() {
						hit = true
						time.AfterFunc(300*time.Millisecond, func() { cancel(interrupt) })
					})
				}
			})
			defer c.faults.Clear()
			u, err := uc.CheckUpdates(ctx, debian(t), bake.Log{R: r.events, Source: "u"})
			if !hit {
				t.Fatalf("the check never reached %q:\n%s", tc.step, r.events)
			}
			if err == nil {
				t.Fatalf("the check succeeded (%+v) despite the fault:\n%s", u, r.events)
			}
			if tc.fail == "" && !strings.Contains(err.Error(), interrupt.Error()) {
				t.Errorf("the error does not say the check was interrupted: %v", err)
			}
			if !strings.Contains(err.Error(), "check") {
				t.Errorf("the error does not say it was the update check: %v", err)
			}
			checkLeftovers(t, r)
			t.Logf("%s", firstLine(err.Error()))
		})
	}
}
