// Package manifest is Packer's manifest post-processor: it appends the
// artifact's entry, with Packer's keys and meaning, to a JSON file
// (packer-manifest.json by default), plus bake's lineage keys.
package manifest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

	"github.com/bakehq/bake/bake"
	dockerbuilder "github.com/bakehq/bake/builders/docker"
)

// DefaultOutput is Packer's default output.
const DefaultOutput = "packer-manifest.json"

// spec is Packer's manifest post-processor's (packer's
// post-processor/manifest, whose module bake does not build with).
var spec = hcldec.ObjectSpec{
	"output":      &hcldec.AttrSpec{Name: "output", Type: cty.String},
	"strip_path":  &hcldec.AttrSpec{Name: "strip_path", Type: cty.Bool},
	"strip_time":  &hcldec.AttrSpec{Name: "strip_time", Type: cty.Bool},
	"custom_data": &hcldec.AttrSpec{Name: "custom_data", Type: cty.Map(cty.String)},
}

// Config is `post-processor "manifest"`.
type Config struct {
	Output     string
	StripPath  bool
	StripTime  bool
	CustomData map[string]string

	// source is the source's name (Packer's build name) and type.
	source, sourceType string
}

// File is a file of an artifact, as Packer records it.
type File struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

// Entry is one build in the manifest: Packer's keys first, then bake's.
type Entry struct {
	Name          string            `json:"name"`
	BuilderType   string            `json:"builder_type"`
	BuildTime     int64             `json:"build_time"`
	Files         []File            `json:"files"`
	ArtifactID    string            `json:"artifact_id"`
	PackerRunUUID string            `json:"packer_run_uuid"`
	CustomData    map[string]string `json:"custom_data"`

	// bake's lineage.
	Job         string   `json:"bake_job,omitempty"`
	Version     string   `json:"bake_version,omitempty"`
	Fingerprint string   `json:"bake_fingerprint,omitempty"`
	Parent      string   `json:"bake_parent,omitempty"`
	Names       []string `json:"bake_names,omitempty"`
}

// Manifest is the file.
type Manifest struct {
	Builds      []json.RawMessage `json:"builds"`
	LastRunUUID string            `json:"last_run_uuid"`
}

// New decodes a manifest block.
func New(dc bake.DecodeContext) (bake.PostProcessor, hcl.Diagnostics) {
	v, diags := hcldec.Decode(dc.Body, spec, dc.Eval)
	if diags.HasErrors() {
		return nil, diags
	}
	c := &Config{Output: DefaultOutput}
	if a := v.GetAttr("output"); !a.IsNull() {
		c.Output = a.AsString()
	}
	c.StripPath = isTrue(v.GetAttr("strip_path"))
	c.StripTime = isTrue(v.GetAttr("strip_time"))
	if a := v.GetAttr("custom_data"); !a.IsNull() {
		c.CustomData = map[string]string{}
		for k, e := range a.AsValueMap() {
			if !e.IsNull() {
				c.CustomData[k] = e.AsString()
			}
		}
	}
	c.source, c.sourceType = sourceFacts(dc.Eval)
	return c, diags
}

func isTrue(v cty.Value) bool { return !v.IsNull() && v.True() }

func sourceFacts(ctx *hcl.EvalContext) (name, typ string) {
	for ; ctx != nil; ctx = ctx.Parent() {
		src, ok := ctx.Variables["source"]
		if !ok || !src.Type().IsObjectType() {
			continue
		}
		get := func(k string) string {
			if src.Type().HasAttribute(k) {
				if v := src.GetAttr(k); v.IsKnown() && !v.IsNull() && v.Type() == cty.String {
					return v.AsString()
				}
			}
			return ""
		}
		return get("name"), get("type")
	}
	return "", ""
}

// ArtifactID is Packer's artifact id: for amazon-ebs
// "region:ami-id[,region:ami-id...]" sorted, for docker the image id.
func ArtifactID(a *bake.Artifact) string {
	if a.BuilderType == "amazon-ebs" && a.ID != "" {
		parts := []string{a.Extra["region"] + ":" + a.ID}
		for _, r := range strings.Split(a.Extra["ami_regions"], ",") {
			if r != "" {
				parts = append(parts, r)
			}
		}
		sort.Strings(parts)
		return strings.Join(parts, ",")
	}
	return a.ID
}

// Entry is the manifest entry of a.
func (c *Config) Entry(a *bake.Artifact) Entry {
	name := c.source
	if name == "" {
		// The job is BUILD.TYPE.NAME or TYPE.NAME.
		name = a.Name[strings.LastIndex(a.Name, ".")+1:]
	}
	e := Entry{
		Name: name, BuilderType: a.BuilderType, BuildTime: a.BuildTime.Unix(), ArtifactID: ArtifactID(a),
		PackerRunUUID: a.RunUUID, CustomData: c.CustomData,
		Job: a.Name, Version: a.Version, Fingerprint: a.Fingerprint, Parent: a.Parent, Names: a.Names,
	}
	for _, f := range strings.Fields(a.Extra[dockerbuilder.ExtraFiles]) {
		var size int64
		if fi, err := os.Stat(f); err == nil {
			size = fi.Size()
		}
		if c.StripPath {
			f = filepath.Base(f)
		}
		e.Files = append(e.Files, File{Name: f, Size: size})
	}
	if c.StripTime {
		e.BuildTime = 0
	}
	return e
}

// PostProcess appends a's entry to the manifest, keeping the builds
// already there, and sets last_run_uuid.
func (c *Config) PostProcess(ctx context.Context, a *bake.Artifact, log bake.Log) (*bake.Artifact, error) {
	path := filepath.Clean(c.Output)
	var m Manifest
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("manifest: read %s: %w", path, err)
	case len(strings.TrimSpace(string(b))) > 0:
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, bake.BadInputf("manifest: read %s: %w (move the file away to start a new one)", path, err)
		}
	}
	e, err := json.Marshal(c.Entry(a))
	if err != nil {
		return nil, err
	}
	m.Builds = append(m.Builds, e)
	m.LastRunUUID = a.RunUUID
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("manifest: write %s: %w", path, err)
		}
	}
	if err := dockerbuilder.WriteFileAtomic(path, strings.NewReader(string(out)+"\n")); err != nil {
		return nil, fmt.Errorf("manifest: write %s: %w", path, err)
	}
	log.Info("recorded in " + c.Output)
	return a, nil
}
