package amazon_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/builders/amazon"
)

// faultBake goes through every step: a security group and key pair of its
// own, an encrypted image, a copy to us-west-2.
const faultBake = `
variable "sleep" {
  type    = number
  default = 0
}

source "amazon-ebs" "f" {
  instance_type = "t3.micro"
  source_ami_filter {
    filters     = { name = "debian-12-amd64-*" }
    owners      = ["136693071363"]
    most_recent = true
  }
  ami_name         = "f-${bake.version}"
  ami_regions      = ["us-west-2"]
  encrypt_boot     = true
  deprecate_at     = "2031-01-01T00:00:00Z"
  host_key_timeout = "1m"
  ssh_timeout      = "1m"
}

build {
  sources = ["source.amazon-ebs.f"]
  provisioner "shell" {
    inline = ["echo provisioning", "sleep ${var.sleep}"]
  }
}
`

// stepFaults is the API call failed at each step of amazon.StepNames.
// Every step must be here: a new step without a fault case fails
// TestEveryStepHasAFaultCase. Steps that make no API call say why with
// an empty call; they are still interrupted at their boundary.
var stepFaults = map[string]string{
	"key pair":              "ec2:ImportKeyPair",
	"security group":        "ec2:AuthorizeSecurityGroupIngress", // after CreateSecurityGroup made the group
	"instance":              "ec2:RunInstances",
	"instance running":      "ec2:DescribeInstances",
	"host keys":             "ec2:GetConsoleOutput",
	"ssh":                   "", // no API call: a host key mismatch is TestHostKeyMismatchRefused
	"clear authorized keys": "", // no API call (and nothing without ssh_clear_authorized_keys)
	"disconnect":            "", // no API call
	"force deregister":      "", // no API call without force_deregister: TestPackerArguments runs it
	"image":                 "ec2:CreateImage",
	"image available":       "ec2:DescribeImages",
	"encrypt":               "ec2:CopyImage",
	"verify":                "",               // no API call without a verify block: verify_test.go fails one
	"copy":                  "ec2:CreateTags", // after CopyImage made the copy
	"share":                 "",               // no API call without ami_users: TestPackerArguments runs it
	"deprecate":             "ec2:EnableImageDeprecation",
}

func TestEveryStepHasAFaultCase(t *testing.T) {
	t.Parallel()
	for _, s := range amazon.StepNames() {
		if _, ok := stepFaults[s]; !ok {
			t.Errorf("step %q has no fault case in stepFaults: add the API call to fail in it", s)
		}
	}
	if len(stepFaults) != len(amazon.StepNames()) {
		t.Errorf("stepFaults has %d steps, amazon.StepNames %d: remove the steps that are gone", len(stepFaults), len(amazon.StepNames()))
	}
}

// TestFaultsLeaveNothing fails each step's API call, and interrupts the
// bake (as SIGINT does: the run's context is cancelled) before each step
// and in the middle of the provisioner, then counts through the API, by
// the run's tag, what is left in both regions: nothing.
func TestFaultsLeaveNothing(t *testing.T) {
	c := startCloud(t)
	path := writeBake(t, faultBake)
	type tcase struct {
		name      string
		step      string // the step the fault hits
		fail      string // the API call failed, or "" to interrupt
		provision bool   // interrupt in the middle of the provisioner
	}
	var cases []tcase
	for _, s := range amazon.StepNames() {
		if op := stepFaults[s]; op != "" {
			cases = append(cases, tcase{name: "fail " + op + " at " + s, step: s, fail: op})
		}
		cases = append(cases, tcase{name: "interrupt before " + s, step: s})
	}
	cases = append(cases, tcase{name: "interrupt in the provisioner", provision: true})

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vars := []string{"sleep=0"}
			if tc.provision {
				vars = []string{"sleep=60"}
			}
			r := plan(t, path, vars, "")
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			ctx, tcancel := context.WithTimeout(ctx, 3*time.Minute)
			defer tcancel()
			interrupt := errors.New("interrupted (SIGINT)")
			var reached sync.Once
			hit := false
			amazon.SetHooks(r.Jobs[0].Builder, func(_ context.Context, step string) {
				if step != tc.step {
					return
				}
				reached.Do(func() { hit = true })
				if tc.fail != "" {
					c.faults.SetFail(tc.fail, "UnauthorizedOperation")
				} else {
					cancel(interrupt)
				}
			}, func(step string, err error) {
				if step == tc.step {
					c.faults.Clear() // the fault hits this step, not the cleanup
				}
			})
			if tc.provision {
				r.events.on = func(e bake.Event) {
					if e.Type == bake.EventOutput && strings.Contains(e.Message, "provisioning") {
						hit = true
						cancel(interrupt)
					}
				}
			}
			defer c.faults.Clear()
			res := r.run(ctx, t)
			if !hit {
				t.Fatalf("the bake never reached %q%s:\n%s", tc.step, map[bool]string{true: " (the provisioner)"}[tc.provision], r.events)
			}
			if res.Err == nil {
				t.Fatalf("the bake succeeded despite the fault:\n%s", r.events)
			}
			if tc.fail != "" && !strings.Contains(res.Err.Error(), tc.step) {
				t.Errorf("the error does not name the step %q: %v", tc.step, res.Err)
			}
			if tc.fail == "" && !errors.Is(res.Err, interrupt) && !strings.Contains(res.Err.Error(), interrupt.Error()) {
				t.Errorf("the error does not say the bake was interrupted: %v", res.Err)
			}
			if left := c.leftovers(t, r.UUID, "us-east-1", "us-west-2"); len(left) > 0 {
				t.Errorf("left after %s:\n  %s\nerror: %v\n%s", tc.name, strings.Join(left, "\n  "), res.Err, r.events)
			}
			t.Logf("%s: %s", fmt.Sprint(res.Elapsed.Round(time.Millisecond)), firstLine(res.Err.Error()))
		})
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
