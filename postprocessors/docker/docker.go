// Package docker has the docker-tag and docker-push post-processors,
// accepted as Packer users write them.
package docker

import (
	"context"
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"github.com/bakehq/bake/bake"
	dockerbuilder "github.com/bakehq/bake/builders/docker"
)

// Tag is `post-processor "docker-tag"`.
type Tag struct {
	Repository string   `hcl:"repository"`
	Tags       []string `hcl:"tags,optional"`
	Tag        []string `hcl:"tag,optional"`
	Force      bool     `hcl:"force,optional"`
}

// NewTag decodes a docker-tag block.
func NewTag(dc bake.DecodeContext) (bake.PostProcessor, hcl.Diagnostics) {
	var t Tag
	diags := gohcl.DecodeBody(dc.Body, dc.Eval, &t)
	return &t, diags
}

// PostProcess tags the image as repository:tag for each tag (latest when
// none), and returns it under those names.
func (t *Tag) PostProcess(ctx context.Context, a *bake.Artifact, log bake.Log) (*bake.Artifact, error) {
	if a.BuilderType != "docker" || a.ID == "" {
		return nil, fmt.Errorf("docker-tag: the artifact is not a docker image (builder %s)", a.BuilderType)
	}
	api, err := dockerbuilder.NewClient()
	if err != nil {
		return nil, err
	}
	tags := append(append([]string{}, t.Tags...), t.Tag...)
	if len(tags) == 0 {
		tags = []string{"latest"}
	}
	out := *a
	out.Names = nil
	for _, tag := range tags {
		ref := t.Repository + ":" + tag
		if err := api.ImageTag(ctx, a.ID, ref); err != nil {
			return nil, fmt.Errorf("docker-tag %s: %w", ref, err)
		}
		out.Names = append(out.Names, ref)
		log.Info("tagged " + ref)
	}
	return &out, nil
}

// Push is `post-processor "docker-push"`.
type Push struct {
	Login         bool   `hcl:"login,optional"`
	LoginServer   string `hcl:"login_server,optional"`
	LoginUsername string `hcl:"login_username,optional"`
	LoginPassword string `hcl:"login_password,optional"`
	ECRLogin      bool   `hcl:"ecr_login,optional"`
}

// NewPush decodes a docker-push block.
func NewPush(dc bake.DecodeContext) (bake.PostProcessor, hcl.Diagnostics) {
	var p Push
	diags := gohcl.DecodeBody(dc.Body, dc.Eval, &p)
	if p.ECRLogin {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "ecr_login is not supported",
			Detail: "log in to ECR with the docker CLI's credential helper instead; bake reads ~/.docker/config.json", Subject: dc.Range.Ptr()})
	}
	return &p, diags
}

// PostProcess pushes every name of the artifact.
func (p *Push) PostProcess(ctx context.Context, a *bake.Artifact, log bake.Log) (*bake.Artifact, error) {
	api, err := dockerbuilder.NewClient()
	if err != nil {
		return nil, err
	}
	out := *a
	for _, n := range a.Names {
		log.Info("pushing " + n)
		digest, err := dockerbuilder.Push(ctx, api, n, p.LoginServer, p.LoginUsername, p.LoginPassword)
		if err != nil {
			return nil, err
		}
		if digest != "" {
			out.Extra = map[string]string{"digest": digest}
			for k, v := range a.Extra {
				if k != "digest" {
					out.Extra[k] = v
				}
			}
		}
	}
	return &out, nil
}
