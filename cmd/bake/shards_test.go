package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/internal/testenv"
	"github.com/bakehq/bake/sim"
)

// shardBake is a tiny docker bake pushed to registry; slow makes its step
// last long enough to kill the runner in it.
func shardBake(name, registry, prefix string, slow bool) string {
	step := fmt.Sprintf(`"echo %s > /etc/bake-shard"`, name)
	if slow {
		step = `"echo slow-started", "sleep 10", ` + step
	}
	return fmt.Sprintf(`source "docker" %q {
  image      = %q
  repository = "%s/%s/%s"
  push       = true
}
build {
  sources = ["source.docker.%s"]
  provisioner "shell" {
    inline = [%s]
  }
}
`, name, baseImage, registry, prefix, name, name, step)
}

type shardRun struct {
	args     []string
	cmd      *exec.Cmd
	out, err syncBuffer
}

func startShard(t *testing.T, dir string, args ...string) *shardRun {
	t.Helper()
	r := &shardRun{args: args}
	r.cmd = exec.Command(bakeBin, args...)
	r.cmd.Dir = dir
	r.cmd.Stdout, r.cmd.Stderr = &r.out, &r.err
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if r.cmd.ProcessState == nil {
			r.cmd.Process.Kill()
			r.cmd.Wait()
		}
	})
	return r
}

// wait waits, bounded, for the run and fails the test unless it exits 0.
func (r *shardRun) wait(t *testing.T, within time.Duration) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- r.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("bake %s: %v\n--- stdout\n%s\n--- stderr (tail)\n%s", strings.Join(r.args, " "), err, r.out.String(), tail(r.err.String(), 4000))
		}
	case <-time.After(within):
		r.cmd.Process.Kill()
		<-done
		t.Fatalf("bake %s did not finish in %s\n%s", strings.Join(r.args, " "), within, tail(r.err.String(), 4000))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// TestShardedNightly runs a nightly of 40 bakes as a CI matrix would:
// bake plan splits them into 4 shards, 4 rebuild --shard processes (and
// a second copy of one shard, as when a job is re-run while the first is
// still going) bake them at once against one local cloud (the claims, in
// its SSM) and one registry, and the runner of one shard is killed with
// SIGKILL in the middle of a 10-second bake. A rerun of that shard finishes it,
// taking over the dead runner's claim when its lease runs out. Every bake
// is baked exactly once, none twice; gc removes what the killed runner
// left; no claim is left in SSM.
func TestShardedNightly(t *testing.T) {
	needDocker(t)
	s := testenv.StartSim(t, sim.Options{})
	testenv.UseSim(t, s.Endpoint())
	reg := startRegistry(t)
	prefix := uniq("shards")
	t.Cleanup(func() { removeImages(t, reg+"/"+prefix+"/") })
	dir := t.TempDir()
	const n, slowBake = 40, "b07"
	var names []string
	for i := range n {
		name := fmt.Sprintf("b%02d", i)
		names = append(names, name)
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		src := shardBake(name, reg, prefix, name == slowBake)
		if err := os.WriteFile(filepath.Join(dir, name, name+".bake.hcl"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	version := "v" + strings.TrimPrefix(prefix, "shards")

	// The plan: 4 shards, every bake in one, the same on every call.
	plan := runBake(t, dir, "plan", ".", "--shards", "4", "--json", "--version", version)
	if plan.code != 0 {
		t.Fatalf("plan: %s", plan)
	}
	if again := runBake(t, dir, "plan", ".", "--shards", "4", "--json", "--version", version); again.stdout != plan.stdout {
		t.Fatalf("two plans differ:\n%s\n%s", plan.stdout, again.stdout)
	}
	var matrix struct {
		Include []struct {
			Shard   string   `json:"shard"`
			Version string   `json:"version"`
			Bakes   []string `json:"bakes"`
		} `json:"include"`
	}
	if err := json.Unmarshal([]byte(plan.stdout), &matrix); err != nil || len(matrix.Include) != 4 {
		t.Fatalf("plan --json is not a 4-entry matrix (%v):\n%s", err, plan.stdout)
	}
	var dealt []string
	slowShard := ""
	for _, e := range matrix.Include {
		if e.Version != version || len(e.Bakes) != n/4 {
			t.Errorf("shard %s: version %s, %d bakes; want %s and %d (equal weights split evenly)", e.Shard, e.Version, len(e.Bakes), version, n/4)
		}
		dealt = append(dealt, e.Bakes...)
		if slices.Contains(e.Bakes, slowBake) {
			slowShard = e.Shard
		}
	}
	slices.Sort(dealt)
	if !slices.Equal(dealt, names) {
		t.Fatalf("the shards hold %v, want every bake once", dealt)
	}

	claims := "ssm:/bake/claims/" + prefix
	rebuild := func(shard string) []string {
		return []string{"rebuild", ".", "--nightly", "--shard", shard, "--version", version, "-parallel", "1",
			"--claims", claims, "--claim-lease", "6s", "--json"}
	}
	var runs []*shardRun
	var killed *shardRun
	for _, e := range matrix.Include {
		r := startShard(t, dir, rebuild(e.Shard)...)
		if e.Shard == slowShard {
			killed = r
		} else {
			runs = append(runs, r)
		}
	}
	// The same shard twice at once: the claims keep the copies apart.
	dupShard := matrix.Include[0].Shard
	if dupShard == slowShard {
		dupShard = matrix.Include[1].Shard
	}
	runs = append(runs, startShard(t, dir, rebuild(dupShard)...))

	deadline := time.Now().Add(5 * time.Minute)
	for !strings.Contains(killed.err.String(), `"message":"slow-started"`) {
		if time.Now().After(deadline) {
			t.Fatalf("shard %s never reached %s's step:\n%s", slowShard, slowBake, tail(killed.err.String(), 4000))
		}
		time.Sleep(20 * time.Millisecond)
	}
	killed.cmd.Process.Signal(syscall.SIGKILL)
	killed.cmd.Wait()
	for _, r := range runs {
		r.wait(t, 10*time.Minute)
	}
	rerun := startShard(t, dir, rebuild(slowShard)...)
	rerun.wait(t, 5*time.Minute)
	if !strings.Contains(rerun.err.String(), "took over the claim of run") {
		t.Errorf("the rerun of shard %s did not take over the dead runner's claim:\n%s", slowShard, tail(rerun.err.String(), 4000))
	}

	// Every bake was baked once: one artifact event each over all runs,
	// the killed one's included.
	baked := map[string]int{}
	var runIDs []string
	for _, r := range append(runs, killed, rerun) {
		evs := events(t, lastFullLines(r.err.String()))
		runIDs = append(runIDs, runUUIDs(evs)...)
		for _, e := range evs {
			if e.Type == bake.EventArtifact {
				baked[strings.TrimPrefix(e.Source, "docker.")]++
			}
		}
	}
	for _, name := range names {
		if baked[name] != 1 {
			t.Errorf("%s baked %d times, want once", name, baked[name])
		}
	}
	total := 0
	for _, r := range append(runs, rerun) {
		for _, l := range strings.Split(r.out.String(), "\n") {
			if strings.Contains(l, "rebuilt, ") && strings.Contains(l, "0 failed") {
				total++
			}
		}
	}
	if total != len(runs)+1 {
		t.Errorf("%d of %d runs ended with 0 failed", total, len(runs)+1)
	}

	// What the killed runner left goes with gc; nothing else is left.
	if r := runBake(t, t.TempDir(), "gc"); r.code != 0 {
		t.Fatalf("gc: %s", r)
	}
	for _, id := range runIDs {
		cs, err := docker.ContainerList(context.Background(), container.ListOptions{All: true,
			Filters: filters.NewArgs(filters.Arg("label", bake.LabelRun+"="+id))})
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) > 0 {
			t.Errorf("run %s left %d containers after gc", id, len(cs))
		}
	}
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	left, err := ssm.NewFromConfig(cfg).GetParametersByPath(context.Background(), &ssm.GetParametersByPathInput{
		Path: aws.String("/bake/claims/" + prefix), Recursive: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len(left.Parameters) > 0 {
		t.Errorf("%d claims left in SSM, e.g. %s", len(left.Parameters), aws.ToString(left.Parameters[0].Name))
	}
	// Each image is in the registry, at the nightly's version.
	for _, name := range names {
		req, _ := http.NewRequest(http.MethodHead, fmt.Sprintf("http://%s/v2/%s/%s/manifests/%s", reg, prefix, name, version), nil)
		req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 && resp.StatusCode != 404 {
			t.Fatalf("registry: %s", resp.Status)
		}
		if resp.StatusCode == 404 {
			t.Errorf("%s/%s:%s is not in the registry", prefix, name, version)
		}
	}
}

// TestShardFlagsBadInput: bad shard, claim and promote flags are bad input
// (exit 2) that says what to do, found before anything runs.
func TestShardFlagsBadInput(t *testing.T) {
	t.Parallel()
	dir := writeBake(t, "source \"docker\" \"a\" {\n  image = \"x\"\n}\nbuild {\n  sources = [\"source.docker.a\"]\n}\n")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"plan", ".", "--shards", "0"}, "--shards 0: want 1 to 256"},
		{[]string{"rebuild", ".", "--nightly", "--shard", "5/4", "--version", "v1"}, "want I/N with 1 ≤ I ≤ N"},
		{[]string{"rebuild", ".", "--nightly", "--shard", "1/4"}, "needs --version"},
		{[]string{"rebuild", ".", "--nightly", "--claims", "s3", "--version", "v1"}, "want ssm or ssm:/PREFIX"},
		{[]string{"rebuild", ".", "--nightly", "--claims", "ssm", "--claim-lease", "1s", "--version", "v1"}, "want 3s or more"},
		{[]string{"promote", "x", "v1", "--channel", "prod", "--lock", "etcd"}, "--lock \"etcd\": want ssm"},
	} {
		r := runBake(t, dir, c.args...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("bake %s: want exit 2 and %q: %s", strings.Join(c.args, " "), c.want, r)
		}
	}
}

// removeImages removes the engine's images tagged in repositories under
// prefix (the bakes' artifacts), at the end of a test.
func removeImages(t *testing.T, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	list, err := docker.ImageList(ctx, image.ListOptions{})
	if err != nil {
		t.Errorf("clean up images %s*: %v", prefix, err)
		return
	}
	for _, img := range list {
		for _, tag := range img.RepoTags {
			if strings.HasPrefix(tag, prefix) {
				if _, err := docker.ImageRemove(ctx, tag, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil {
					t.Errorf("clean up image %s: %v", tag, err)
				}
			}
		}
	}
}
