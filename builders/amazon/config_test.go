package amazon

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/bakehq/bake/bake"
)

// decodeText decodes the body of one source block.
func decodeText(t *testing.T, body string) (*Config, hcl.Diagnostics) {
	t.Helper()
	f, diags := hclsyntax.ParseConfig([]byte("source \"amazon-ebs\" \"ubuntu\" {\n"+body+"\n}\n"), "t.pkr.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	blk := f.Body.(*hclsyntax.Body).Blocks[0]
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{
		"bake": cty.ObjectVal(map[string]cty.Value{"version": cty.StringVal("1.2.3")}),
		"var":  cty.ObjectVal(map[string]cty.Value{"region": cty.UnknownVal(cty.String)}),
	}}
	return Decode(bake.DecodeContext{Body: blk.Body, Eval: ctx, Name: "ubuntu", Range: blk.DefRange(), RunUUID: "run-1"})
}

// A real template's source (hashicorp/learn-packer-get-started style,
// with the arguments bake lacked) decodes with Packer's spec; Packer's
// legacy functions in ami_name are expanded by Prepare.
func TestDecodeRealSource(t *testing.T) {
	t.Parallel()
	c, diags := decodeText(t, `
  ami_name      = "learn-packer-linux-aws-{{timestamp}}"
  region        = "us-west-2"
  source_ami_filter {
    filters = {
      name                = "ubuntu/images/*ubuntu-jammy-22.04-amd64-server-*"
      root-device-type    = "ebs"
      virtualization-type = "hvm"
    }
    most_recent = true
    owners      = ["099720109477"]
  }
  ssh_username                              = "ubuntu"
  ssh_interface                             = "public_ip"
  ssh_timeout                               = "10m"
  ssh_clear_authorized_keys                 = true
  iam_instance_profile                      = "packer-build"
  ami_users                                 = ["123456789012"]
  ami_groups                                = ["all"]
  snapshot_users                            = ["123456789012"]
  force_deregister                          = true
  force_delete_snapshot                     = true
  encrypt_boot                              = false
  temporary_security_group_source_public_ip = false
  temporary_security_group_source_cidrs     = ["10.0.0.0/8"]
  associate_public_ip_address               = true
  spot_price                                = "auto"
  spot_instance_types                       = ["t3.micro", "t3a.micro"]
  pause_before_ssm                          = "10s"
  ami_description = "from {{ .SourceAMIName }}"
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 2
  }
  launch_block_device_mappings {
    device_name           = "/dev/sda1"
    volume_size           = 20
    volume_type           = "gp3"
    delete_on_termination = true
  }
  ami_block_device_mappings {
    device_name = "/dev/sdb"
    volume_size = 8
    encrypted   = true
  }
  subnet_filter {
    filters = { "tag:Name" = "build" }
    most_free = true
  }
  run_tags      = { Name = "packer {{ build_name }}" }
  tags          = { Base = "{{ .SourceAMI }}", Built = "{{isotime \"2006-01-02\"}}" }
  snapshot_tags = { Built = "{{ timestamp }}" }
`)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if !strings.HasPrefix(c.AMIName, "learn-packer-linux-aws-") || strings.Contains(c.AMIName, "{{") {
		t.Errorf("ami_name %q: {{timestamp}} not expanded", c.AMIName)
	}
	if c.SSHUsername != "ubuntu" || c.sshTO != 10*time.Minute || c.instanceType() != "t3.micro" || c.SourceAMIFilter == nil || !c.SourceAMIFilter.MostRecent {
		t.Errorf("config %+v", c)
	}
	if len(c.LaunchBlockDeviceMappings) != 1 || c.LaunchBlockDeviceMappings[0].VolumeSize != 20 || len(c.AMIBlockDeviceMappings) != 1 {
		t.Errorf("mappings %+v %+v", c.LaunchBlockDeviceMappings, c.AMIBlockDeviceMappings)
	}
	if got := strings.Join(c.ignored, ","); !strings.Contains(got, "pause_before_ssm") || strings.Contains(got, "ami_users") {
		t.Errorf("ignored %q", got)
	}

	// Tags and the description are rendered at build time with the
	// source AMI's build info.
	s := &state{cfg: c, cl: &clients{}, source: types.Image{ImageId: aws.String("ami-0abc"), Name: aws.String("ubuntu-jammy"),
		OwnerId: aws.String("099720109477"), CreationDate: aws.String("2024-01-01T00:00:00.000Z")}}
	s.cl.cfg.Region = "us-west-2"
	if err := s.render(); err != nil {
		t.Fatal(err)
	}
	if s.r.description != "from ubuntu-jammy" || s.r.tags["Base"] != "ami-0abc" || s.r.runTags["Name"] != "packer ubuntu" {
		t.Errorf("rendered %+v", s.r)
	}
	if _, err := time.Parse("2006-01-02", s.r.tags["Built"]); err != nil {
		t.Errorf("isotime: %q", s.r.tags["Built"])
	}
	if s.r.snapTags["Built"] == "" || strings.Contains(s.r.snapTags["Built"], "{{") {
		t.Errorf("timestamp: %q", s.r.snapTags["Built"])
	}
	in, err := runInstancesInput(s)
	if err != nil {
		t.Fatal(err)
	}
	if in.IamInstanceProfile == nil || aws.ToString(in.IamInstanceProfile.Name) != "packer-build" || aws.ToInt32(in.MetadataOptions.HttpPutResponseHopLimit) != 2 {
		t.Errorf("launch %+v", in)
	}
	if m := imageMappings(c); len(m) != 2 || aws.ToString(m[1].DeviceName) != "/dev/sdb" || !aws.ToBool(m[1].Ebs.Encrypted) {
		t.Errorf("image mappings %+v", m)
	}
}

// Prepare's errors become diagnostics on the argument they name, and an
// unknown value (a data source at validate) passes.
func TestPrepareErrorsHaveRanges(t *testing.T) {
	t.Parallel()
	_, diags := decodeText(t, `
  region        = var.region
  instance_type = "t3.micro"
  source_ami    = "ami-1"
  ssh_username  = "ubuntu"
  ami_name      = "x"
  communicator  = "winrm"
`)
	if !diags.HasErrors() {
		t.Fatal("accepted")
	}
	var found bool
	for _, d := range diags {
		if d.Subject == nil {
			t.Errorf("no range: %s", d.Summary)
			continue
		}
		if strings.Contains(d.Summary, "ami_name") {
			found = true
			if d.Subject.Start.Line != 7 {
				t.Errorf("ami_name error at line %d, want 7: %s", d.Subject.Start.Line, d.Detail)
			}
		}
	}
	if !found {
		t.Errorf("no ami_name error: %v", diags)
	}
	if _, d := decodeText(t, `
  region        = var.region
  instance_type = "t3.micro"
  source_ami    = "ami-1"
  ssh_username  = "ubuntu"
  ami_name      = "web {{timestamp}}"
  communicator  = "winrm"
`); !strings.Contains(d.Error(), "winrm") {
		t.Errorf("winrm not refused: %v", d)
	}
}

func TestBakeExtrasAreNotPackerArguments(t *testing.T) {
	t.Parallel()
	spec := PackerSpec()
	for _, k := range BakeExtras() {
		if _, ok := spec[k]; ok {
			t.Errorf("bake's %s is a Packer argument", k)
		}
	}
}
