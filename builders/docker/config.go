package docker

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	packerdocker "github.com/hashicorp/packer-plugin-docker/builder/docker"
	"github.com/zclconf/go-cty/cty"

	"github.com/bakehq/bake/bake"
)

// Config is a `source "docker" "NAME"` block. It accepts every argument
// of packer-plugin-docker v1.1.2's docker builder, decoded with that
// plugin's own HCL2 spec so the names and types are Packer's, plus bake's
// own (repository, tags, push), which the plugin does not have.
type Config struct {
	Image          string
	Pull           *bool
	Commit         *bool
	Discard        bool
	ExportPath     string
	Changes        []string
	Author         string
	Message        string
	Volumes        map[string]string
	Privileged     bool
	CapAdd         []string
	CapDrop        []string
	Device         []string
	Tmpfs          []string
	Runtime        string
	ExecUser       string
	Platform       string
	RunCommand     []string
	ContainerDir   string
	FixUploadOwner *bool
	LoginServer    string
	LoginUsername  string
	LoginPassword  string
	Login          bool

	// ECRLogin gets the registry credentials from ECR's
	// GetAuthorizationToken with the aws_* credentials (or the default
	// chain), for login_server.
	ECRLogin     bool
	AWSAccessKey string
	AWSSecretKey string
	AWSToken     string
	AWSProfile   string

	// bake: the repository the versioned image is tagged in
	// (repository:VERSION); default bake/SOURCE_NAME.
	Repository string
	// bake: more tags besides the version.
	Tags []string
	// bake: push repository:VERSION (and the tags) after the commit.
	Push bool

	// Communicator is "docker" (exec, the default), "ssh" or "none".
	Communicator string
	SSHUsername  string
	SSHPort      int
	SSHTimeout   string

	// NoEffect are the arguments set that change nothing in a bake (the
	// builder says so in one info line).
	NoEffect []string

	name string
}

// bakeSpec are bake's own arguments, on top of the plugin's.
var bakeSpec = map[string]hcldec.Spec{
	"repository": &hcldec.AttrSpec{Name: "repository", Type: cty.String},
	"tags":       &hcldec.AttrSpec{Name: "tags", Type: cty.List(cty.String)},
	"push":       &hcldec.AttrSpec{Name: "push", Type: cty.Bool},
}

// Spec is the source block's schema: the plugin's spec and bake's
// arguments, which must not collide.
func Spec() hcldec.ObjectSpec {
	spec := hcldec.ObjectSpec{}
	for k, v := range (*packerdocker.FlatConfig)(nil).HCL2Spec() {
		spec[k] = v
	}
	for k, v := range bakeSpec {
		if _, taken := spec[k]; taken {
			panic("builders/docker: bake's argument " + k + " collides with packer-plugin-docker's")
		}
		spec[k] = v
	}
	return spec
}

// effective are the plugin's arguments bake honours; the others are
// accepted and reported as having no effect.
var effective = map[string]bool{
	"image": true, "pull": true, "commit": true, "discard": true, "export_path": true,
	"changes": true, "author": true, "message": true, "volumes": true, "privileged": true,
	"cap_add": true, "cap_drop": true, "device": true, "tmpfs": true, "runtime": true,
	"exec_user": true, "platform": true, "run_command": true, "fix_upload_owner": true,
	"login": true, "login_server": true, "login_username": true, "login_password": true,
	"ecr_login": true, "aws_access_key": true, "aws_secret_key": true, "aws_token": true, "aws_profile": true,
	"communicator": true, "ssh_username": true, "ssh_port": true, "ssh_timeout": true,
	"repository": true, "tags": true, "push": true,
	// packer_* are Packer core's own, set by Packer, not by templates.
}

// Decode decodes and checks a source block.
func Decode(dc bake.DecodeContext) (*Config, hcl.Diagnostics) {
	v, diags := hcldec.Decode(dc.Body, Spec(), dc.Eval)
	if diags.HasErrors() {
		return nil, diags
	}
	g := getter{v: v}
	c := Config{
		Image: g.str("image"), Pull: g.boolp("pull"), Commit: g.boolp("commit"),
		Discard: g.bool("discard"), ExportPath: g.str("export_path"), Changes: g.list("changes"),
		Author: g.str("author"), Message: g.str("message"), Volumes: g.strmap("volumes"),
		Privileged: g.bool("privileged"), CapAdd: g.list("cap_add"), CapDrop: g.list("cap_drop"),
		Device: g.list("device"), Tmpfs: g.list("tmpfs"), Runtime: g.str("runtime"),
		ExecUser: g.str("exec_user"), Platform: g.str("platform"), RunCommand: g.list("run_command"),
		ContainerDir: g.str("container_dir"), FixUploadOwner: g.boolp("fix_upload_owner"),
		Login: g.bool("login"), LoginServer: g.str("login_server"), LoginUsername: g.str("login_username"),
		LoginPassword: g.str("login_password"), ECRLogin: g.bool("ecr_login"),
		AWSAccessKey: g.str("aws_access_key"), AWSSecretKey: g.str("aws_secret_key"),
		AWSToken: g.str("aws_token"), AWSProfile: g.str("aws_profile"),
		Repository: g.str("repository"), Tags: g.list("tags"), Push: g.bool("push"),
		Communicator: g.str("communicator"), SSHUsername: g.str("ssh_username"),
		SSHPort: g.int("ssh_port"), SSHTimeout: g.str("ssh_timeout"),
		name: dc.Name,
	}
	for name := range v.Type().AttributeTypes() {
		if a := v.GetAttr(name); !a.IsNull() && !effective[name] && !strings.HasPrefix(name, "packer_") {
			c.NoEffect = append(c.NoEffect, name)
		}
	}
	sort.Strings(c.NoEffect)
	if c.ExportPath != "" && !filepath.IsAbs(c.ExportPath) {
		// Packer resolves it from the working directory, as the docker
		// CLI does.
		if abs, err := filepath.Abs(c.ExportPath); err == nil {
			c.ExportPath = abs
		}
	}
	bad := func(field, msg string) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("invalid %s in source %q", field, dc.Name),
			Detail:   msg,
			Subject:  dc.AttrRange(field),
		})
	}
	if !g.v.GetAttr("build").IsNull() {
		bad("build", "building the base from a Dockerfile (the build block) is not supported by bake: build the image with docker build and name it in image")
	} else if c.Image == "" {
		bad("image", "image must name the base image, e.g. localbase/debian:bookworm")
	}
	if g.bool("windows_container") {
		bad("windows_container", "bake builds Linux containers only: remove windows_container")
	}
	commit := c.Commit != nil && *c.Commit
	switch {
	case c.ExportPath != "" && (commit || c.Discard):
		bad("export_path", "set only one of export_path, commit and discard (Packer's rule): export_path writes the container's filesystem to a tarball and makes no image")
	case commit && c.Discard:
		bad("discard", "set only one of commit and discard: discard = true throws the result away")
	}
	if c.ExportPath != "" {
		if fi, err := os.Stat(c.ExportPath); err == nil && fi.IsDir() {
			bad("export_path", fmt.Sprintf("%s is a directory; export_path names the tarball to write, e.g. image.tar", c.ExportPath))
		}
		if c.Push {
			bad("push", "export_path makes a tarball, not an image, so push = true has nothing to push: remove one (import it with a docker-import post-processor, then docker-push)")
		}
	}
	if c.Discard && c.Push {
		bad("discard", "discard = true throws the result away, so push = true cannot push it: remove one")
	}
	if c.Commit != nil && !*c.Commit && !c.Discard && c.ExportPath == "" {
		bad("commit", "commit = false without discard = true or export_path leaves nothing to do: remove commit, or set discard = true")
	}
	if c.ECRLogin && c.LoginServer == "" {
		bad("ecr_login", "ecr_login needs login_server, the ECR registry (ACCOUNT.dkr.ecr.REGION.amazonaws.com)")
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
func (c *Config) Sensitive() []string {
	return []string{c.LoginPassword, c.AWSSecretKey, c.AWSToken}
}

// getter reads the attributes of the decoded block, null as unset.
type getter struct{ v cty.Value }

func (g getter) attr(n string) cty.Value {
	a := g.v.GetAttr(n)
	if a.IsNull() || !a.IsKnown() {
		return cty.NilVal
	}
	return a
}

func (g getter) str(n string) string {
	if a := g.attr(n); a != cty.NilVal {
		return a.AsString()
	}
	return ""
}

func (g getter) boolp(n string) *bool {
	if a := g.attr(n); a != cty.NilVal {
		b := a.True()
		return &b
	}
	return nil
}

func (g getter) bool(n string) bool {
	p := g.boolp(n)
	return p != nil && *p
}

func (g getter) int(n string) int {
	if a := g.attr(n); a != cty.NilVal {
		i, _ := a.AsBigFloat().Int64()
		return int(i)
	}
	return 0
}

func (g getter) list(n string) []string {
	a := g.attr(n)
	if a == cty.NilVal {
		return nil
	}
	var out []string
	for it := a.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if !e.IsNull() && e.IsKnown() {
			out = append(out, e.AsString())
		}
	}
	return out
}

func (g getter) strmap(n string) map[string]string {
	a := g.attr(n)
	if a == cty.NilVal {
		return nil
	}
	out := map[string]string{}
	for it := a.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if !e.IsNull() && e.IsKnown() {
			out[k.AsString()] = e.AsString()
		}
	}
	return out
}
