package amazon_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bakehq/bake/builders/amazon"
)

const smallBake = `
variable "host_key_timeout" {
  type    = string
  default = "1m"
}
source "amazon-ebs" "k" {
  instance_type = "t3.micro"
  source_ami_filter {
    filters     = { name = "debian-12-amd64-*" }
    owners      = ["136693071363"]
    most_recent = true
  }
  ami_name         = "k-${bake.version}"
  host_key_timeout = var.host_key_timeout
  ssh_timeout      = "30s"
}
build {
  sources = ["source.amazon-ebs.k"]
  provisioner "shell" { inline = ["true"] }
}
`

// TestHostKeyMismatchRefused replaces the instance's host keys after its
// console showed them (as a machine in the middle would present other
// keys): the SSH step refuses to connect, and nothing is left.
func TestHostKeyMismatchRefused(t *testing.T) {
	c := startCloud(t)
	r := plan(t, writeBake(t, smallBake), nil, "")
	amazon.SetHooks(r.Jobs[0].Builder, func(ctx context.Context, step string) {
		if step != "ssh" {
			return
		}
		id, err := c.instanceOf(ctx, r.UUID)
		if err != nil {
			t.Error(err)
			return
		}
		out, code, err := c.sim.EC2.Exec(ctx, id, "sh", "-c", "rm -f /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null && "+
			// systemd may still be busy booting on a loaded machine.
			"for i in 1 2 3 4 5 6 7 8 9 10; do systemctl restart ssh && exit 0; sleep 1; done; exit 1")
		if err != nil || code != 0 {
			t.Errorf("replace the host keys of %s: %v (exit %d) %s", id, err, code, out)
		}
	}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	res := r.run(ctx, t)
	if res.Err == nil {
		t.Fatalf("the bake connected to a machine with other host keys:\n%s", r.events)
	}
	if !strings.Contains(res.Err.Error(), "host key mismatch") {
		t.Errorf("error %q does not say host key mismatch", res.Err)
	}
	if d := time.Since(start); d > time.Minute {
		t.Errorf("the mismatch took %s to refuse: it must not be retried until ssh_timeout", d)
	}
	if left := c.leftovers(t, r.UUID, "us-east-1"); len(left) > 0 {
		t.Errorf("left: %v", left)
	}
	t.Log(res.Err)
}

// TestMissingFingerprintsTimeOut boots an instance whose console shows no
// host key fingerprints: the bake gives up after host_key_timeout with a
// message that says what is missing and what to do.
func TestMissingFingerprintsTimeOut(t *testing.T) {
	c := startCloud(t)
	c.runtime.hide.Store(true)
	defer c.runtime.hide.Store(false)
	r := plan(t, writeBake(t, smallBake), []string{"host_key_timeout=3s"}, "")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res := r.run(ctx, t)
	if res.Err == nil {
		t.Fatalf("the bake went on without host keys:\n%s", r.events)
	}
	for _, want := range []string{"host keys:", "no ssh host key fingerprints", "BEGIN SSH HOST KEY FINGERPRINTS", "within host_key_timeout 3s", "insecure_skip_host_key_check"} {
		if !strings.Contains(res.Err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, res.Err)
		}
	}
	if left := c.leftovers(t, r.UUID, "us-east-1"); len(left) > 0 {
		t.Errorf("left: %v", left)
	}
	t.Log(res.Err)
}

// TestOnErrorAbortKeeps keeps a failed bake's instance, key pair and
// security group, and prints the commands that remove them.
func TestOnErrorAbortKeeps(t *testing.T) {
	c := startCloud(t)
	r := plan(t, writeBake(t, smallBake), nil, "abort")
	amazon.SetHooks(r.Jobs[0].Builder, func(_ context.Context, step string) {
		if step == "ssh" {
			c.faults.SetFail("ec2:CreateImage", "UnauthorizedOperation")
		}
	}, nil)
	defer c.faults.Clear()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res := r.run(ctx, t)
	if res.Err == nil {
		t.Fatal("the bake succeeded despite the fault")
	}
	left := strings.Join(c.leftovers(t, r.UUID, "us-east-1"), "\n")
	for _, want := range []string{"instance", "key pair", "security group"} {
		if !strings.Contains(left, want) {
			t.Errorf("--on-error=abort did not keep the %s; left:\n%s", want, left)
		}
	}
	log := r.events.String()
	for _, want := range []string{"aws ec2 terminate-instances", "aws ec2 delete-security-group", "aws ec2 delete-key-pair"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log does not tell how to remove what was kept (%q):\n%s", want, log)
		}
	}
}
