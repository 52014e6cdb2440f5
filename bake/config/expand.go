package config

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/bakehq/bake/bake"
)

// ExpandOptions say which jobs to make and the run's facts that bake
// files can refer to as bake.version, bake.build_time and bake.run_uuid.
type ExpandOptions struct {
	Plugins bake.Plugins
	// Only and Except are -only / -except globs over BUILD.TYPE.NAME or
	// TYPE.NAME.
	Only, Except []string
	Version      string
	BuildTime    time.Time
	RunUUID      string
	// OnError is --on-error, handed to builders (bake.DecodeContext).
	OnError string
}

// versionPlaceholder stands for the version in a job's Inputs, so that
// the fingerprint of the same inputs is the same from build to build.
const versionPlaceholder = "${bake.version}"

// Jobs decodes every selected (build, source) pair into a job.
func (c *Config) Jobs(o ExpandOptions) ([]*bake.Job, error) {
	diags := append(hcl.Diagnostics{}, c.deferred...)
	var jobs []*bake.Job
	redact := bake.NewRedactor(c.Secrets())
	for _, b := range c.Builds {
		for _, use := range b.Sources {
			src, ok := c.Sources[use.Ref]
			if !ok {
				diags = append(diags, errorf(use.Range.Ptr(), "Unknown source",
					"build refers to source.%s, which is not defined; defined: %s", use.Ref, c.sourceList()))
				continue
			}
			ref := src.Type + "." + use.Name
			name := ref
			if b.Name != "" {
				name = b.Name + "." + ref
			}
			if !selected(name, ref, o.Only, o.Except) {
				continue
			}
			j, d := c.job(b, src, use, name, ref, o, redact)
			diags = append(diags, d...)
			if j != nil {
				jobs = append(jobs, j)
			}
		}
	}
	if err := diagErr(diags, c.Files); err != nil {
		return nil, err
	}
	if len(jobs) == 0 && (len(o.Only) > 0 || len(o.Except) > 0) {
		return nil, bake.BadInputf("-only %s / -except %s selects no build; builds are: %s",
			strings.Join(o.Only, ","), strings.Join(o.Except, ","), strings.Join(c.jobNames(), ", "))
	}
	return jobs, nil
}

func (c *Config) job(b *Build, src *Source, use SourceUse, name, ref string, o ExpandOptions, redact bake.Redactor) (*bake.Job, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	facts := func(version string) map[string]cty.Value {
		return map[string]cty.Value{
			"source": cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal(use.Name), "type": cty.StringVal(src.Type)}),
			"build":  buildObject(b.Name),
			"bake": cty.ObjectVal(map[string]cty.Value{
				"version":    cty.StringVal(version),
				"build_time": cty.StringVal(o.BuildTime.UTC().Format(time.RFC3339)),
				"run_uuid":   cty.StringVal(o.RunUUID),
			}),
		}
	}
	ctx := c.EvalContext(facts(o.Version))
	fpCtx := c.EvalContext(facts(versionPlaceholder))
	dc := func(body hcl.Body, rng hcl.Range, n string) bake.DecodeContext {
		d := c.decodeContext(body, ctx, rng, n)
		d.RunUUID, d.OnError = o.RunUUID, o.OnError
		return d
	}
	srcBody := src.Body
	if use.Body != nil {
		srcBody = hcl.MergeBodies([]hcl.Body{src.Body, use.Body})
	}

	newBuilder, ok := o.Plugins.Builders[src.Type]
	if !ok {
		return nil, hcl.Diagnostics{errorf(src.TypeRange.Ptr(), "Unknown source type",
			"source type %q is not one bake has; it has: %s", src.Type, strings.Join(slices.Sorted(maps.Keys(o.Plugins.Builders)), ", "))}
	}
	builder, d := newBuilder(dc(srcBody, src.Range, use.Name))
	diags = append(diags, d...)

	var inputs strings.Builder
	fmt.Fprintf(&inputs, "source %s\n%s\n", src.Type, canonical(src.Body, fpCtx))
	if use.Body != nil {
		fmt.Fprintf(&inputs, "%s\n", canonical(use.Body, fpCtx))
	}
	j := &bake.Job{Name: name, BuilderType: src.Type, Builder: builder, SourceInputs: []byte(redact.String(inputs.String()))}
	for _, p := range b.Provisioners {
		if !p.Common.Applies(b.Name, ref) {
			continue
		}
		newProv, ok := o.Plugins.Provisioners[p.Type]
		if !ok {
			where := ""
			if o.Plugins.ProvisionerSearch != "" {
				where = fmt.Sprintf(", nor a Packer plugin in %s (install the plugin that provides it there, e.g. with `packer plugins install`)", o.Plugins.ProvisionerSearch)
			}
			diags = append(diags, errorf(p.TypeRange.Ptr(), "Unknown provisioner type",
				"provisioner type %q is not one bake has%s; it has: %s", p.Type, where, strings.Join(provisionerTypes(o.Plugins.Provisioners), ", ")))
			continue
		}
		prov, d := newProv(dc(p.Body, p.Range, p.Name()))
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		j.Steps = append(j.Steps, bake.Step{Name: p.Name(), Provisioner: prov,
			PauseBefore: p.Common.PauseBefore, Timeout: p.Common.Timeout, MaxRetries: p.Common.MaxRetries,
			Cache: p.Common.Cache, Checkpoint: p.Common.Checkpoint, Inputs: []byte(redact.String(p.Type + "\n" + canonical(p.Body, ctx)))})
		fmt.Fprintf(&inputs, "%s\n%s\n", p.Name(), canonical(p.Body, fpCtx))
	}
	// The verify block is not part of the inputs: it checks the artifact
	// and changes nothing in it.
	if v := b.Verify; v != nil && v.Common.Applies(b.Name, ref) {
		spec, d := v.Spec(ctx)
		diags = append(diags, d...)
		j.Verify = spec
		if _, ok := builder.(bake.Verifier); !ok && !d.HasErrors() && builder != nil {
			diags = append(diags, errorf(v.Range.Ptr(), "Source cannot be verified",
				"source type %q cannot boot what it makes to verify it: give the verify block only = [...] or except = [\"%s\"]", src.Type, ref))
		}
	}
	for _, chain := range b.PostProcessors {
		var steps []bake.PostStep
		for _, p := range chain {
			if !p.Common.Applies(b.Name, ref) {
				continue
			}
			newPP, ok := o.Plugins.PostProcessors[p.Type]
			if !ok {
				diags = append(diags, errorf(p.TypeRange.Ptr(), "Unknown post-processor type",
					"post-processor type %q is not one bake has; it has: %s", p.Type, strings.Join(slices.Sorted(maps.Keys(o.Plugins.PostProcessors)), ", ")))
				continue
			}
			pp, d := newPP(dc(p.Body, p.Range, p.Name()))
			diags = append(diags, d...)
			if d.HasErrors() {
				continue
			}
			steps = append(steps, bake.PostStep{Name: p.Name(), PostProcessor: pp, KeepInput: p.Common.KeepInputArtifact == nil || *p.Common.KeepInputArtifact})
		}
		if len(steps) > 0 {
			j.PostProcessors = append(j.PostProcessors, steps)
		}
	}
	j.Inputs = []byte(redact.String(inputs.String()))
	j.Secrets = c.Secrets()
	if diags.HasErrors() {
		return nil, diags
	}
	return j, diags
}

// buildGenerated are the build.* names Packer gives provisioners and
// post-processors; they are known only once the machine runs, so, as in
// Packer, each is the legacy template {{ build `NAME` }} that a Packer
// plugin expands when it runs.
var buildGenerated = []string{"ID", "Host", "Port", "User", "Password", "ConnType", "PackerRunUUID",
	"PackerHTTPAddr", "PackerHTTPIP", "PackerHTTPPort", "SSHPublicKey", "SSHPrivateKey", "WinRMPassword",
	"SourceAMI", "SourceAMIName", "SourceAMIOwner", "SourceAMIOwnerName", "SourceAMICreationDate", "Region", "ImageSha256"}

// buildObject is build: its name and the generated build.* values.
func buildObject(name string) cty.Value {
	attrs := map[string]cty.Value{"name": cty.StringVal(name)}
	for _, n := range buildGenerated {
		attrs[n] = cty.StringVal("{{ build `" + n + "` }}")
	}
	return cty.ObjectVal(attrs)
}

// canonical renders a body's evaluated attributes and blocks, sorted, as
// the stable text a fingerprint hashes.
func canonical(body hcl.Body, ctx *hcl.EvalContext) string {
	sb, ok := body.(*hclsyntax.Body)
	if !ok {
		// An expanded dynamic block: its arguments (nested blocks are
		// not seen without a schema).
		attrs, _ := body.JustAttributes()
		var b strings.Builder
		for _, a := range sortedAttrs(attrs) {
			v, diags := a.Expr.Value(ctx)
			v, _ = v.UnmarkDeep()
			if diags.HasErrors() || !v.IsWhollyKnown() {
				fmt.Fprintf(&b, "%s=?\n", a.Name)
				continue
			}
			js, err := ctyjson.Marshal(v, v.Type())
			if err != nil {
				js = []byte(v.GoString())
			}
			fmt.Fprintf(&b, "%s=%s\n", a.Name, js)
		}
		return b.String()
	}
	var b strings.Builder
	names := make([]string, 0, len(sb.Attributes))
	for n := range sb.Attributes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v, diags := sb.Attributes[n].Expr.Value(ctx)
		v, _ = v.UnmarkDeep()
		if diags.HasErrors() || !v.IsWhollyKnown() {
			fmt.Fprintf(&b, "%s=?\n", n)
			continue
		}
		js, err := ctyjson.Marshal(v, v.Type())
		if err != nil {
			js = []byte(v.GoString())
		}
		fmt.Fprintf(&b, "%s=%s\n", n, js)
	}
	for _, blk := range sb.Blocks {
		fmt.Fprintf(&b, "%s %q {\n%s}\n", blk.Type, blk.Labels, canonical(blk.Body, ctx))
	}
	return b.String()
}

func selected(name, ref string, only, except []string) bool {
	match := func(globs []string) bool {
		for _, g := range globs {
			for _, n := range []string{name, ref} {
				if ok, _ := path.Match(g, n); ok {
					return true
				}
			}
		}
		return false
	}
	if len(only) > 0 && !match(only) {
		return false
	}
	return !match(except)
}

func (c *Config) sourceList() string {
	var out []string
	for ref := range c.Sources {
		out = append(out, "source."+ref)
	}
	sort.Strings(out)
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

// jobNames lists every BUILD.TYPE.NAME, for messages and inspect.
func (c *Config) jobNames() []string {
	var out []string
	for _, b := range c.Builds {
		for _, use := range b.Sources {
			t, _, _ := strings.Cut(use.Ref, ".")
			n := t + "." + use.Name
			if b.Name != "" {
				n = b.Name + "." + n
			}
			out = append(out, n)
		}
	}
	return out
}

// provisionerTypes lists the types for a message: packer.NAME, the
// explicit form of a Packer provisioner, is left out where NAME is there.
func provisionerTypes[V any](m map[string]V) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if name, ok := strings.CutPrefix(k, "packer."); ok {
			if _, dup := m[name]; dup {
				continue
			}
		}
		out = append(out, k)
	}
	return out
}
