package docker

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"github.com/bakehq/bake/bake"
)

// Config is a `source "docker" "NAME"` block. Field names are Packer's
// docker builder's where the meaning is the same; bake's own additions
// are marked.
type Config struct {
	Image          string            `hcl:"image"`
	Pull           *bool             `hcl:"pull,optional"`
	Commit         *bool             `hcl:"commit,optional"`
	Discard        bool              `hcl:"discard,optional"`
	ExportPath     string            `hcl:"export_path,optional"`
	Changes        []string          `hcl:"changes,optional"`
	Author         string            `hcl:"author,optional"`
	Message        string            `hcl:"message,optional"`
	Volumes        map[string]string `hcl:"volumes,optional"`
	Privileged     bool              `hcl:"privileged,optional"`
	CapAdd         []string          `hcl:"cap_add,optional"`
	CapDrop        []string          `hcl:"cap_drop,optional"`
	ExecUser       string            `hcl:"exec_user,optional"`
	Platform       string            `hcl:"platform,optional"`
	RunCommand     []string          `hcl:"run_command,optional"`
	ContainerDir   string            `hcl:"container_dir,optional"`
	FixUploadOwner *bool             `hcl:"fix_upload_owner,optional"`
	LoginServer    string            `hcl:"login_server,optional"`
	LoginUsername  string            `hcl:"login_username,optional"`
	LoginPassword  string            `hcl:"login_password,optional"`
	Login          bool              `hcl:"login,optional"`

	// bake: the repository the versioned image is tagged in
	// (repository:VERSION); default bake/SOURCE_NAME.
	Repository string `hcl:"repository,optional"`
	// bake: more tags besides the version.
	Tags []string `hcl:"tags,optional"`
	// bake: push repository:VERSION (and the tags) after the commit.
	Push bool `hcl:"push,optional"`

	// Communicator is "docker" (exec, the default), "ssh" or "none".
	Communicator string `hcl:"communicator,optional"`
	SSHUsername  string `hcl:"ssh_username,optional"`
	SSHPort      int    `hcl:"ssh_port,optional"`
	SSHTimeout   string `hcl:"ssh_timeout,optional"`

	name string
}

// Decode decodes and checks a source block.
func Decode(dc bake.DecodeContext) (*Config, hcl.Diagnostics) {
	var c Config
	diags := gohcl.DecodeBody(dc.Body, dc.Eval, &c)
	if diags.HasErrors() {
		return nil, diags
	}
	c.name = dc.Name
	bad := func(field, msg string) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("invalid %s in source %q", field, dc.Name),
			Detail:   msg,
			Subject:  attrRange(dc, field),
		})
	}
	if c.Image == "" {
		bad("image", "image must name the base image, e.g. localbase/debian:bookworm")
	}
	if c.ExportPath != "" {
		bad("export_path", "bake makes versioned images; export_path (a tarball) is not supported: remove it and use commit = true")
	}
	if c.Discard && c.Push {
		bad("discard", "discard = true throws the result away, so push = true cannot push it: remove one")
	}
	if c.Commit != nil && !*c.Commit && !c.Discard {
		bad("commit", "commit = false without discard = true leaves nothing to do: remove commit, or set discard = true")
	}
	if len(c.RunCommand) > 0 {
		bad("run_command", "bake starts the container itself so that no --entrypoint leaks into the image: remove run_command")
	}
	switch c.Communicator {
	case "", "docker", "none":
	case "ssh":
		if c.SSHTimeout != "" {
			if _, err := time.ParseDuration(c.SSHTimeout); err != nil {
				bad("ssh_timeout", fmt.Sprintf("%q is not a duration like 2m or 30s", c.SSHTimeout))
			}
		}
	default:
		bad("communicator", fmt.Sprintf("%q is not one of docker, ssh, none", c.Communicator))
	}
	if c.Repository == "" {
		c.Repository = "bake/" + dc.Name
	}
	return &c, diags
}

// Sensitive lists values a bake's output must never show.
func (c *Config) Sensitive() []string { return []string{c.LoginPassword} }

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
