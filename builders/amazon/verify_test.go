package amazon_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bakehq/bake/bake"
)

// verifyBake installs a small web server (perl, which the Debian AMI
// has) as a systemd unit, and verifies the AMI it makes: an instance of
// the new AMI must serve the page once systemd started the unit, and
// commands run over SSH through sudo. The variables break one check.
const verifyBake = `
variable "page_version" {
  type    = string
  default = ""
}
variable "command" {
  type    = string
  default = "test -s /srv/www/index.html"
}

source "amazon-ebs" "v" {
  instance_type = "t3.micro"
  source_ami_filter {
    filters     = { name = "debian-12-amd64-*" }
    owners      = ["136693071363"]
    most_recent = true
  }
  ssh_username     = "admin"
  ami_name         = "v-${bake.version}"
  ami_regions      = ["us-west-2"]
  host_key_timeout = "1m"
  ssh_timeout      = "1m"
}

build {
  sources = ["source.amazon-ebs.v"]
  provisioner "shell" {
    inline = [
      "mkdir -p /srv/www && echo '<h1>baked ${bake.version}</h1>' > /srv/www/index.html",
      <<-EOT
      cat > /usr/local/bin/tiny-httpd <<'PERL'
      #!/usr/bin/perl
      use IO::Socket::INET;
      my $s = IO::Socket::INET->new(LocalPort => 80, Listen => 5, ReuseAddr => 1) or die "listen on :80: $!";
      while (my $c = $s->accept) {
        while (my $l = <$c>) { last if $l =~ /^\r?\n$/ }
        open(my $f, '<', '/srv/www/index.html'); local $/; my $b = <$f> // ''; close $f;
        print $c "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: " . length($b) . "\r\n\r\n" . $b;
        close $c;
      }
      PERL
      chmod 755 /usr/local/bin/tiny-httpd
      EOT
      ,
      "printf '[Unit]\nDescription=tiny httpd\n[Service]\nExecStart=/usr/local/bin/tiny-httpd\n[Install]\nWantedBy=multi-user.target\n' > /etc/systemd/system/tiny-httpd.service",
      "systemctl enable tiny-httpd",
    ]
  }
  verify {
    inline  = ["systemctl is-active tiny-httpd", var.command]
    timeout = "1m"
    http {
      port     = 80
      contains = "baked ${var.page_version == "" ? bake.version : var.page_version}"
    }
  }
}
`

// verifyResults are the verify check results a bake reported.
func verifyResults(r *bakeRun) []string {
	r.events.mu.Lock()
	defer r.events.mu.Unlock()
	var out []string
	for _, e := range r.events.events {
		if res := e.Fields["verify_result"]; res != "" {
			out = append(out, res+" "+e.Fields["verify_check"])
		}
	}
	return out
}

// TestVerifyAMI bakes an AMI whose verify block passes: an instance of
// the new AMI (not the build instance: systemd must start the server at
// boot) serves the page and runs the commands; the AMI is copied and
// nothing temporary is left. Then the same bake with a wrong page and
// with a command exiting 1: the bake fails naming the check, and the AMI,
// its snapshots, both instances, the key pair and the security group are
// gone, and nothing was copied to us-west-2.
func TestVerifyAMI(t *testing.T) {
	c := startCloud(t)
	path := writeBake(t, verifyBake)
	bakeIt := func(t *testing.T, vars ...string) (*bakeRun, bake.Result) {
		t.Helper()
		r := plan(t, path, vars, "")
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		res := r.run(ctx, t)
		t.Logf("bake %v: %s", vars, res.Elapsed.Round(time.Millisecond))
		return r, res
	}

	t.Run("pass", func(t *testing.T) {
		r, res := bakeIt(t)
		if res.Err != nil {
			t.Fatalf("bake: %v\n%s", res.Err, r.events)
		}
		want := []string{`pass http :80/ contains "baked ` + r.Version + `"`, `pass inline "systemctl is-active tiny-httpd"`, `pass inline "test -s /srv/www/index.html"`}
		if got := verifyResults(r); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("verify results\n got %q\nwant %q\n%s", got, want, r.events)
		}
		log := r.events.String()
		for _, w := range []string{"admits tcp/80 from 127.0.0.1/32 for the verify block", "to verify it", "instance of " + res.Artifact.ID} {
			if !strings.Contains(log, w) {
				t.Errorf("the bake's log does not say %q:\n%s", w, log)
			}
		}
		if !strings.HasPrefix(res.Artifact.Extra["ami_regions"], "us-west-2:ami-") {
			t.Errorf("a verified AMI was not copied: %v", res.Artifact.Extra)
		}
		for _, l := range c.leftovers(t, r.UUID, "us-east-1", "us-west-2") {
			if !strings.Contains(l, "image") && !strings.Contains(l, "snapshot") {
				t.Errorf("left after a verified bake: %s", l)
			}
		}
	})

	fails := []struct {
		name  string
		vars  []string
		wants []string
	}{
		{"wrong page", []string{"page_version=nope"}, []string{`verify http :80/ contains "baked nope"`, `want status 200 and a body containing "baked nope"`, `got status 200 and body "<h1>baked t`}},
		{"command exits 1", []string{"command=grep -q nope /srv/www/index.html"}, []string{`verify inline "grep -q nope /srv/www/index.html"`, "want exit code 0, got exit code 1"}},
	}
	for _, f := range fails {
		t.Run(f.name, func(t *testing.T) {
			r, res := bakeIt(t, f.vars...)
			if res.Err == nil {
				t.Fatalf("the bake passed a failing verify:\n%s", r.events)
			}
			t.Logf("error: %v", res.Err)
			for _, w := range append(f.wants, "and its snapshots are removed: nothing was copied to ami_regions") {
				if !strings.Contains(res.Err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, res.Err)
				}
			}
			if left := c.leftovers(t, r.UUID, "us-east-1", "us-west-2"); len(left) > 0 {
				t.Errorf("left after a failed verify:\n  %s\nerror: %v\n%s", strings.Join(left, "\n  "), res.Err, r.events)
			}
		})
	}
}
