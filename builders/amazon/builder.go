// Package amazon is bake's amazon-ebs builder: it boots a base AMI on EC2
// with a temporary key pair and a security group that admits only this
// machine, pins the instance's SSH host keys from its console output,
// hands provisioners an SSH communicator, and turns the instance into a
// versioned, tagged (and, when asked, encrypted) AMI copied to the regions
// that need it. Everything it makes is tagged with the run, and removed
// again when the bake fails or is interrupted.
//
// The bake is one list of steps (steps.go) over a typed state; each step
// says what it makes and how to remove it.
package amazon

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/uuid"
	"github.com/hashicorp/hcl/v2"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/internal/awserr"
)

// Type is the source type this builder is registered as.
const Type = "amazon-ebs"

// TagRun is the tag every resource of a run carries (bake.LabelRun):
// cleanup and the tests find a run's leftovers by it.
const TagRun = bake.LabelRun

// Builder builds one amazon-ebs source.
type Builder struct {
	cfg *Config
	cl  *clients

	// Set by Resolve.
	source types.Image

	// hook, when set (tests), is called before each step with its name;
	// after is called when the step returns.
	hook  func(ctx context.Context, step string)
	after func(step string, err error)
}

// New decodes a source block into a Builder.
func New(dc bake.DecodeContext) (bake.Builder, hcl.Diagnostics) {
	cfg, diags := Decode(dc)
	if diags.HasErrors() {
		return nil, diags
	}
	return &Builder{cfg: cfg}, diags
}

// Config returns the decoded source block.
func (b *Builder) Config() *Config { return b.cfg }

// ArtifactNames are the AMI's name in each region it is made in.
func (b *Builder) ArtifactNames(string) []string {
	if b.cfg.SkipCreateAMI {
		return nil
	}
	// AMI names are unique per region: two sources may share a name in
	// different regions (one template, a source per region).
	seen := map[string]bool{}
	var out []string
	for _, r := range append([]string{b.cfg.Region}, b.cfg.AMIRegions...) {
		if r == "" {
			r = "default-region"
		}
		if n := "ami:" + r + "/" + b.cfg.AMIName; !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// Resolve checks the credentials, the regions and the instance type, and
// finds the source AMI, changing nothing. Each bad input is an error that
// names its field.
func (b *Builder) Resolve(ctx context.Context) (bake.Base, error) {
	c := b.cfg
	if b.cl == nil {
		cl, err := loadClients(ctx, c)
		if err != nil {
			return bake.Base{}, err
		}
		b.cl = cl
	}
	if err := b.cl.checkCredentials(ctx, c.name); err != nil {
		return bake.Base{}, err
	}
	if err := checkInstanceType(c.name, c.instanceType()); err != nil {
		return bake.Base{}, err
	}
	api := b.cl.in(b.cl.region())
	if err := b.checkRegions(ctx, api); err != nil {
		return bake.Base{}, err
	}
	img, err := b.findSourceAMI(ctx, api)
	if err != nil {
		return bake.Base{}, err
	}
	b.source = img
	if err := b.checkNameFree(ctx, api); err != nil {
		return bake.Base{}, err
	}
	return bake.Base{Name: sourceName(c, img), Digest: aws.ToString(img.ImageId)}, nil
}

func sourceName(c *Config, img types.Image) string {
	if c.SourceAMI != "" {
		return c.SourceAMI
	}
	return aws.ToString(img.Name)
}

// checkInstanceType refuses a type EC2 does not have; the SDK knows them.
func checkInstanceType(source, t string) error {
	for _, v := range types.InstanceType("").Values() {
		if string(v) == t {
			return nil
		}
	}
	hint := ""
	if !strings.Contains(t, ".") {
		hint = " (types look like t3.micro: family.size)"
	}
	return bake.BadInputf("source %q: instance_type %q is not an EC2 instance type%s", source, t, hint)
}

// checkRegions asks EC2 whether region and ami_regions exist.
func (b *Builder) checkRegions(ctx context.Context, api imageFinder) error {
	c := b.cfg
	out, err := api.DescribeRegions(ctx, &ec2.DescribeRegionsInput{AllRegions: aws.Bool(true)})
	if err != nil {
		if strings.Contains(err.Error(), "no such host") || strings.Contains(err.Error(), "dial tcp") {
			return bake.BadInputf("source %q: region %q: EC2 is not reachable there (%v): check region", c.name, b.cl.region(), err)
		}
		return fmt.Errorf("source %q: list regions: %w", c.name, err)
	}
	known := map[string]bool{}
	var names []string
	for _, r := range out.Regions {
		known[aws.ToString(r.RegionName)] = true
		names = append(names, aws.ToString(r.RegionName))
	}
	if !known[b.cl.region()] {
		return bake.BadInputf("source %q: region %q is not an EC2 region (regions: %s)", c.name, b.cl.region(), strings.Join(names, ", "))
	}
	for _, r := range c.AMIRegions {
		if c.pc != nil && c.pc.AMISkipRegionValidation {
			break
		}
		if !known[r] {
			return bake.BadInputf("source %q: ami_regions: %q is not an EC2 region (regions: %s)", c.name, r, strings.Join(names, ", "))
		}
	}
	return nil
}

// findSourceAMI describes source_ami, or the newest AMI matching
// source_ami_filter; the error for no match shows the filter.
func (b *Builder) findSourceAMI(ctx context.Context, api imageFinder) (types.Image, error) {
	c := b.cfg
	if c.SourceAMI != "" {
		out, err := api.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{c.SourceAMI}})
		if awserr.NotFound(err) || err == nil && len(out.Images) == 0 {
			return types.Image{}, bake.BadInputf("source %q: source_ami %s does not exist in %s (or is not shared with this account)", c.name, c.SourceAMI, b.cl.region())
		}
		if awserr.Code(err) == "InvalidAMIID.Malformed" {
			return types.Image{}, bake.BadInputf("source %q: source_ami %q is not an AMI id", c.name, c.SourceAMI)
		}
		if err != nil {
			return types.Image{}, fmt.Errorf("source %q: describe source_ami %s: %w", c.name, c.SourceAMI, err)
		}
		return out.Images[0], nil
	}
	f := c.SourceAMIFilter
	in := &ec2.DescribeImagesInput{Owners: f.Owners}
	if f.IncludeDeprecated {
		in.IncludeDeprecated = aws.Bool(true)
	}
	for _, k := range slices.Sorted(maps.Keys(f.Filters)) {
		in.Filters = append(in.Filters, types.Filter{Name: aws.String(k), Values: []string{f.Filters[k]}})
	}
	out, err := api.DescribeImages(ctx, in)
	if err != nil {
		if awserr.Code(err) == "InvalidParameterValue" {
			return types.Image{}, bake.BadInputf("source %q: source_ami_filter %s: %s", c.name, f, awserr.Short(err))
		}
		return types.Image{}, fmt.Errorf("source %q: find the source AMI (source_ami_filter %s): %w", c.name, f, err)
	}
	var avail []types.Image
	for _, im := range out.Images {
		if im.State == types.ImageStateAvailable {
			avail = append(avail, im)
		}
	}
	switch {
	case len(avail) == 0:
		return types.Image{}, bake.BadInputf("source %q: source_ami_filter matches no available AMI in %s: %s", c.name, b.cl.region(), f)
	case len(avail) > 1 && !f.MostRecent:
		return types.Image{}, bake.BadInputf("source %q: source_ami_filter matches %d AMIs in %s (%s): set most_recent = true or narrow the filter", c.name, len(avail), b.cl.region(), f)
	}
	best := avail[0]
	for _, im := range avail[1:] {
		if aws.ToString(im.CreationDate) > aws.ToString(best.CreationDate) {
			best = im
		}
	}
	return best, nil
}

// Boot runs the boot steps: key pair, security group, instance, host
// keys, SSH. On failure the machine it returns removes what they made.
func (b *Builder) Boot(ctx context.Context, base bake.Base, log bake.Log) (bake.Machine, error) {
	b.infoLines(log)
	return b.boot(ctx, base, base.Digest, log)
}

// infoLines says once per source which arguments have no effect here,
// and how bake does what it does differently from Packer.
func (b *Builder) infoLines(log bake.Log) {
	c := b.cfg
	if len(c.ignored) > 0 {
		log.Info(fmt.Sprintf("%s.%s: accepted without effect here: %s", Type, c.name, strings.Join(c.ignored, ", ")))
	}
	if pc := c.pc; pc != nil && (pc.SpotPrice != "" || len(pc.SpotInstanceTypes) > 0) {
		log.Info(fmt.Sprintf("%s.%s: spot_price / spot_instance_types: bake launches the build instance on demand (RunInstances, instance type %s), not as a spot request; the AMI is the same",
			Type, c.name, c.instanceType()))
	}
	if c.pc != nil && c.pc.Comm.Type == "none" {
		log.Info(fmt.Sprintf("%s.%s: communicator = \"none\": no SSH connection; provisioners cannot run", Type, c.name))
	}
}

// boot launches the instance from launch (the source AMI, or a checkpoint).
func (b *Builder) boot(ctx context.Context, base bake.Base, launch string, log bake.Log) (bake.Machine, error) {
	st := &state{cfg: b.cfg, cl: b.cl, api: b.cl.in(b.cl.region()), log: log, b: b, sourceAMI: base.Digest, launchAMI: launch, source: b.source,
		bakeID: strings.ReplaceAll(uuid.NewString(), "-", "")[:8]}
	m := &machine{b: b, log: log, st: st}
	err := m.run(ctx, bootSteps())
	return m, err
}

type machine struct {
	b   *Builder
	log bake.Log
	st  *state

	started   []step // in order; undone in reverse
	captured  bool   // the AMI is finished: keep it
	destroyed bool
	// throwaway: an update check's instance, removed even with
	// --on-error=abort (there is no bake to debug).
	throwaway bool
}

func (m *machine) Communicator() bake.Communicator { return m.st.comm }

// run runs steps in order, stopping at the first error; each step is
// recorded before it runs, so that a step cut off half way is undone too.
func (m *machine) run(ctx context.Context, steps []step) error {
	for _, s := range steps {
		if m.b.hook != nil {
			m.b.hook(ctx, s.name)
		}
		if err := context.Cause(ctx); ctx.Err() != nil {
			return fmt.Errorf("before %s: %w", s.name, err)
		}
		m.started = append(m.started, s)
		start := time.Now()
		err := s.run(ctx, m.st)
		if m.b.after != nil {
			m.b.after(s.name, err)
		}
		if err != nil {
			if ctx.Err() != nil && !bake.IsBadInput(err) {
				err = fmt.Errorf("%w (%v)", context.Cause(ctx), err)
			}
			if strings.HasPrefix(err.Error(), s.name+" ") {
				return err // "verify http :80/ ...": it names the step
			}
			return fmt.Errorf("%s: %w", s.name, err)
		}
		m.st.log.Event(bake.Event{Type: bake.EventInfo, Message: "done: " + s.name,
			Fields: map[string]string{"aws_step": s.name, "elapsed_s": fmt.Sprintf("%.3f", time.Since(start).Seconds())}})
	}
	return nil
}

// Capture turns the instance into the AMI, waits for it, copies it to
// ami_regions and tags everything with meta's lineage.
func (m *machine) Capture(ctx context.Context, meta bake.ArtifactMeta, log bake.Log) (*bake.Artifact, error) {
	m.st.meta = meta
	m.st.log = log
	if err := m.run(ctx, captureSteps(m.b.cfg)); err != nil {
		return nil, err
	}
	m.captured = true
	if err := releaseOwner(ctx, m.st); err != nil {
		return nil, err
	}
	a := &bake.Artifact{BuilderType: Type, Extra: map[string]string{"region": m.b.cl.region()}}
	if m.b.cfg.SkipCreateAMI {
		if meta.Verify != nil {
			log.Warn("skip_create_ami = true: no AMI is made, so the verify block has nothing to check")
		}
		log.Info("skip_create_ami = true: no AMI was made")
		return a, nil
	}
	a.ID = m.st.amiID
	// The names record every region's AMI, as Packer's artifact id does,
	// so that the manifest has the copies.
	a.Names = []string{m.b.cfg.AMIName, m.b.cl.region() + ":" + m.st.amiID}
	var regions []string
	for _, r := range slices.Sorted(maps.Keys(m.st.copies)) {
		regions = append(regions, r+":"+m.st.copies[r].ami)
		a.Names = append(a.Names, r+":"+m.st.copies[r].ami)
	}
	a.Extra["ami_regions"] = strings.Join(regions, ",")
	a.Extra["snapshots"] = strings.Join(m.st.snapshots, ",")
	return a, nil
}

// undoTimeout bounds each step's undo (EC2 takes a minute or two to
// terminate an instance).
const undoTimeout = 5 * time.Minute

// Destroy undoes the steps that ran, in reverse order, each with the
// fresh context it is given. After a finished bake only the temporary
// resources go; after a failed one the half-made AMIs go too, unless
// --on-error=abort keeps it all and prints how to remove it.
func (m *machine) Destroy(ctx context.Context) error {
	if m.destroyed {
		return nil
	}
	m.destroyed = true
	defer m.reportCalls()
	if !m.captured && !m.throwaway && m.b.cfg.onError == bake.OnErrorAbort {
		m.log.Warn("--on-error=abort: the failed bake's resources are kept for debugging. Remove them with:\n" + m.st.removalCommands())
		if m.st.comm != nil {
			_ = m.st.comm.Close() // the connection, not the machine
		}
		return nil
	}
	return m.undoSteps(ctx, func(s step) bool { return !(s.artifact && m.captured) })
}

// undoSteps undoes the started steps that want says to, last first.
// Each undo gets its own deadline, so that a slow termination does not
// leave the key pair and security group no time.
func (m *machine) undoSteps(ctx context.Context, want func(step) bool) error {
	var errs []error
	for i := len(m.started) - 1; i >= 0; i-- {
		s := m.started[i]
		if s.undo == nil || !want(s) {
			continue
		}
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
		err := s.undo(uctx, m.st)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("undo %s: %w", s.name, err))
		}
	}
	return errors.Join(errs...)
}

func (m *machine) reportCalls() {
	if m.b.cl == nil {
		return
	}
	n, by := m.b.cl.calls.Summary()
	m.log.Event(bake.Event{Type: bake.EventInfo, Message: fmt.Sprintf("%d AWS API calls", n),
		Fields: map[string]string{"aws_calls": fmt.Sprint(n), "aws_calls_by_op": by}})
}
