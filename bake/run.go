package bake

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// Job is one source of one build, decoded and ready to run: the whole
// bake as an ordered list of steps.
type Job struct {
	Name           string // BUILD.TYPE.NAME, or TYPE.NAME for an unnamed build
	BuilderType    string
	Builder        Builder
	Steps          []Step
	PostProcessors [][]PostStep
	// Inputs describe the job's resolved configuration, sensitive values
	// removed, for the fingerprint.
	Inputs []byte
	// SourceInputs are the source block's part of Inputs: the root of
	// the step cache's keys.
	SourceInputs []byte
	// Secrets are the values of sensitive variables, kept in memory only:
	// cache keys change when they do, through a salted hash.
	Secrets []string
	// Verify is the build's verify block, handed to the builder's
	// Capture (ArtifactMeta.Verify); nil when there is none.
	Verify *VerifySpec

	digestsOnce sync.Once
	digests     []stepDigest
}

// Step is a provisioner with its common settings.
type Step struct {
	Name        string // "provisioner shell #2"
	Provisioner Provisioner
	PauseBefore time.Duration
	Timeout     time.Duration
	MaxRetries  int
	// Inputs are the step's resolved configuration (sensitive values
	// removed), for its cache key.
	Inputs []byte
	// Cache is the step's cache setting: nil (auto: saved when the step
	// took longer than RunOptions.CacheMinDuration), true, or false
	// (never; no step after it is cached either).
	Cache *bool
	// Checkpoint saves the machine after this step for a Resumer builder
	// (checkpoint = true).
	Checkpoint bool
}

// PostStep is a post-processor in a chain.
type PostStep struct {
	Name          string
	PostProcessor PostProcessor
	// KeepInput keeps the artifact the post-processor got; bake never
	// deletes images, so it only matters to the manifest.
	KeepInput bool
}

// RunOptions are a run's settings, shared by its jobs.
type RunOptions struct {
	Parallel  int
	Reporter  Reporter
	Version   string
	BuildTime time.Time
	RunUUID   string
	// Revision and SourceURL become the OCI revision and source labels.
	Revision  string
	SourceURL string
	// CleanupTimeout bounds Destroy, which runs with a fresh context so
	// that Ctrl-C and --timeout still clean up.
	CleanupTimeout time.Duration
	// Cache turns the step cache on for builders that have one.
	Cache bool
	// Resume restarts a Resumer builder's bake from its last checkpoint.
	Resume bool
	// CacheMinDuration: an auto-cached step is saved when it took at least
	// this long (saving costs about a second; a quicker step is cheaper to
	// run again). Default DefaultCacheMinDuration.
	CacheMinDuration time.Duration
	// SkipUnchanged skips a job whose builder (an ArtifactFinder) finds an
	// artifact with the job's fingerprint; the result then has Skipped
	// set and Artifact is the one found. Nothing is booted.
	SkipUnchanged bool
}

// Result is how a job ended.
type Result struct {
	Job      *Job
	Artifact *Artifact
	Err      error
	Elapsed  time.Duration
	// Skipped: an artifact with this fingerprint exists (Artifact).
	Skipped bool
	// Base and Fingerprint are what the job resolved, when it got that far.
	Base        Base
	Fingerprint string
}

// CheckNames refuses jobs whose artifacts would get the same name.
func CheckNames(jobs []*Job, version string) error {
	seen := map[string]string{}
	for _, j := range jobs {
		n, ok := j.Builder.(Namer)
		if !ok {
			continue
		}
		for _, name := range n.ArtifactNames(version) {
			if other, dup := seen[name]; dup {
				return BadInputf("builds %s and %s would both be tagged %s: give their sources different repository or tags", other, j.Name, name)
			}
			seen[name] = j.Name
		}
	}
	return nil
}

// Run runs jobs, at most o.Parallel at once, and returns a result per job
// in the jobs' order. A failed job does not stop the others.
func Run(ctx context.Context, jobs []*Job, o RunOptions) []Result {
	if o.Parallel < 1 {
		o.Parallel = 1
	}
	if o.Reporter == nil {
		o.Reporter = Discard
	}
	if o.CleanupTimeout == 0 {
		o.CleanupTimeout = 2 * time.Minute
	}
	results := make([]Result, len(jobs))
	ForEach(ctx, len(jobs), o.Parallel, func(i int) {
		results[i] = runJob(ctx, jobs[i], o)
	}, func(i int, cause error) {
		results[i] = Result{Job: jobs[i], Err: fmt.Errorf("build %s: not started: %w", jobs[i].Name, cause)}
	})
	return results
}

func runJob(ctx context.Context, j *Job, o RunOptions) (res Result) {
	start := time.Now()
	log := Log{R: o.Reporter, Source: j.Name}
	res.Job = j
	log.Event(Event{Type: EventBuildStart, Message: fmt.Sprintf("%d steps", len(j.Steps)),
		Fields: map[string]string{"run_uuid": o.RunUUID, "version": o.Version}})
	defer func() {
		res.Elapsed = time.Since(start)
		e := Event{Type: EventBuildDone, Elapsed: res.Elapsed.Seconds()}
		if res.Err != nil {
			e.Error = res.Err.Error()
		}
		log.Event(e)
	}()

	base, err := j.Builder.Resolve(ctx)
	if err != nil {
		res.Err = fmt.Errorf("build %s: %w", j.Name, err)
		return res
	}
	res.Base = base
	// The fingerprint hashes every uploaded file: it runs while the
	// machine boots, unless --skip-unchanged needs it first.
	fingerprint := sync.OnceValues(func() (string, error) { return Fingerprint(base, j) })
	go fingerprint()
	var fp string
	if f, ok := j.Builder.(ArtifactFinder); ok && o.SkipUnchanged {
		if fp, err = fingerprint(); err != nil {
			res.Err = BadInput(fmt.Errorf("build %s: fingerprint inputs: %w", j.Name, err))
			return res
		}
		res.Fingerprint = fp
		found, err := f.FindArtifact(ctx, fp)
		if err != nil {
			res.Err = fmt.Errorf("build %s: look for an artifact with fingerprint %s: %w", j.Name, fp, err)
			return res
		}
		if found != nil {
			res.Artifact, res.Skipped = found, true
			log.Event(Event{Type: EventSkipped, Message: "unchanged: " + found.String() + " has the same inputs",
				Fields: map[string]string{"artifact_id": found.ID, "version": found.Version, "fingerprint": fp}})
			return res
		}
	}

	cache, _ := j.Builder.(StepCache)
	resumer, checkpoints := j.Builder.(Resumer)
	if !o.Cache && !checkpoints {
		cache = nil
	}
	keys := make([]string, len(j.Steps))
	// facts are what each step reported for the artifact, from the step
	// or, for a cached one, from the cache.
	facts := make([]StepFacts, len(j.Steps))
	factCache, keepsFacts := cache.(FactCache)
	skippable := factSteps(j)
	if keepsFacts {
		skippable = len(j.Steps)
	}
	if cache != nil {
		// Keys hash every uploaded file again: only when they are used.
		keys = CacheKeys(base, j)
	}
	cachedSteps := 0
	if cache != nil && (!checkpoints || o.Resume) {
		if cachedSteps, err = cachedPrefix(ctx, cache, keys[:skippable]); err != nil {
			log.Warn(fmt.Sprintf("step cache not used: %v", err))
			cachedSteps = 0
		}
		if keepsFacts && cachedSteps > factSteps(j) {
			fs, ok, err := factCache.CachedFacts(ctx, keys[cachedSteps-1])
			switch {
			case err != nil || !ok || len(fs) != cachedSteps:
				// An entry without its facts: run from the first step
				// that reports some.
				if err != nil {
					log.Warn(fmt.Sprintf("step cache: %v", err))
				}
				if cachedSteps, err = cachedPrefix(ctx, cache, keys[:factSteps(j)]); err != nil {
					log.Warn(fmt.Sprintf("step cache not used: %v", err))
					cachedSteps = 0
				}
			default:
				copy(facts, fs)
			}
		}
	}

	var m Machine
	err = step(ctx, log.WithStep("boot"), func(ctx context.Context) error {
		var err error
		if cachedSteps > 0 {
			m, err = cache.BootCached(ctx, base, keys[cachedSteps-1], log.WithStep("boot"))
		} else {
			m, err = j.Builder.Boot(ctx, base, log.WithStep("boot"))
		}
		return err
	})
	if m != nil {
		defer func() {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.CleanupTimeout)
			defer cancel()
			if derr := m.Destroy(cctx); derr != nil {
				log.WithStep("cleanup").Warn(derr.Error())
				res.Err = errors.Join(res.Err, fmt.Errorf("build %s: clean up: %w", j.Name, derr))
			}
		}()
	}
	if err != nil {
		res.Err = fmt.Errorf("build %s: boot: %w", j.Name, err)
		return res
	}

	for i, s := range j.Steps {
		if i < cachedSteps {
			log.WithStep(s.Name).Event(Event{Type: EventStepCached, Fields: map[string]string{"cache_key": keys[i]}})
			continue
		}
		began := time.Now()
		if err := runStep(ctx, m, s, log.WithStep(s.Name), o); err != nil {
			res.Err = fmt.Errorf("build %s: %w", j.Name, err)
			return res
		}
		facts[i] = stepFacts(s)
		save := cache != nil && i < skippable && saveStep(s, keys[i], time.Since(began), o)
		if checkpoints {
			save = s.Checkpoint && keys[i] != ""
		}
		if save {
			var err error
			if fc, ok := m.(FactCheckpointer); ok && keepsFacts {
				err = fc.CheckpointFacts(ctx, keys[i], j.Name+" "+s.Name, facts[:i+1])
			} else if cp, ok := m.(Checkpointer); ok {
				err = cp.Checkpoint(ctx, keys[i], j.Name+" "+s.Name)
			} else {
				continue
			}
			if err != nil {
				if ctx.Err() != nil {
					res.Err = fmt.Errorf("build %s: %w", j.Name, context.Cause(ctx))
					return res
				}
				log.WithStep(s.Name).Warn(fmt.Sprintf("step not saved in the cache: %v", err))
			}
		}
	}

	if fp, err = fingerprint(); err != nil {
		res.Err = BadInput(fmt.Errorf("build %s: fingerprint inputs: %w", j.Name, err))
		return res
	}
	res.Fingerprint = fp
	meta := ArtifactMeta{
		Name: j.Name, Version: o.Version, BuildTime: o.BuildTime, RunUUID: o.RunUUID,
		Fingerprint: fp, Base: base, Labels: labels(j, o, base, fp), Verify: j.Verify,
	}
	meta.Labels[LabelTook] = strconv.Itoa(int(time.Since(start).Round(time.Second) / time.Second))
	for _, f := range facts {
		for k, v := range f.Labels {
			if _, taken := meta.Labels[k]; !taken {
				meta.Labels[k] = v
			}
		}
		if f.Cmd != "" {
			meta.Cmd = []string{f.Cmd}
		}
	}
	var a *Artifact
	err = step(ctx, log.WithStep("capture"), func(ctx context.Context) error {
		var err error
		a, err = m.Capture(ctx, meta, log.WithStep("capture"))
		return err
	})
	if err != nil {
		res.Err = fmt.Errorf("build %s: capture: %w", j.Name, err)
		return res
	}
	if checkpoints {
		dropCheckpoints(ctx, resumer, j, keys, log, o)
	}
	a.Name, a.Version, a.Fingerprint, a.Parent = j.Name, o.Version, fp, base.Digest
	a.BuildTime, a.RunUUID = o.BuildTime, o.RunUUID
	res.Artifact = a

	for _, chain := range j.PostProcessors {
		in := a
		for _, pp := range chain {
			var out *Artifact
			err := step(ctx, log.WithStep(pp.Name), func(ctx context.Context) error {
				var err error
				out, err = pp.PostProcessor.PostProcess(ctx, in, log.WithStep(pp.Name))
				return err
			})
			if err != nil {
				res.Err = fmt.Errorf("build %s: %w", j.Name, err)
				return res
			}
			if out != nil {
				in = out
			}
		}
	}
	log.Event(Event{Type: EventArtifact, Message: a.String(), Fields: map[string]string{
		"artifact_id": a.ID, "version": a.Version, "fingerprint": fp,
	}})
	return res
}

// step reports a step's start and end around f.
func step(ctx context.Context, log Log, f func(context.Context) error) error {
	start := time.Now()
	log.Event(Event{Type: EventStepStart})
	err := f(ctx)
	e := Event{Type: EventStepDone, Elapsed: time.Since(start).Seconds()}
	if err != nil {
		e.Error = err.Error()
	}
	log.Event(e)
	return err
}

func runStep(ctx context.Context, m Machine, s Step, log Log, o RunOptions) error {
	if s.PauseBefore > 0 {
		log.Info(fmt.Sprintf("pausing %s before this step", s.PauseBefore))
		select {
		case <-time.After(s.PauseBefore):
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	t := &Target{Comm: m.Communicator(), Log: log, Source: log.Source, Version: o.Version}
	return step(ctx, log, func(ctx context.Context) error {
		var err error
		for attempt := 0; attempt <= s.MaxRetries; attempt++ {
			if attempt > 0 {
				log.Warn(fmt.Sprintf("retrying (%d of %d) after: %v", attempt, s.MaxRetries, err))
			}
			err = provisionOnce(ctx, s, t)
			if err == nil || ctx.Err() != nil || IsBadInput(err) {
				break
			}
		}
		var re *RunError
		if errors.As(err, &re) && re.Step == "" {
			re.Step = s.Name
			return err
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
		return nil
	})
}

func provisionOnce(ctx context.Context, s Step, t *Target) error {
	if s.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, s.Timeout, fmt.Errorf("step timed out after %s (timeout = %q)", s.Timeout, s.Timeout))
		defer cancel()
	}
	err := s.Provisioner.Provision(ctx, t)
	if err != nil && ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}

func labels(j *Job, o RunOptions, base Base, fp string) map[string]string {
	l := map[string]string{
		LabelVersion:     o.Version,
		LabelCreated:     o.BuildTime.UTC().Format(time.RFC3339),
		LabelBaseName:    base.Name,
		LabelBaseDigest:  base.Digest,
		LabelFingerprint: fp,
		LabelParent:      base.Digest,
		LabelName:        j.Name,
		LabelRun:         o.RunUUID,
	}
	if o.Revision != "" {
		l[LabelRevision] = o.Revision
	}
	if o.SourceURL != "" {
		l[LabelSource] = o.SourceURL
	}
	return l
}

// dropCheckpoints removes a finished bake's checkpoints, on a fresh
// context so that they go even when the run is being stopped.
func dropCheckpoints(ctx context.Context, r Resumer, j *Job, keys []string, log Log, o RunOptions) {
	var saved []string
	for i, s := range j.Steps {
		if s.Checkpoint && keys[i] != "" {
			saved = append(saved, keys[i])
		}
	}
	if len(saved) == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.CleanupTimeout)
	defer cancel()
	if err := r.DropCheckpoints(cctx, saved); err != nil {
		log.WithStep("cleanup").Warn(fmt.Sprintf("remove checkpoints: %v", err))
	}
}

// stepFacts is what a step that just ran reported for the artifact.
func stepFacts(s Step) StepFacts {
	var f StepFacts
	if l, ok := s.Provisioner.(ArtifactLabeler); ok {
		f.Labels = l.ArtifactLabels()
	}
	if c, ok := s.Provisioner.(ImageCommander); ok {
		f.Cmd = c.ImageCmd()
	}
	return f
}

// factSteps is how many leading steps a cache that does not keep facts
// may skip: up to the first step that reports facts for the artifact
// (labels, the image's command), which must run in every bake for the
// result to carry them.
func factSteps(j *Job) int {
	for i, s := range j.Steps {
		_, labels := s.Provisioner.(ArtifactLabeler)
		_, cmd := s.Provisioner.(ImageCommander)
		if labels || cmd {
			return i
		}
	}
	return len(j.Steps)
}
