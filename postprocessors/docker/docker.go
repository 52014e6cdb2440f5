// Package docker has Packer's docker post-processors — docker-tag,
// docker-push, docker-import and docker-save — decoded with
// packer-plugin-docker v1.1.2's own specs.
package docker

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/docker/api/types/image"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	ppimport "github.com/hashicorp/packer-plugin-docker/post-processor/docker-import"
	pppush "github.com/hashicorp/packer-plugin-docker/post-processor/docker-push"
	ppsave "github.com/hashicorp/packer-plugin-docker/post-processor/docker-save"
	pptag "github.com/hashicorp/packer-plugin-docker/post-processor/docker-tag"
	"github.com/zclconf/go-cty/cty"

	"github.com/bakehq/bake/bake"
	dockerbuilder "github.com/bakehq/bake/builders/docker"
)

func decode(dc bake.DecodeContext, spec map[string]hcldec.Spec) (get, hcl.Diagnostics) {
	v, diags := hcldec.Decode(dc.Body, hcldec.ObjectSpec(spec), dc.Eval)
	if diags.HasErrors() {
		return get{}, diags
	}
	return get{v}, diags
}

type get struct{ v cty.Value }

func (g get) attr(n string) cty.Value {
	a := g.v.GetAttr(n)
	if a.IsNull() || !a.IsWhollyKnown() {
		return cty.NilVal
	}
	return a
}

func (g get) str(n string) string {
	if a := g.attr(n); a != cty.NilVal {
		return a.AsString()
	}
	return ""
}

func (g get) bool(n string) bool {
	a := g.attr(n)
	return a != cty.NilVal && a.True()
}

func (g get) list(n string) []string {
	a := g.attr(n)
	if a == cty.NilVal {
		return nil
	}
	var out []string
	for it := a.ElementIterator(); it.Next(); {
		_, e := it.Element()
		out = append(out, e.AsString())
	}
	return out
}

func missing(dc bake.DecodeContext, what, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Missing " + what, Detail: detail, Subject: dc.Range.Ptr()}
}

// isImage reports whether a is an image in the engine (not an
// export_path tarball, not a discarded build).
func isImage(a *bake.Artifact) bool {
	return a.BuilderType == "docker" && a.ID != "" && a.ID != dockerbuilder.ExportID
}

// Tag is `post-processor "docker-tag"`.
type Tag struct {
	Repository string
	Tags       []string
	Force      bool
}

// NewTag decodes a docker-tag block; tag (Packer's old name) adds to tags.
func NewTag(dc bake.DecodeContext) (bake.PostProcessor, hcl.Diagnostics) {
	g, diags := decode(dc, (*pptag.FlatConfig)(nil).HCL2Spec())
	if diags.HasErrors() {
		return nil, diags
	}
	t := &Tag{Repository: g.str("repository"), Tags: append(g.list("tags"), g.list("tag")...), Force: g.bool("force")}
	if t.Repository == "" {
		diags = append(diags, missing(dc, "repository", "docker-tag needs repository, the name to tag the image with"))
	}
	return t, diags
}

// PostProcess tags the image as repository:TAG for each tag (repository,
// that is :latest, when none), and returns it under those names.
func (t *Tag) PostProcess(ctx context.Context, a *bake.Artifact, log bake.Log) (*bake.Artifact, error) {
	if !isImage(a) {
		return nil, bake.BadInputf("docker-tag: the artifact is not a docker image (builder %s, id %q): tag a commit or a docker-import", a.BuilderType, a.ID)
	}
	api, err := dockerbuilder.NewClient()
	if err != nil {
		return nil, err
	}
	refs := []string{t.Repository}
	if len(t.Tags) > 0 {
		refs = nil
		for _, tag := range t.Tags {
			refs = append(refs, t.Repository+":"+tag)
		}
	}
	if t.Force {
		log.Info("force = true has no effect: the engine moves an existing tag anyway")
	}
	out := *a
	out.Names = nil
	for _, ref := range refs {
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
	Login         bool
	LoginServer   string
	LoginUsername string
	LoginPassword string
	ECR           *dockerbuilder.ECR
}

// NewPush decodes a docker-push block.
func NewPush(dc bake.DecodeContext) (bake.PostProcessor, hcl.Diagnostics) {
	g, diags := decode(dc, (*pppush.FlatConfig)(nil).HCL2Spec())
	if diags.HasErrors() {
		return nil, diags
	}
	p := &Push{Login: g.bool("login"), LoginServer: g.str("login_server"), LoginUsername: g.str("login_username"), LoginPassword: g.str("login_password")}
	if g.bool("ecr_login") {
		if p.LoginServer == "" {
			diags = append(diags, missing(dc, "login_server", "ecr_login needs login_server, the ECR registry (ACCOUNT.dkr.ecr.REGION.amazonaws.com)"))
		}
		p.ECR = &dockerbuilder.ECR{Server: p.LoginServer, AccessKey: g.str("aws_access_key"), SecretKey: g.str("aws_secret_key"), Token: g.str("aws_token"), Profile: g.str("aws_profile")}
	}
	return p, diags
}

// Sensitive lists values a bake's output must never show.
func (p *Push) Sensitive() []string {
	s := []string{p.LoginPassword}
	if p.ECR != nil {
		s = append(s, p.ECR.SecretKey, p.ECR.Token)
	}
	return s
}

// PostProcess pushes every name of the artifact, with ECR's token when
// ecr_login is set.
func (p *Push) PostProcess(ctx context.Context, a *bake.Artifact, log bake.Log) (*bake.Artifact, error) {
	if !isImage(a) || len(a.Names) == 0 {
		return nil, bake.BadInputf("docker-push: the artifact has no image name to push (builder %s, id %q): put docker-tag or docker-import before it", a.BuilderType, a.ID)
	}
	api, err := dockerbuilder.NewClient()
	if err != nil {
		return nil, err
	}
	user, password := p.LoginUsername, p.LoginPassword
	if p.ECR != nil {
		if user, password, err = p.ECR.Login(ctx); err != nil {
			return nil, err
		}
		log.Info("logged in to " + p.LoginServer + " with an ECR authorization token")
	}
	out := *a
	for _, n := range a.Names {
		log.Info("pushing " + n)
		digest, err := dockerbuilder.Push(ctx, api, n, p.LoginServer, user, password)
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

// Import is `post-processor "docker-import"`: the export_path tarball
// into the engine as repository:tag.
type Import struct {
	Repository, Tag, Platform string
	Changes                   []string
}

// NewImport decodes a docker-import block.
func NewImport(dc bake.DecodeContext) (bake.PostProcessor, hcl.Diagnostics) {
	g, diags := decode(dc, (*ppimport.FlatConfig)(nil).HCL2Spec())
	if diags.HasErrors() {
		return nil, diags
	}
	i := &Import{Repository: g.str("repository"), Tag: g.str("tag"), Platform: g.str("platform"), Changes: g.list("changes")}
	if i.Repository == "" {
		diags = append(diags, missing(dc, "repository", "docker-import needs repository, the name to import the tarball as"))
	}
	return i, diags
}

// PostProcess imports the artifact's tarball.
func (i *Import) PostProcess(ctx context.Context, a *bake.Artifact, log bake.Log) (*bake.Artifact, error) {
	files := strings.Fields(a.Extra[dockerbuilder.ExtraFiles])
	if a.BuilderType != "docker" || len(files) == 0 {
		return nil, bake.BadInputf("docker-import: the artifact is not a tarball (builder %s, id %q): docker-import takes a docker source with export_path; a committed image is in the engine already", a.BuilderType, a.ID)
	}
	ref := i.Repository + ":latest"
	if i.Tag != "" {
		ref = i.Repository + ":" + i.Tag
	}
	api, err := dockerbuilder.NewClient()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(files[0])
	if err != nil {
		return nil, fmt.Errorf("docker-import: %w", err)
	}
	defer f.Close()
	log.Info(fmt.Sprintf("importing %s as %s", files[0], ref))
	rc, err := api.ImageImport(ctx, image.ImportSource{Source: f, SourceName: "-"}, ref, image.ImportOptions{Changes: i.Changes, Platform: i.Platform})
	if err != nil {
		return nil, fmt.Errorf("docker-import %s: %w", ref, err)
	}
	defer rc.Close()
	if err := dockerbuilder.ReadJSONStream(rc); err != nil {
		if strings.Contains(err.Error(), "dockerfile") || strings.Contains(strings.ToLower(err.Error()), "unknown instruction") {
			return nil, bake.BadInputf("docker-import %s: changes: %w", ref, err)
		}
		return nil, fmt.Errorf("docker-import %s: %w", ref, err)
	}
	img, err := api.ImageInspect(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("docker-import %s: inspect the imported image: %w", ref, err)
	}
	log.Info("imported " + bake.ShortID(img.ID) + " as " + ref)
	out := *a
	out.ID, out.Names = img.ID, []string{ref}
	out.Extra = map[string]string{"repository": i.Repository}
	return &out, nil
}

// Save is `post-processor "docker-save"`: the image into a tarball.
type Save struct{ Path string }

// NewSave decodes a docker-save block.
func NewSave(dc bake.DecodeContext) (bake.PostProcessor, hcl.Diagnostics) {
	g, diags := decode(dc, (*ppsave.FlatConfig)(nil).HCL2Spec())
	if diags.HasErrors() {
		return nil, diags
	}
	s := &Save{Path: g.str("path")}
	if s.Path == "" {
		diags = append(diags, missing(dc, "path", "docker-save needs path, the tarball to write"))
	} else if abs, err := filepath.Abs(s.Path); err == nil {
		s.Path = abs
	}
	return s, diags
}

// PostProcess saves the image (under its names, so that docker load
// tags it again) and passes the artifact on, as Packer does.
func (s *Save) PostProcess(ctx context.Context, a *bake.Artifact, log bake.Log) (*bake.Artifact, error) {
	if !isImage(a) {
		return nil, bake.BadInputf("docker-save: the artifact is not a docker image (builder %s, id %q)", a.BuilderType, a.ID)
	}
	api, err := dockerbuilder.NewClient()
	if err != nil {
		return nil, err
	}
	refs := a.Names
	if len(refs) == 0 {
		refs = []string{a.ID}
	}
	rc, err := api.ImageSave(ctx, refs)
	if err != nil {
		return nil, fmt.Errorf("docker-save %s: %w", strings.Join(refs, " "), err)
	}
	defer rc.Close()
	if err := os.MkdirAll(filepath.Dir(s.Path), 0o755); err != nil {
		return nil, fmt.Errorf("docker-save to %s: %w", s.Path, err)
	}
	if err := dockerbuilder.WriteFileAtomic(s.Path, rc); err != nil {
		return nil, fmt.Errorf("docker-save to %s: %w", s.Path, err)
	}
	log.Info(fmt.Sprintf("saved %s to %s", strings.Join(refs, ", "), s.Path))
	return a, nil
}
