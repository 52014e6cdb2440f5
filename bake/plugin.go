package bake

import (
	"context"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Base is the image a source starts from, resolved before anything runs.
type Base struct {
	Name   string // as the user wrote it: localbase/debian:bookworm, ami-0123
	Digest string // content address: sha256:..., or the AMI id
}

// Builder boots machines for one source block.
type Builder interface {
	// Resolve finds the base without changing anything.
	Resolve(ctx context.Context) (Base, error)
	// Boot starts a machine from base. The machine's Destroy removes
	// everything Boot made, also when Boot fails part way (Boot cleans up
	// after itself then).
	Boot(ctx context.Context, base Base, log Log) (Machine, error)
}

// Namer is implemented by builders that know, before building, the names
// their artifact will get for a version, so that two sources of one run
// that would overwrite each other are refused up front.
type Namer interface {
	ArtifactNames(version string) []string
}

// StepCache is implemented by builders that can save a machine after a
// step and boot from it in a later bake (the Docker builder's step cache).
type StepCache interface {
	// CachedKeys reports which of keys have a saved machine.
	CachedKeys(ctx context.Context, keys []string) (map[string]bool, error)
	// BootCached boots a machine from the state saved under key; the
	// artifact it captures must equal one booted from base.
	BootCached(ctx context.Context, base Base, key string, log Log) (Machine, error)
}

// Verifier is implemented by builders whose Capture boots the artifact
// and runs ArtifactMeta.Verify before publishing it. A build with a
// verify block is refused for a source whose builder is not one, rather
// than baked unverified.
type Verifier interface {
	VerifiesArtifacts()
}

// ArtifactFinder is implemented by builders that can find an artifact
// they made earlier from the same inputs, for bake build
// --skip-unchanged: an image or AMI labelled with the fingerprint, in
// the place the source publishes to. It returns nil when there is none.
type ArtifactFinder interface {
	FindArtifact(ctx context.Context, fingerprint string) (*Artifact, error)
}

// Resumer is a StepCache whose saved states are checkpoints (AMIs) rather
// than a cache: a step is saved only when it says checkpoint = true, a
// bake resumes from one only with --resume, and a finished bake drops
// its checkpoints.
type Resumer interface {
	StepCache
	// DropCheckpoints removes the checkpoints saved under keys.
	DropCheckpoints(ctx context.Context, keys []string) error
}

// Checkpointer is a Machine that can save its current state under key.
type Checkpointer interface {
	Checkpoint(ctx context.Context, key, comment string) error
}

// StepFacts are what one step reported for the artifact: labels (a
// recipe's facts) and the process the image must run.
type StepFacts struct {
	Labels map[string]string `json:"labels,omitempty"`
	Cmd    string            `json:"cmd,omitempty"`
}

// FactCache is a StepCache that keeps, with each saved step, the facts of
// every step up to it, so steps that report facts can be cache hits too:
// a bake resumed from the entry gets the same labels and command as one
// that ran every step. Its machines are FactCheckpointers.
type FactCache interface {
	StepCache
	// CachedFacts returns the facts saved with key, one per step up to
	// and including the saved one; ok is false when the entry has none.
	CachedFacts(ctx context.Context, key string) (facts []StepFacts, ok bool, err error)
}

// FactCheckpointer is a Checkpointer that saves the facts of the steps
// that ran so far with the state.
type FactCheckpointer interface {
	CheckpointFacts(ctx context.Context, key, comment string, facts []StepFacts) error
}

// Volatile is implemented by provisioners whose effect depends on the
// world at the time they run, not only on their inputs (a package
// upgrade): their step is not cached unless it says cache = true.
type Volatile interface {
	Volatile() bool
}

// Machine is a booted source being provisioned.
type Machine interface {
	// Communicator reaches the machine.
	Communicator() Communicator
	// Capture turns the machine into the artifact described by meta.
	Capture(ctx context.Context, meta ArtifactMeta, log Log) (*Artifact, error)
	// Destroy removes what Boot made. It is idempotent, and is called
	// with a fresh context with its own deadline.
	Destroy(ctx context.Context) error
}

// ArtifactMeta is what a builder records on the artifact it makes.
type ArtifactMeta struct {
	Name        string // the source's full name: build.source
	Version     string
	BuildTime   time.Time
	RunUUID     string
	Fingerprint string
	Base        Base
	// Labels are the OCI annotations and bake's lineage labels (docker
	// labels, AMI tags).
	Labels map[string]string
	// Cmd is the command a provisioner asked the image to run (see
	// ImageCommander); builders of images with a command use it when the
	// source sets none.
	Cmd []string
	// Verify is the build's verify block: the builder boots the artifact
	// and checks it (Verify) before it publishes it. nil: no verify.
	Verify *VerifySpec
}

// VerifySpec is a build's verify block: checks run against the artifact
// booted as it will run (its own command, its own init), before it is
// published. Each must pass.
type VerifySpec struct {
	// Inline are shell commands run as root in the booted artifact;
	// each must exit 0.
	Inline []string
	// HTTP are requests from this machine to the artifact's ports.
	HTTP []HTTPCheck
	// Timeout bounds the whole verification (DefaultVerifyTimeout when 0).
	Timeout time.Duration
}

// HTTPCheck is one http block of a verify block.
type HTTPCheck struct {
	Port     int
	Path     string // "/" when empty
	Status   int    // 200 when 0
	Contains string // a substring the body must have; "" for any
}

// Ports are the ports the HTTP checks reach, without repeats.
func (v *VerifySpec) Ports() []int {
	var out []int
	seen := map[int]bool{}
	for _, h := range v.HTTP {
		if !seen[h.Port] {
			seen[h.Port] = true
			out = append(out, h.Port)
		}
	}
	return out
}

// Artifact is what a bake produced.
type Artifact struct {
	BuilderType string            // docker, amazon-ebs
	ID          string            // image ID, AMI id
	Names       []string          // repository:version and other tags
	Extra       map[string]string // builder-specific facts (digest, regions)

	// Filled in by the runner.
	Name        string // the job: BUILD.TYPE.NAME
	Version     string
	Fingerprint string
	Parent      string
	BuildTime   time.Time
	RunUUID     string
}

// Target is what a provisioner works on.
type Target struct {
	Comm Communicator
	Log  Log
	// Vars are the provisioner-visible facts of the build (source name,
	// version) for execute_command templates and the like.
	Source  string
	Version string
}

// Provisioner changes a machine.
type Provisioner interface {
	Provision(ctx context.Context, t *Target) error
}

// ArtifactLabeler is implemented by provisioners that learn facts worth
// recording on the artifact (how many packages a patch step upgraded).
// The runner merges the labels of the steps that ran into the artifact's.
type ArtifactLabeler interface {
	ArtifactLabels() map[string]string
}

// ImageCommander is implemented by provisioners that know the process an
// image must run (a recipe's service supervisor, where no systemd runs).
// It becomes the image's command unless the source sets one.
type ImageCommander interface {
	ImageCmd() string
}

// Fingerprinter is implemented by provisioners whose inputs go beyond
// their configuration: the content of the files and scripts they upload.
// Input writes a stable description of those inputs.
type Fingerprinter interface {
	Fingerprint(h FingerprintWriter) error
}

// FingerprintWriter receives a step's inputs.
type FingerprintWriter interface {
	// Add records a named input.
	Add(name string, value []byte)
	// AddFile records the content of a local file or directory tree.
	AddFile(name, path string) error
}

// PostProcessor works on an artifact after capture.
type PostProcessor interface {
	PostProcess(ctx context.Context, a *Artifact, log Log) (*Artifact, error)
}

// DecodeContext is what a plugin needs to decode its block.
type DecodeContext struct {
	Body hcl.Body
	Eval *hcl.EvalContext
	// Dir is the directory relative paths resolve from: the working
	// directory, as in Packer (templates write ${path.root}/x for a path
	// next to the template).
	Dir string
	// Root is the template's folder (path.root), for what bake reads from
	// beside its bake files (recipe files).
	Root string
	// Name is the block's name (the source name for a builder).
	Name string
	// Range is the block's definition, for errors.
	Range hcl.Range
	// RunUUID identifies this run; builders label what they make with it.
	RunUUID string
	// OnError is bake build --on-error: OnErrorCleanup ("" means the
	// same) removes what a failed bake made; OnErrorAbort keeps it for
	// debugging and tells how to remove it. Builders that make remote
	// resources (amazon-ebs) honour it.
	OnError string
}

// The values of --on-error.
const (
	OnErrorCleanup = "cleanup"
	OnErrorAbort   = "abort"
)

// DataSource is a `data "TYPE" "NAME"` block, read before locals that
// use it (Packer's order: data and locals form one graph without cycles).
type DataSource interface {
	// OutputType is the object type of data.TYPE.NAME, known without
	// reading anything, so that validate can evaluate with unknown values.
	OutputType() cty.Type
	// Execute reads the data. bake build calls it; bake validate calls it
	// only for LocalData sources.
	Execute(ctx context.Context) (cty.Value, error)
}

// LocalData is implemented by data sources that read nothing outside the
// process (null), which validate executes too.
type LocalData interface {
	LocalOnly() bool
}

// SensitiveData is implemented by data sources whose values are secrets
// (amazon-secretsmanager): their values are marked sensitive and never
// reach logs.
type SensitiveData interface {
	Sensitive() bool
}

// Plugins are the block types a bake file can use, by type label.
type Plugins struct {
	// DataSources are the data block types, by type label.
	DataSources    map[string]func(DecodeContext) (DataSource, hcl.Diagnostics)
	Builders       map[string]func(DecodeContext) (Builder, hcl.Diagnostics)
	Provisioners   map[string]func(DecodeContext) (Provisioner, hcl.Diagnostics)
	PostProcessors map[string]func(DecodeContext) (PostProcessor, hcl.Diagnostics)
	// ProvisionerSearch says where provisioner plugins were looked for,
	// for the error about a type nothing provides ("" when nowhere).
	ProvisionerSearch string
}
