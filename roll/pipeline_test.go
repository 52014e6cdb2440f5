package roll_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pipelineBake bakes the test app as an AMI from the sim's Debian AMI,
// the way a user bakes a service: the binary and its systemd unit, the
// version the app reports, and a verify block that boots the new AMI and
// asks the app for that version before the AMI is published.
const pipelineBake = `
variable "app" {
  type = string
}

source "amazon-ebs" "app" {
  instance_type = "t3.micro"
  source_ami_filter {
    filters     = { name = "debian-12-amd64-*" }
    owners      = ["136693071363"]
    most_recent = true
  }
  ssh_username = "admin"
  ami_name     = "pipeline-${bake.version}"
}

build {
  name    = "pipeline"
  sources = ["source.amazon-ebs.app"]

  provisioner "file" {
    source      = var.app
    destination = "/tmp/roll-app"
  }

  provisioner "shell" {
    inline = [
      "sudo install -m 0755 /tmp/roll-app /usr/local/bin/roll-app",
      "sudo mkdir -p /etc/roll-app",
      "echo ${bake.version} | sudo tee /etc/roll-app/version",
      "printf '[Unit]\\nAfter=network.target\\n[Service]\\nExecStart=/usr/local/bin/roll-app\\nRestart=always\\n[Install]\\nWantedBy=multi-user.target\\n' | sudo tee /etc/systemd/system/roll-app.service",
      "sudo systemctl enable roll-app.service",
    ]
  }

  verify {
    inline  = ["systemctl is-active roll-app.service"]
    timeout = "90s"
    http {
      port     = 80
      path     = "/"
      contains = "${bake.version}"
    }
  }
}
`

// pipelineName is the bake's BUILD.TYPE.NAME: what bake tags its AMIs
// with, what bake promote and the service's image name.
const pipelineName = "pipeline.amazon-ebs.app"

// TestBakeVerifyPromoteRoll is the whole pipeline on the local cloud, with
// the real binaries: bake bakes an AMI and verifies it by booting it,
// bake promote records it for a channel, and roll --channel moves a
// service serving 100 req/s onto it with no failed request. A bake whose
// verification fails publishes nothing, so the channel and the service
// stay where they were.
func TestBakeVerifyPromoteRoll(t *testing.T) {
	t.Parallel()
	needBin(t)
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "app.bake.hcl"), []byte(pipelineBake), 0o644))
	version := fmt.Sprintf("p%d", time.Now().UnixNano()%1e6)
	r := bakeRun(t, "build", "--version", version, "--manifest", "", "-var", "app="+appBin, dir)
	if r.code != 0 || !strings.Contains(r.stderr, "verify") {
		t.Fatalf("bake build: %s", r)
	}
	promoteName(t, pipelineName, version, "prod")

	s := newService(t, "pipeline", serviceOpts{via: viaListener, extra: `  image = "` + pipelineName + `"`})
	deploy(t, s, "blue")
	rollBinUnderLoad(t, s, version, "--service", s.file, "--strategy", "bluegreen", "--channel", "prod")

	// A bake that fails its verification: exit 1, no AMI of that version,
	// the channel still on the first.
	bad := version + "x"
	broken := strings.Replace(pipelineBake, `contains = "${bake.version}"`, `contains = "not-${bake.version}"`, 1)
	must(t, os.WriteFile(filepath.Join(dir, "app.bake.hcl"), []byte(broken), 0o644))
	r = bakeRun(t, "build", "--version", bad, "--manifest", "", "-var", "app="+appBin, dir)
	if r.code != 1 || !strings.Contains(r.stderr, "verify http :80/") {
		t.Errorf("bake whose verify fails: %s", r)
	}
	if r := bakeRun(t, "images", pipelineName, "--kind", "amazon-ebs", "--region", "us-east-1"); r.code != 0 || strings.Contains(r.stdout, bad) || !strings.Contains(r.stdout, version) {
		t.Errorf("after the failed bake, images: %s", r)
	}
	if r := bakeRun(t, "promote", pipelineName, bad, "--kind", "amazon-ebs", "--region", "us-east-1", "--channel", "prod"); r.code != 2 {
		t.Errorf("promote of the version that failed verification: %s", r)
	}
}
