package amazon

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/zclconf/go-cty/cty"

	"github.com/bakehq/bake/bake"
)

// Config is a `source "amazon-ebs" "NAME"` block. Field names are Packer's
// amazon-ebs builder's where the meaning is the same; bake's own additions
// are marked.
type Config struct {
	Region       string `hcl:"region,optional"`
	Profile      string `hcl:"profile,optional"`
	InstanceType string `hcl:"instance_type"`

	SourceAMI       string     `hcl:"source_ami,optional"`
	SourceAMIFilter *AMIFilter `hcl:"source_ami_filter,block"`

	AMIName        string   `hcl:"ami_name,optional"`
	AMIDescription string   `hcl:"ami_description,optional"`
	AMIRegions     []string `hcl:"ami_regions,optional"`
	EncryptBoot    bool     `hcl:"encrypt_boot,optional"`
	KMSKeyID       string   `hcl:"kms_key_id,optional"`
	DeprecateAt    string   `hcl:"deprecate_at,optional"`
	SkipCreateAMI  bool     `hcl:"skip_create_ami,optional"`

	Tags         map[string]string `hcl:"tags,optional"`
	RunTags      map[string]string `hcl:"run_tags,optional"`
	SnapshotTags map[string]string `hcl:"snapshot_tags,optional"`

	SubnetID                 string   `hcl:"subnet_id,optional"`
	VPCID                    string   `hcl:"vpc_id,optional"`
	SecurityGroupIDs         []string `hcl:"security_group_ids,optional"`
	AssociatePublicIPAddress *bool    `hcl:"associate_public_ip_address,optional"`
	// Packer's: who the temporary security group admits to port 22;
	// default the address this machine reaches EC2 from, never 0.0.0.0/0.
	SourceCIDRs []string `hcl:"temporary_security_group_source_cidrs,optional"`

	UserData                  string               `hcl:"user_data,optional"`
	LaunchBlockDeviceMappings []BlockDeviceMapping `hcl:"launch_block_device_mappings,block"`
	SSHUsername               string               `hcl:"ssh_username,optional"`
	SSHInterface              string               `hcl:"ssh_interface,optional"`
	SSHPort                   int                  `hcl:"ssh_port,optional"`
	SSHTimeout                string               `hcl:"ssh_timeout,optional"`
	// bake: how long to wait for the host key fingerprints on the
	// instance's console (default 5m).
	HostKeyTimeout string `hcl:"host_key_timeout,optional"`
	// bake: connect without verifying the host key when the console
	// shows no fingerprints. Unsafe; an explicit opt-in.
	InsecureSkipHostKeyCheck bool `hcl:"insecure_skip_host_key_check,optional"`
	// bake: run provisioner commands through sudo -n when ssh_username
	// is not root (default true), as the Debian and Ubuntu AMIs expect.
	Sudo *bool `hcl:"sudo,optional"`
	// bake: bounds for the waits on instance state and image progress
	// (defaults 10m and 60m).
	InstanceTimeout string `hcl:"instance_timeout,optional"`
	ImageTimeout    string `hcl:"image_timeout,optional"`

	name      string
	runUUID   string
	onError   string
	sshTO     time.Duration
	hostKeyTO time.Duration
	instTO    time.Duration
	imageTO   time.Duration
	deprecate time.Time
}

// AMIFilter is source_ami_filter: the newest (with most_recent) AMI
// matching filters owned by one of owners.
type AMIFilter struct {
	Filters    map[string]string `hcl:"filters"`
	Owners     []string          `hcl:"owners"`
	MostRecent bool              `hcl:"most_recent,optional"`
}

// String shows the filter as the user wrote it, for errors.
func (f *AMIFilter) String() string {
	keys := sortedKeys(f.Filters)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%q", k, f.Filters[k])
	}
	return fmt.Sprintf("filters {%s} owners [%s]", strings.Join(parts, ", "), strings.Join(f.Owners, ", "))
}

// BlockDeviceMapping is one launch_block_device_mappings block.
type BlockDeviceMapping struct {
	DeviceName          string `hcl:"device_name"`
	VolumeSize          int32  `hcl:"volume_size,optional"`
	VolumeType          string `hcl:"volume_type,optional"`
	IOPS                int32  `hcl:"iops,optional"`
	Throughput          int32  `hcl:"throughput,optional"`
	DeleteOnTermination *bool  `hcl:"delete_on_termination,optional"`
	Encrypted           *bool  `hcl:"encrypted,optional"`
	KMSKeyID            string `hcl:"kms_key_id,optional"`
	SnapshotID          string `hcl:"snapshot_id,optional"`
}

// Defaults, in one place.
const (
	DefaultSSHTimeout      = 5 * time.Minute
	DefaultHostKeyTimeout  = 5 * time.Minute
	DefaultInstanceTimeout = 10 * time.Minute
	DefaultImageTimeout    = 60 * time.Minute
	defaultSSHUsername     = "admin"
)

var (
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)
	amiNameRE = regexp.MustCompile(`^[a-zA-Z0-9()\[\] ./\-'@_]{3,128}$`)
)

// Decode decodes and checks a source block. Every error names the field.
func Decode(dc bake.DecodeContext) (*Config, hcl.Diagnostics) {
	var c Config
	diags := gohcl.DecodeBody(dc.Body, dc.Eval, &c)
	if diags.HasErrors() {
		return nil, diags
	}
	c.name, c.runUUID, c.onError = dc.Name, dc.RunUUID, dc.OnError
	bad := func(field, msg string) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("invalid %s in source %q", field, dc.Name),
			Detail:   msg,
			Subject:  attrRange(dc, field),
		})
	}
	version := evalVersion(dc.Eval)
	if c.AMIName == "" {
		c.AMIName = "bake-" + dc.Name + "-" + version
	}
	switch {
	case !amiNameRE.MatchString(c.AMIName):
		bad("ami_name", fmt.Sprintf("%q: AMI names are 3-128 letters, digits and ( ) [ ] . / - ' @ _ or spaces", c.AMIName))
	case version != "" && !strings.Contains(c.AMIName, version):
		bad("ami_name", fmt.Sprintf("%q does not contain the version %q: put ${bake.version} in it so that every bake makes its own AMI", c.AMIName, version))
	}
	if c.Region != "" && !regionRE.MatchString(c.Region) {
		bad("region", fmt.Sprintf("%q is not a region name like us-east-1", c.Region))
	}
	for _, r := range c.AMIRegions {
		if !regionRE.MatchString(r) {
			bad("ami_regions", fmt.Sprintf("%q is not a region name like eu-west-1", r))
		}
	}
	if c.InstanceType == "" {
		bad("instance_type", "instance_type must name an EC2 instance type, e.g. t3.micro")
	}
	switch {
	case c.SourceAMI == "" && c.SourceAMIFilter == nil:
		bad("source_ami", "give source_ami (ami-...) or a source_ami_filter block")
	case c.SourceAMI != "" && c.SourceAMIFilter != nil:
		bad("source_ami", "give source_ami or source_ami_filter, not both")
	case c.SourceAMI != "" && !strings.HasPrefix(c.SourceAMI, "ami-"):
		bad("source_ami", fmt.Sprintf("%q is not an AMI id (ami-...)", c.SourceAMI))
	case c.SourceAMIFilter != nil && len(c.SourceAMIFilter.Owners) == 0:
		bad("source_ami_filter", "owners must list at least one account id, self or amazon: an AMI filter without owners matches anyone's image")
	}
	if c.KMSKeyID != "" && !c.EncryptBoot {
		bad("kms_key_id", "kms_key_id is set but encrypt_boot is not: set encrypt_boot = true")
	}
	if c.DeprecateAt != "" {
		t, err := time.Parse(time.RFC3339, c.DeprecateAt)
		if err != nil {
			bad("deprecate_at", fmt.Sprintf("%q is not an RFC 3339 time like 2027-01-01T00:00:00Z", c.DeprecateAt))
		}
		c.deprecate = t
	}
	if c.SkipCreateAMI && len(c.AMIRegions) > 0 {
		bad("skip_create_ami", "skip_create_ami = true makes no AMI for ami_regions to copy: remove one")
	}
	switch c.SSHInterface {
	case "", "public_ip", "private_ip", "public_dns", "private_dns":
	default:
		bad("ssh_interface", fmt.Sprintf("%q is not one of public_ip, private_ip, public_dns, private_dns", c.SSHInterface))
	}
	for _, cidr := range c.SourceCIDRs {
		if _, _, err := net.ParseCIDR(cidr); err != nil {
			bad("temporary_security_group_source_cidrs", fmt.Sprintf("%q is not a CIDR like 203.0.113.7/32", cidr))
		}
	}
	if c.SSHUsername == "" {
		c.SSHUsername = defaultSSHUsername
	}
	if c.SSHPort == 0 {
		c.SSHPort = 22
	}
	dur := func(field, s string, def time.Duration) time.Duration {
		if s == "" {
			return def
		}
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			bad(field, fmt.Sprintf("%q is not a positive duration like 2m or 30s", s))
		}
		return d
	}
	c.sshTO = dur("ssh_timeout", c.SSHTimeout, DefaultSSHTimeout)
	c.hostKeyTO = dur("host_key_timeout", c.HostKeyTimeout, DefaultHostKeyTimeout)
	c.instTO = dur("instance_timeout", c.InstanceTimeout, DefaultInstanceTimeout)
	c.imageTO = dur("image_timeout", c.ImageTimeout, DefaultImageTimeout)
	for k := range c.Tags {
		if strings.HasPrefix(k, "aws:") {
			bad("tags", fmt.Sprintf("tag key %q: keys starting with aws: are reserved", k))
		}
	}
	switch dc.OnError {
	case "", bake.OnErrorCleanup, bake.OnErrorAbort:
	default:
		bad("on_error", fmt.Sprintf("--on-error=%q is not cleanup or abort", dc.OnError))
	}
	return &c, diags
}

func (c *Config) sudo() bool {
	if c.Sudo != nil {
		return *c.Sudo
	}
	return c.SSHUsername != "root"
}

func evalVersion(ctx *hcl.EvalContext) string {
	for ; ctx != nil; ctx = nil {
		v, ok := ctx.Variables["bake"]
		if !ok || v.IsNull() || !v.Type().IsObjectType() || !v.Type().HasAttribute("version") {
			return ""
		}
		ver := v.GetAttr("version")
		if ver.Type() != cty.String || ver.IsNull() || !ver.IsKnown() {
			return ""
		}
		return ver.AsString()
	}
	return ""
}

func attrRange(dc bake.DecodeContext, name string) *hcl.Range {
	if attrs, d := dc.Body.JustAttributes(); !d.HasErrors() {
		if a, ok := attrs[name]; ok {
			return a.Expr.Range().Ptr()
		}
	}
	if sb, ok := dc.Body.(interface{ MissingItemRange() hcl.Range }); ok {
		r := sb.MissingItemRange()
		return &r
	}
	return dc.Range.Ptr()
}
