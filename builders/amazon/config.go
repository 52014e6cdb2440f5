package amazon

import (
	"fmt"
	"io"
	"log"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	awscommon "github.com/hashicorp/packer-plugin-amazon/builder/common"
	"github.com/hashicorp/packer-plugin-amazon/builder/ebs"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"
	"github.com/zclconf/go-cty/cty"

	"github.com/bakehq/bake/bake"
)

// Config is a `source "amazon-ebs" "NAME"` block: the arguments of
// packer-plugin-amazon's amazon-ebs builder, decoded with the plugin's own
// HCL2 spec and prepared by the plugin's own Prepare (Packer's defaults,
// validation and legacy {{ }} interpolation of ami_name), plus bake's few
// own arguments (bakeExtras). The exported fields are the values the steps
// use, copied from Packer's prepared config; Packer holds the rest.
type Config struct {
	Region       string
	Profile      string
	InstanceType string

	SourceAMI       string
	SourceAMIFilter *AMIFilter

	AMIName        string
	AMIDescription string // a Packer template, rendered with the source AMI's build info
	AMIRegions     []string
	EncryptBoot    bool
	KMSKeyID       string
	DeprecateAt    string
	SkipCreateAMI  bool

	// Packer templates, rendered with the source AMI's build info.
	Tags          map[string]string
	RunTags       map[string]string
	RunVolumeTags map[string]string
	SnapshotTags  map[string]string

	SubnetID                 string
	VPCID                    string
	SecurityGroupIDs         []string
	AssociatePublicIPAddress *bool
	// Packer's: who the temporary security group admits to port 22;
	// default the address this machine reaches EC2 from, never 0.0.0.0/0.
	SourceCIDRs []string

	UserData                  string
	LaunchBlockDeviceMappings []BlockDeviceMapping
	AMIBlockDeviceMappings    []BlockDeviceMapping
	SSHUsername               string
	SSHInterface              string
	SSHPort                   int
	SSHTimeout                string

	// bake: how long to wait for the host key fingerprints on the
	// instance's console (default 5m).
	HostKeyTimeout string
	// bake: connect without verifying the host key when the console
	// shows no fingerprints. Unsafe; an explicit opt-in.
	InsecureSkipHostKeyCheck bool
	// bake: run provisioner commands through sudo -n when ssh_username
	// is not root (default true), as the Debian and Ubuntu AMIs expect.
	Sudo *bool
	// bake: bounds for the waits on instance state and image progress
	// (defaults 10m and 60m).
	InstanceTimeout string
	ImageTimeout    string

	// pc is Packer's prepared config, ictx its interpolation context
	// (build_name, build_type, the plugin's template functions).
	pc   *ebs.Config
	ictx interpolate.Context
	// ignored are the arguments given that bake accepts without effect,
	// and why, for one info line at boot.
	ignored []string
	// imdsSet: metadata_options was given (else bake requires IMDSv2,
	// where Packer's default is optional).
	imdsSet bool

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
	Filters           map[string]string
	Owners            []string
	MostRecent        bool
	IncludeDeprecated bool
}

// String shows the filter as the user wrote it, for errors.
func (f *AMIFilter) String() string {
	keys := slices.Sorted(maps.Keys(f.Filters))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%q", k, f.Filters[k])
	}
	return fmt.Sprintf("filters {%s} owners [%s]", strings.Join(parts, ", "), strings.Join(f.Owners, ", "))
}

// BlockDeviceMapping is one launch_block_device_mappings or
// ami_block_device_mappings block (Packer's BlockDevice).
type BlockDeviceMapping struct {
	DeviceName          string
	VirtualName         string
	NoDevice            bool
	VolumeSize          int32
	VolumeType          string
	IOPS                int32
	Throughput          int32
	DeleteOnTermination *bool
	Encrypted           *bool
	KMSKeyID            string
	SnapshotID          string
}

// Defaults, in one place.
const (
	DefaultSSHTimeout      = 5 * time.Minute
	DefaultHostKeyTimeout  = 5 * time.Minute
	DefaultInstanceTimeout = 10 * time.Minute
	DefaultImageTimeout    = 60 * time.Minute
	defaultSSHUsername     = "admin"
)

// bakeExtras are bake's own arguments of an amazon-ebs source; none is a
// Packer argument (TestBakeExtrasAreNotPackerArguments).
var bakeExtras = map[string]hcldec.Spec{
	"host_key_timeout":             &hcldec.AttrSpec{Name: "host_key_timeout", Type: cty.String},
	"insecure_skip_host_key_check": &hcldec.AttrSpec{Name: "insecure_skip_host_key_check", Type: cty.Bool},
	"sudo":                         &hcldec.AttrSpec{Name: "sudo", Type: cty.Bool},
	"instance_timeout":             &hcldec.AttrSpec{Name: "instance_timeout", Type: cty.String},
	"image_timeout":                &hcldec.AttrSpec{Name: "image_timeout", Type: cty.String},
}

// BakeExtras names bake's own arguments.
func BakeExtras() []string { return slices.Sorted(maps.Keys(bakeExtras)) }

// PackerSpec is the plugin's HCL2 spec of amazon-ebs.
func PackerSpec() map[string]hcldec.Spec { return (*ebs.FlatConfig)(nil).HCL2Spec() }

var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)

// unknownString stands for a value validate does not know yet (a data
// source's): Packer's placeholder, which passes Packer's checks of names.
const unknownString = "74D93920-ED26-11E3-AC10-0800200C9A66"

// Decode decodes a source block with the plugin's spec and prepares it
// with the plugin's Prepare, as Packer does. Prepare's side effects are
// Packer's: it reads ssh_private_key_file and user_data_file to check
// they exist, and when vault_aws_engine is set it asks Vault for AWS
// credentials (VAULT_ADDR, VAULT_TOKEN). It makes no AWS call.
func Decode(dc bake.DecodeContext) (*Config, hcl.Diagnostics) {
	spec := hcldec.ObjectSpec(PackerSpec())
	for k, v := range bakeExtras {
		spec[k] = v
	}
	val, diags := hcldec.Decode(dc.Body, spec, dc.Eval)
	if diags.HasErrors() {
		return nil, diags
	}
	c := &Config{name: dc.Name, runUUID: dc.RunUUID, onError: dc.OnError}
	attrs := map[string]cty.Value{}
	for k, v := range val.AsValueMap() {
		if _, extra := bakeExtras[k]; extra {
			continue
		}
		attrs[k] = v
	}
	version := evalVersion(dc.Eval)
	// bake's defaults where Packer has none (bake files may leave these out).
	if v := attrs["ami_name"]; v.IsNull() {
		attrs["ami_name"] = cty.StringVal("bake-" + sanitize(dc.Name) + "-" + version)
	}
	if v := attrs["ssh_username"]; v.IsNull() {
		attrs["ssh_username"] = cty.StringVal(defaultSSHUsername)
	}
	c.imdsSet = !attrs["metadata_options"].IsNull()
	pc, ictx, warns, err := prepare(dc, placeholders(cty.ObjectVal(attrs)))
	for _, w := range warns {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: fmt.Sprintf("source %q: %s", dc.Name, w),
			Subject: errRange(dc, w)})
	}
	if err != nil {
		diags = append(diags, prepareDiags(dc, err)...)
		return nil, diags
	}
	c.pc, c.ictx = pc, ictx
	diags = append(diags, c.fromPacker(dc, val)...)
	if diags.HasErrors() {
		return nil, diags
	}
	c.ignored = ignoredArgs(val)
	return c, diags
}

// prepare runs the plugin's Prepare with what Packer passes it: the
// builder variables and the decoded source. The plugin keeps the prepared
// config unexported; bake reads it rather than copying Prepare.
func prepare(dc bake.DecodeContext, v cty.Value) (*ebs.Config, interpolate.Context, []string, error) {
	b := &ebs.Builder{}
	// The plugin logs notes (polling defaults, region copies) through the
	// standard logger; bake's output is its own, so they are dropped.
	prepareMu.Lock()
	w := log.Writer()
	log.SetOutput(io.Discard)
	_, warns, err := b.Prepare(builderVariables(dc), v)
	log.SetOutput(w)
	prepareMu.Unlock()
	if err != nil {
		return nil, interpolate.Context{}, warns, err
	}
	f := reflect.ValueOf(b).Elem().FieldByName("config")
	pc := reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Interface().(*ebs.Config)
	cf := reflect.ValueOf(pc).Elem().FieldByName("ctx")
	ictx := *reflect.NewAt(cf.Type(), unsafe.Pointer(cf.UnsafeAddr())).Interface().(*interpolate.Context)
	return pc, ictx, warns, nil
}

var prepareMu sync.Mutex

// builderVariables are the packer_* values of the SDK's PackerConfig, as
// Packer gives them to a builder: build_name is the source's name.
func builderVariables(dc bake.DecodeContext) map[string]interface{} {
	user := map[string]string{}
	if dc.Eval != nil {
		if vars, ok := dc.Eval.Variables["var"]; ok && vars.Type().IsObjectType() && vars.IsKnown() && !vars.IsNull() {
			for k, v := range vars.AsValueMap() {
				if v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
					user[k] = v.AsString()
				}
			}
		}
	}
	onError := dc.OnError
	if onError == "" {
		onError = bake.OnErrorCleanup
	}
	return map[string]interface{}{
		"packer_build_name":     dc.Name,
		"packer_builder_type":   Type,
		"packer_core_version":   "bake",
		"packer_debug":          false,
		"packer_force":          false,
		"packer_on_error":       onError,
		"packer_user_variables": user,
	}
}

// placeholders replaces unknown values (validate does not read data
// sources) by placeholders of their type, as Packer does before Prepare.
func placeholders(v cty.Value) cty.Value {
	out, _ := cty.Transform(v, func(_ cty.Path, v cty.Value) (cty.Value, error) {
		if v.IsKnown() {
			return v, nil
		}
		t := v.Type()
		switch {
		case t == cty.String:
			return cty.StringVal(unknownString), nil
		case t == cty.Number:
			return cty.Zero, nil
		case t == cty.Bool:
			return cty.False, nil
		case t.IsListType():
			return cty.ListValEmpty(t.ElementType()), nil
		case t.IsSetType():
			return cty.SetValEmpty(t.ElementType()), nil
		case t.IsMapType():
			return cty.MapValEmpty(t.ElementType()), nil
		}
		return cty.NullVal(t), nil
	})
	return out
}

// prepareDiags turns Prepare's errors into diagnostics, one per error,
// on the argument the error names where the block has it.
func prepareDiags(dc bake.DecodeContext, err error) hcl.Diagnostics {
	errs := []error{err}
	if me, ok := err.(*packersdk.MultiError); ok {
		errs = me.Errors
	}
	var diags hcl.Diagnostics
	for _, e := range errs {
		msg := e.Error()
		summary := fmt.Sprintf("invalid source %q", dc.Name)
		if name := mentionedArg(msg); name != "" {
			summary = fmt.Sprintf("invalid %s in source %q", name, dc.Name)
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  summary,
			Detail:   msg + " (packer-plugin-amazon's check)",
			Subject:  errRange(dc, msg),
		})
	}
	return diags
}

// mentionedArg is the longest Packer argument name msg mentions, or "".
func mentionedArg(msg string) string {
	best := ""
	for name := range PackerSpec() {
		if len(name) > len(best) && mentions(msg, name) {
			best = name
		}
	}
	return best
}

// errRange is the range of the longest argument or block name of the
// source that msg mentions, else the block's.
func errRange(dc bake.DecodeContext, msg string) *hcl.Range {
	ranges := bodyItems(dc)
	best := ""
	for name := range ranges {
		if len(name) > len(best) && mentions(msg, name) {
			best = name
		}
	}
	if best != "" {
		r := ranges[best]
		return &r
	}
	return dc.BlockRange()
}

// mentions reports msg naming name as a word (not inside a longer name).
func mentions(msg, name string) bool {
	for i := 0; ; {
		j := strings.Index(msg[i:], name)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(name)
		word := func(b byte) bool { return b == '_' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' }
		if (j == 0 || !word(msg[j-1])) && (end == len(msg) || !word(msg[end])) {
			return true
		}
		i = j + 1
	}
}

// bodyItems are the ranges of the block's arguments and nested blocks.
func bodyItems(dc bake.DecodeContext) map[string]hcl.Range {
	out := map[string]hcl.Range{}
	var schema hcl.BodySchema
	for name, s := range PackerSpec() {
		switch s := s.(type) {
		case *hcldec.AttrSpec:
			schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: s.Name})
		case *hcldec.BlockSpec:
			schema.Blocks = append(schema.Blocks, hcl.BlockHeaderSchema{Type: s.TypeName})
		case *hcldec.BlockListSpec:
			schema.Blocks = append(schema.Blocks, hcl.BlockHeaderSchema{Type: s.TypeName})
		default:
			_ = name
		}
	}
	content, _, _ := dc.Body.PartialContent(&schema)
	if content == nil {
		return out
	}
	for name, a := range content.Attributes {
		out[name] = a.Expr.Range()
	}
	for _, b := range content.Blocks {
		if _, ok := out[b.Type]; !ok {
			out[b.Type] = b.DefRange
		}
	}
	return out
}

// fromPacker copies Packer's prepared values into the fields the steps
// use, and checks what bake cannot do.
func (c *Config) fromPacker(dc bake.DecodeContext, val cty.Value) hcl.Diagnostics {
	var diags hcl.Diagnostics
	bad := func(field, msg string) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("invalid %s in source %q", field, dc.Name),
			Detail:   msg,
			Subject:  dc.AttrRange(field),
		})
	}
	pc := c.pc
	c.Region, c.Profile, c.InstanceType = pc.RawRegion, pc.ProfileName, pc.InstanceType
	c.SourceAMI = pc.SourceAmi
	if !pc.SourceAmiFilter.Empty() {
		f := pc.SourceAmiFilter
		c.SourceAMIFilter = &AMIFilter{Filters: f.Filters, Owners: f.Owners, MostRecent: f.MostRecent, IncludeDeprecated: f.IncludeDeprecated}
	}
	c.AMIName, c.AMIDescription, c.AMIRegions = pc.AMIName, pc.AMIDescription, pc.AMIRegions
	c.EncryptBoot, c.KMSKeyID = pc.AMIEncryptBootVolume.True(), pc.AMIKmsKeyId
	c.DeprecateAt, c.SkipCreateAMI = pc.DeprecationTime, pc.AMISkipCreateImage
	c.Tags, c.RunTags, c.RunVolumeTags, c.SnapshotTags = pc.AMITags, pc.RunTags, pc.VolumeRunTags, pc.SnapshotTags
	c.SubnetID, c.VPCID = pc.SubnetId, pc.VpcId
	c.SecurityGroupIDs = pc.SecurityGroupIds
	if pc.SecurityGroupId != "" {
		c.SecurityGroupIDs = append([]string{pc.SecurityGroupId}, c.SecurityGroupIDs...)
	}
	c.AssociatePublicIPAddress = pc.AssociatePublicIpAddress.ToBoolPointer()
	// Packer's Prepare defaults the temporary group's sources to
	// 0.0.0.0/0; bake admits only this machine unless told otherwise.
	if v := val.GetAttr("temporary_security_group_source_cidrs"); isSet(v) {
		c.SourceCIDRs = pc.TemporarySGSourceCidrs
	}
	c.UserData = pc.UserData
	c.LaunchBlockDeviceMappings = mappings(pc.LaunchMappings)
	c.AMIBlockDeviceMappings = mappings(pc.AMIMappings)
	c.SSHUsername, c.SSHInterface, c.SSHPort = pc.Comm.SSHUsername, pc.SSHInterface, pc.Comm.SSHPort
	c.sshTO = pc.Comm.SSHTimeout
	if c.sshTO <= 0 {
		c.sshTO = DefaultSSHTimeout
	}
	c.SSHTimeout = c.sshTO.String()

	extras := func(name string) cty.Value { return val.GetAttr(name) }
	str := func(name string) string {
		if v := extras(name); !v.IsNull() && v.IsKnown() {
			return v.AsString()
		}
		return ""
	}
	c.HostKeyTimeout, c.InstanceTimeout, c.ImageTimeout = str("host_key_timeout"), str("instance_timeout"), str("image_timeout")
	if v := extras("insecure_skip_host_key_check"); !v.IsNull() && v.IsKnown() {
		c.InsecureSkipHostKeyCheck = v.True()
	}
	if v := extras("sudo"); !v.IsNull() && v.IsKnown() {
		b := v.True()
		c.Sudo = &b
	}
	if c.Sudo == nil && strings.HasSuffix(dc.Range.Filename, ".pkr.hcl") {
		// A Packer template: commands and uploads run as ssh_username, as
		// in Packer, and its scripts say sudo where they need it (~ is
		// the user's home, not root's).
		no := false
		c.Sudo = &no
	}

	if c.Region != "" && !regionRE.MatchString(c.Region) && c.Region != unknownString {
		bad("region", fmt.Sprintf("%q is not a region name like us-east-1", c.Region))
	}
	for _, r := range c.AMIRegions {
		if !regionRE.MatchString(r) && r != unknownString {
			bad("ami_regions", fmt.Sprintf("%q is not a region name like eu-west-1", r))
		}
	}
	switch c.SSHInterface {
	case "", "public_ip", "private_ip", "public_dns", "private_dns", "session_manager":
	default:
		bad("ssh_interface", fmt.Sprintf("%q is not one of public_ip, private_ip, public_dns, private_dns", c.SSHInterface))
	}
	if c.DeprecateAt != "" {
		t, err := time.Parse(time.RFC3339, c.DeprecateAt)
		if err != nil {
			bad("deprecate_at", fmt.Sprintf("%q is not an RFC 3339 time like 2027-01-01T00:00:00Z", c.DeprecateAt))
		}
		c.deprecate = t
	}
	switch pc.Comm.Type {
	case "ssh", "none":
	case "winrm":
		bad("communicator", `communicator = "winrm": bake connects to Linux instances over SSH only: use communicator = "ssh" (bake has no WinRM communicator)`)
	default:
		bad("communicator", fmt.Sprintf("communicator = %q: bake's amazon-ebs builder connects with \"ssh\" (or \"none\")", pc.Comm.Type))
	}
	if c.SSHInterface == "session_manager" {
		bad("ssh_interface", `ssh_interface = "session_manager": bake's SSH connects to the instance directly, not through an SSM tunnel: `+
			`use ssh_interface = "public_ip" (with associate_public_ip_address = true) or "private_ip" from inside the VPC`)
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
	c.hostKeyTO = dur("host_key_timeout", c.HostKeyTimeout, DefaultHostKeyTimeout)
	c.instTO = dur("instance_timeout", c.InstanceTimeout, DefaultInstanceTimeout)
	c.imageTO = dur("image_timeout", c.ImageTimeout, DefaultImageTimeout)
	switch dc.OnError {
	case "", bake.OnErrorCleanup, bake.OnErrorAbort:
	default:
		bad("on_error", fmt.Sprintf("--on-error=%q is not cleanup or abort", dc.OnError))
	}
	return diags
}

func mappings(bds awscommon.BlockDevices) []BlockDeviceMapping {
	var out []BlockDeviceMapping
	for _, bd := range bds {
		m := BlockDeviceMapping{DeviceName: bd.DeviceName, VirtualName: bd.VirtualName, NoDevice: bd.NoDevice,
			VolumeSize: int32(bd.VolumeSize), VolumeType: bd.VolumeType, KMSKeyID: bd.KmsKeyId, SnapshotID: bd.SnapshotId}
		dot := bd.DeleteOnTermination
		m.DeleteOnTermination = &dot
		m.Encrypted = bd.Encrypted.ToBoolPointer()
		if bd.IOPS != nil {
			m.IOPS = int32(*bd.IOPS)
		}
		if bd.Throughput != nil {
			m.Throughput = int32(*bd.Throughput)
		}
		out = append(out, m)
	}
	return out
}

// implemented are the Packer arguments whose effect bake gives (steps.go
// and the files it names). Any other argument given is named in one info
// line at boot (ignoredArgs).
var implemented = map[string]bool{
	// access (client.go)
	"region": true, "profile": true, "access_key": true, "secret_key": true, "token": true,
	"custom_endpoint_ec2": true, "vault_aws_engine": true, "shared_credentials_file": true, "max_retries": true,
	"skip_credential_validation": true,
	// source (builder.go)
	"source_ami": true, "source_ami_filter": true, "instance_type": true,
	// image (image.go)
	"ami_name": true, "ami_description": true, "ami_regions": true, "encrypt_boot": true, "kms_key_id": true,
	"deprecate_at": true, "skip_create_ami": true, "tags": true, "tag": true, "snapshot_tags": true, "snapshot_tag": true,
	"ami_users": true, "ami_groups": true, "ami_org_arns": true, "ami_ou_arns": true, "snapshot_users": true, "snapshot_groups": true,
	"force_deregister": true, "force_delete_snapshot": true, "ami_block_device_mappings": true, "region_kms_key_ids": true,
	"skip_region_validation": true,
	// instance (instance.go, securitygroup.go)
	"run_tags": true, "run_tag": true, "run_volume_tags": true, "run_volume_tag": true, "iam_instance_profile": true,
	"user_data": true, "user_data_file": true, "launch_block_device_mappings": true, "subnet_id": true, "subnet_filter": true,
	"vpc_id": true, "vpc_filter": true, "security_group_id": true, "security_group_ids": true, "security_group_filter": true,
	"temporary_security_group_source_cidrs": true, "temporary_security_group_source_public_ip": true,
	"associate_public_ip_address": true, "metadata_options": true, "shutdown_behavior": true, "availability_zone": true,
	"ebs_optimized": true, "enable_unlimited_credits": true, "enable_t2_unlimited": true, "placement": true, "tenancy": true,
	"spot_price": true, "spot_instance_types": true, "spot_tags": true, "spot_tag": true,
	// ssh (ssh.go, keypair.go)
	"communicator": true, "ssh_username": true, "ssh_interface": true, "ssh_port": true, "ssh_timeout": true,
	"ssh_keypair_name": true, "ssh_private_key_file": true, "ssh_agent_auth": true, "ssh_password": true,
	"ssh_clear_authorized_keys": true, "ssh_bastion_host": true, "ssh_bastion_port": true, "ssh_bastion_username": true,
	"ssh_bastion_private_key_file": true, "ssh_bastion_agent_auth": true, "ssh_bastion_password": true,
	"ssh_handshake_attempts": true, "ssh_temporary_key_pair_type": true, "ssh_temporary_key_pair_name": true,
	"temporary_key_pair_type": true, "temporary_key_pair_name": true, "ssh_keep_alive_interval": true, "ssh_ciphers": true,
	"pause_before_connecting": true,
	// meta (Packer's own, given by bake)
	"packer_build_name": true, "packer_builder_type": true, "packer_core_version": true, "packer_debug": true,
	"packer_force": true, "packer_on_error": true, "packer_user_variables": true, "packer_sensitive_variables": true,
}

// whyIgnored says why a group of arguments has no effect in bake.
var whyIgnored = []struct {
	prefix, why string
}{
	{"winrm_", "bake has no WinRM communicator"},
	{"pause_before_ssm", "bake connects over SSH, not SSM"},
	{"session_manager_port", "bake connects over SSH, not SSM"},
	{"ssm_", "bake connects over SSH, not SSM"},
	{"fast_launch", "Windows fast launch"},
	{"windows_password_timeout", "Windows only"},
	{"no_ephemeral", "Windows only"},
	{"aws_polling", "bake's waits are instance_timeout / image_timeout"},
}

// ignoredArgs lists the arguments set in val without effect in bake,
// each with why, sorted.
func ignoredArgs(val cty.Value) []string {
	var out []string
	for name, v := range val.AsValueMap() {
		if _, extra := bakeExtras[name]; extra || implemented[name] || !isSet(v) {
			continue
		}
		why := "no effect in bake's build steps"
		for _, w := range whyIgnored {
			if strings.HasPrefix(name, w.prefix) {
				why = w.why
				break
			}
		}
		out = append(out, name+" ("+why+")")
	}
	sort.Strings(out)
	return out
}

func isSet(v cty.Value) bool {
	if v.IsNull() {
		return false
	}
	if !v.IsKnown() {
		return true
	}
	t := v.Type()
	if (t.IsListType() || t.IsSetType() || t.IsMapType() || t.IsTupleType()) && v.LengthInt() == 0 {
		return false
	}
	if t == cty.Bool && v.False() {
		return false
	}
	return true
}

func (c *Config) sudo() bool {
	if c.Sudo != nil {
		return *c.Sudo
	}
	return c.SSHUsername != "root"
}

func evalVersion(ctx *hcl.EvalContext) string {
	if ctx == nil {
		return ""
	}
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
