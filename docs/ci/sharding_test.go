package ci_test

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

const (
	nightlyWorkflow = "github-actions-nightly.yml"
	indexedJob      = "k8s-indexed-job.yaml"
)

// TestActionlint lints every workflow here with actionlint as a library,
// at the version go.mod pins. shellcheck and pyflakes are not installed on
// bake's machines: their paths are left empty, so actionlint skips the
// shell and Python checks of run: scripts and checks everything else.
func TestActionlint(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.yml")
	if err != nil || !slices.Contains(files, nightlyWorkflow) {
		t.Fatalf("want the workflows here, %s among them: %v %v", nightlyWorkflow, files, err)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			l, err := actionlint.NewLinter(&out, &actionlint.LinterOptions{Shellcheck: "", Pyflakes: ""})
			if err != nil {
				t.Fatal(err)
			}
			errs, err := l.LintFile(f, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(errs) > 0 {
				t.Errorf("actionlint found %d problems in %s:\n%s", len(errs), f, out.String())
			}
		})
	}
}

// TestNightlyWorkflowShards checks the shape of the sharded nightly: plan
// writes a matrix, every shard of it is a rebuild job with its own --shard,
// and promote runs only after all of them.
func TestNightlyWorkflowShards(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(nightlyWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	w, errs := actionlint.Parse(b)
	if len(errs) > 0 {
		t.Fatalf("parse %s: %v", nightlyWorkflow, errs)
	}

	var scheduled, shardsInput bool
	for _, e := range w.On {
		switch e := e.(type) {
		case *actionlint.ScheduledEvent:
			scheduled = len(e.Schedules) > 0
		case *actionlint.WorkflowDispatchEvent:
			_, shardsInput = e.Inputs["shards"]
		}
	}
	if !scheduled || !shardsInput {
		t.Errorf("want a nightly schedule (%v) and workflow_dispatch with a shards input (%v)", scheduled, shardsInput)
	}
	if w.Permissions == nil || scope(w.Permissions, "id-token") != "write" || scope(w.Permissions, "contents") != "read" {
		t.Errorf("want permissions id-token: write and contents: read (OIDC), got %+v", w.Permissions)
	}
	if c := w.Concurrency; c == nil || c.Group == nil || c.Group.Value == "" || c.CancelInProgress == nil || c.CancelInProgress.String() != "false" {
		t.Errorf("want a concurrency group that queues a second nightly rather than cancelling the first, got %+v", c)
	}

	plan, rebuild, promote := w.Jobs["plan"], w.Jobs["rebuild"], w.Jobs["promote"]
	if plan == nil || rebuild == nil || promote == nil {
		t.Fatalf("want jobs plan, rebuild and promote, got %v", slices.Sorted(maps.Keys(w.Jobs)))
	}
	if _, ok := plan.Outputs["matrix"]; !ok {
		t.Errorf("plan has no matrix output")
	}
	mustRun(t, plan, `bake plan \. --shards "\$SHARDS" --json`, `matrix=.*>>"\$GITHUB_OUTPUT"`)

	if !needs(rebuild, "plan") {
		t.Errorf("rebuild needs %v, want plan", names(rebuild.Needs))
	}
	if s := rebuild.Strategy; s == nil || s.Matrix == nil || s.Matrix.Expression == nil ||
		spaceless(s.Matrix.Expression.Value) != "${{fromJSON(needs.plan.outputs.matrix)}}" {
		t.Errorf("rebuild's matrix must be ${{ fromJSON(needs.plan.outputs.matrix) }}, got %+v", s)
	} else if s.FailFast == nil || s.FailFast.String() != "false" {
		t.Errorf("rebuild must set fail-fast: false, so one failed shard does not cancel the others")
	}
	mustRun(t, rebuild, `bake rebuild \. --nightly --shard \$\{\{ matrix\.shard \}\} --version \$\{\{ matrix\.version \}\} --claims ssm --json`)
	if !needs(promote, "rebuild") || promote.If != nil {
		t.Errorf("promote must need rebuild and have no if: (so it runs only when every shard succeeded); needs %v", names(promote.Needs))
	}
	mustRun(t, promote, `bake promote "\$name" "\$VERSION" .*--channel prod`)

	for id, j := range w.Jobs {
		if j.TimeoutMinutes == nil {
			t.Errorf("job %s has no timeout-minutes", id)
		}
		if !uses(j, "aws-actions/configure-aws-credentials@") {
			t.Errorf("job %s does not get AWS credentials with aws-actions/configure-aws-credentials", id)
		}
		for _, s := range j.Steps {
			if a, ok := s.Exec.(*actionlint.ExecAction); ok && !regexp.MustCompile(`^[\w.-]+/[\w.-]+@v\d+$`).MatchString(a.Uses.Value) {
				t.Errorf("job %s uses %s: pin actions to a major version, e.g. actions/checkout@v4", id, a.Uses.Value)
			}
		}
	}
}

func scope(p *actionlint.Permissions, name string) string {
	if s := p.Scopes[name]; s != nil && s.Value != nil {
		return s.Value.Value
	}
	return ""
}

func names(ss []*actionlint.String) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Value)
	}
	return out
}

func needs(j *actionlint.Job, id string) bool {
	return slices.Contains(names(j.Needs), id)
}

func uses(j *actionlint.Job, prefix string) bool {
	for _, s := range j.Steps {
		if a, ok := s.Exec.(*actionlint.ExecAction); ok && strings.HasPrefix(a.Uses.Value, prefix) {
			return true
		}
	}
	return false
}

// mustRun fails unless each pattern matches the run: script of some step of
// the job.
func mustRun(t *testing.T, j *actionlint.Job, patterns ...string) {
	t.Helper()
	for _, p := range patterns {
		re := regexp.MustCompile(p)
		found := false
		for _, s := range j.Steps {
			if r, ok := s.Exec.(*actionlint.ExecRun); ok && r.Run != nil && re.MatchString(r.Run.Value) {
				found = true
			}
		}
		if !found {
			t.Errorf("job %s runs nothing matching %s", j.ID.Value, p)
		}
	}
}

func spaceless(s string) string {
	return strings.Join(strings.Fields(s), "")
}

// checkJob decodes the manifest as a batch/v1 Job, rejecting any field the
// Kubernetes API does not have (and duplicate keys), and checks that it
// runs the four shards of the nightly as an Indexed Job.
func checkJob(b []byte) error {
	var j batchv1.Job
	if err := yaml.UnmarshalStrict(b, &j); err != nil {
		return fmt.Errorf("decode Job: %w", err)
	}
	if j.APIVersion != "batch/v1" || j.Kind != "Job" {
		return fmt.Errorf("want apiVersion batch/v1, kind Job, got %s %s", j.APIVersion, j.Kind)
	}
	s := j.Spec
	if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion {
		return fmt.Errorf("want completionMode Indexed (JOB_COMPLETION_INDEX picks the shard), got %v", deref(s.CompletionMode))
	}
	if deref(s.Completions) != 4 || deref(s.Parallelism) != 4 {
		return fmt.Errorf("want completions and parallelism 4 (the 4 of --shard I/4), got %d and %d", deref(s.Completions), deref(s.Parallelism))
	}
	if s.BackoffLimitPerIndex == nil || s.ActiveDeadlineSeconds == nil {
		return fmt.Errorf("want backoffLimitPerIndex and activeDeadlineSeconds")
	}
	pod := s.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		return fmt.Errorf("want restartPolicy Never (backoffLimitPerIndex needs it), got %q", pod.RestartPolicy)
	}
	if len(pod.Containers) != 1 {
		return fmt.Errorf("want one container, got %d", len(pod.Containers))
	}
	c := pod.Containers[0]
	if len(c.Command) != 3 || c.Command[0] != "sh" || c.Command[1] != "-c" {
		return fmt.Errorf("want the command as sh -c SCRIPT, got %q", c.Command)
	}
	script := strings.Join(strings.Fields(c.Command[2]), " ")
	for _, want := range []string{"bake rebuild /src --nightly", `--shard "$((JOB_COMPLETION_INDEX + 1))/4"`, "--claims ssm"} {
		if !strings.Contains(script, want) {
			return fmt.Errorf("the command %q lacks %q", script, want)
		}
	}
	secret := map[string]bool{}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			secret[e.Name] = true
		}
	}
	if !secret["AWS_ACCESS_KEY_ID"] || !secret["AWS_SECRET_ACCESS_KEY"] {
		return fmt.Errorf("want the AWS credentials from a Secret, got secret env %v", secret)
	}
	r := c.Resources
	if r.Requests.Cpu().IsZero() || r.Requests.Memory().IsZero() || r.Limits.Cpu().IsZero() || r.Limits.Memory().IsZero() {
		return fmt.Errorf("want cpu and memory requests and limits, got %v", r)
	}
	return nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// TestIndexedJob checks the Kubernetes manifest against the batch/v1 API
// types, and that the check catches what it should: each broken copy of the
// manifest must be rejected, for the reason given.
func TestIndexedJob(t *testing.T) {
	t.Parallel()
	good, err := os.ReadFile(indexedJob)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkJob(good); err != nil {
		t.Fatalf("%s: %v", indexedJob, err)
	}

	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"misspelled field", "completionMode: Indexed", "completionsMode: Indexed", `unknown field "completionsMode"`},
		{"unknown container field", "          command:\n", "          commands:\n", `unknown field "commands"`},
		{"wrong type", "completions: 4", "completions: four", "cannot unmarshal"},
		{"duplicate key", "  parallelism: 4\n", "  parallelism: 4\n  parallelism: 2\n", "already set"},
		{"not Indexed", "completionMode: Indexed", "completionMode: NonIndexed", "want completionMode Indexed"},
		{"fewer pods than shards", "parallelism: 4", "parallelism: 2", "want completions and parallelism 4"},
		{"restarts in place", "restartPolicy: Never", "restartPolicy: OnFailure", "want restartPolicy Never"},
		{"no shard", "--shard", "--shards", "lacks"},
		{"credentials inline", "valueFrom:\n                secretKeyRef:\n                  name: bake-aws\n                  key: AWS_ACCESS_KEY_ID", `value: AKIA...`, "from a Secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bad := strings.Replace(string(good), tc.old, tc.new, 1)
			if bad == string(good) {
				t.Fatalf("%q is not in %s: the case tests nothing", tc.old, indexedJob)
			}
			err := checkJob([]byte(bad))
			if err == nil {
				t.Fatalf("a manifest with %q for %q was accepted", tc.new, tc.old)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("rejected for %v, want %q", err, tc.want)
			}
		})
	}
}
