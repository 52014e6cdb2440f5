package bake

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestCacheKeys(t *testing.T) {
	t.Parallel()
	base := Base{Digest: "sha256:b"}
	mk := func(inputs ...string) *Job {
		j := &Job{SourceInputs: []byte("src")}
		for i, in := range inputs {
			j.Steps = append(j.Steps, Step{Name: "s" + string(rune('1'+i)), Inputs: []byte(in), Provisioner: cmdProv(in)})
		}
		return j
	}
	a := CacheKeys(base, mk("one", "two", "three"))
	b := CacheKeys(base, mk("one", "two", "THREE"))
	if a[0] != b[0] || a[1] != b[1] || a[2] == b[2] {
		t.Errorf("a changed last step must change only the last key:\n%v\n%v", a, b)
	}
	c := CacheKeys(base, mk("ONE", "two", "three"))
	for i := range a {
		if a[i] == c[i] {
			t.Errorf("key %d did not change when step 1 did", i)
		}
	}
	if d := CacheKeys(Base{Digest: "sha256:other"}, mk("one", "two", "three")); d[0] == a[0] {
		t.Error("a new base did not change the keys")
	}
	off := mk("one", "two", "three")
	f := false
	off.Steps[1].Cache = &f
	if k := CacheKeys(base, off); k[0] != a[0] || k[1] != "" || k[2] != "" {
		t.Errorf("cache = false must end the chain: %v", k)
	}
	s1, s2 := mk("one"), mk("one")
	s1.Secrets, s2.Secrets = []string{"hunter2"}, []string{"hunter3"}
	k1, k2 := CacheKeys(base, s1), CacheKeys(base, s2)
	if k1[0] == k2[0] || strings.Contains(k1[0], "hunter") {
		t.Errorf("secrets: %v %v", k1, k2)
	}
}

// cachingBuilder is a fakeBuilder with a step cache.
type cachingBuilder struct {
	*fakeBuilder
	saved    map[string]bool
	bootedAt string
}

func (b *cachingBuilder) CachedKeys(ctx context.Context, keys []string) (map[string]bool, error) {
	return b.saved, nil
}

func (b *cachingBuilder) BootCached(ctx context.Context, base Base, key string, log Log) (Machine, error) {
	b.bootedAt = key
	return &checkpointMachine{fakeMachine{b.fakeBuilder}, b}, nil
}

func (b *cachingBuilder) Boot(ctx context.Context, base Base, log Log) (Machine, error) {
	return &checkpointMachine{fakeMachine{b.fakeBuilder}, b}, nil
}

type checkpointMachine struct {
	fakeMachine
	b *cachingBuilder
}

func (m *checkpointMachine) Checkpoint(ctx context.Context, key, comment string) error {
	m.b.saved[key] = true
	return nil
}

func TestRunUsesCache(t *testing.T) {
	t.Parallel()
	b := &cachingBuilder{fakeBuilder: &fakeBuilder{comm: newFakeComm()}, saved: map[string]bool{}}
	yes := true
	j := job(nil, "one", "two", "three")
	j.Builder = b
	for i := range j.Steps {
		j.Steps[i].Inputs = []byte(j.Steps[i].Name)
	}
	j.Steps[0].Cache, j.Steps[1].Cache = &yes, &yes // step 3 is auto and quick: not saved
	o := RunOptions{Cache: true, CacheMinDuration: time.Hour}
	if res := Run(context.Background(), []*Job{j}, o); res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	if len(b.saved) != 2 {
		t.Fatalf("saved %d steps, want 2", len(b.saved))
	}
	b.comm.ran = nil
	ev := &events{}
	o.Reporter = ev
	if res := Run(context.Background(), []*Job{j}, o); res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	if got := strings.Join(b.comm.ran, ","); got != "three" {
		t.Errorf("second run ran %q, want only three", got)
	}
	if n := strings.Count(ev.text(), EventStepCached); n != 2 {
		t.Errorf("%d steps reported cached:\n%s", n, ev.text())
	}
	keys := CacheKeys(Base{Digest: "sha256:base"}, j)
	if b.bootedAt != keys[1] {
		t.Errorf("booted from %q, want step 2's key", b.bootedAt)
	}
	b.comm.ran = nil
	o.Cache = false
	Run(context.Background(), []*Job{j}, o)
	if got := strings.Join(b.comm.ran, ","); got != "one,two,three" {
		t.Errorf("--no-cache ran %q", got)
	}
}

// factProv reports a label and an image command, like a recipe.
type factProv struct{ ran *int }

func (p factProv) Provision(ctx context.Context, t *Target) error { *p.ran++; return nil }
func (p factProv) ArtifactLabels() map[string]string {
	return map[string]string{"dev.bake.recipe.x.count": "3", LabelVersion: "spoofed"}
}
func (p factProv) ImageCmd() string { return "/usr/local/sbin/bake-services" }

func TestFactsNeverCachedWithoutAFactCache(t *testing.T) {
	t.Parallel()
	b := &cachingBuilder{fakeBuilder: &fakeBuilder{comm: newFakeComm()}, saved: map[string]bool{}}
	yes := true
	ran := 0
	j := job(nil, "one")
	j.Builder = b
	j.Steps = append(j.Steps, Step{Name: "recipe", Provisioner: factProv{&ran}, Cache: &yes, Inputs: []byte("r")})
	j.Steps[0].Cache = &yes
	o := RunOptions{Cache: true, Version: "v1"}
	for i := 0; i < 2; i++ {
		if res := Run(context.Background(), []*Job{j}, o); res[0].Err != nil {
			t.Fatal(res[0].Err)
		}
	}
	if ran != 2 {
		t.Errorf("the fact-reporting step ran %d times in 2 bakes; it must never be skipped", ran)
	}
	if len(b.saved) != 1 {
		t.Errorf("saved %d steps, want only the one before the facts", len(b.saved))
	}
	l := b.captured.Labels
	if l["dev.bake.recipe.x.count"] != "3" || l[LabelVersion] != "v1" {
		t.Errorf("labels %v: facts missing, or a provisioner overrode bake's own", l)
	}
	if strings.Join(b.captured.Cmd, " ") != "/usr/local/sbin/bake-services" {
		t.Errorf("cmd %v", b.captured.Cmd)
	}
}

// factCachingBuilder is a cachingBuilder that keeps facts with its
// entries, as the Docker builder does.
type factCachingBuilder struct {
	*cachingBuilder
	facts map[string][]StepFacts
}

func (b *factCachingBuilder) CachedFacts(ctx context.Context, key string) ([]StepFacts, bool, error) {
	f, ok := b.facts[key]
	return f, ok, nil
}

func (b *factCachingBuilder) BootCached(ctx context.Context, base Base, key string, log Log) (Machine, error) {
	b.bootedAt = key
	return &factMachine{checkpointMachine{fakeMachine{b.fakeBuilder}, b.cachingBuilder}, b}, nil
}

func (b *factCachingBuilder) Boot(ctx context.Context, base Base, log Log) (Machine, error) {
	return &factMachine{checkpointMachine{fakeMachine{b.fakeBuilder}, b.cachingBuilder}, b}, nil
}

type factMachine struct {
	checkpointMachine
	fb *factCachingBuilder
}

func (m *factMachine) CheckpointFacts(ctx context.Context, key, comment string, facts []StepFacts) error {
	m.fb.saved[key] = true
	m.fb.facts[key] = append([]StepFacts(nil), facts...)
	return nil
}

// TestFactsComeFromTheCache: with a cache that keeps facts, a
// fact-reporting step is a cache hit and the artifact still gets its
// labels and command; an entry saved without facts is not trusted past
// the first fact-reporting step.
func TestFactsComeFromTheCache(t *testing.T) {
	t.Parallel()
	b := &factCachingBuilder{cachingBuilder: &cachingBuilder{fakeBuilder: &fakeBuilder{comm: newFakeComm()}, saved: map[string]bool{}},
		facts: map[string][]StepFacts{}}
	yes := true
	ran := 0
	j := job(nil, "one")
	j.Builder = b
	j.Steps = append(j.Steps, Step{Name: "recipe", Provisioner: factProv{&ran}, Inputs: []byte("r")}, Step{Name: "three", Provisioner: cmdProv("three"), Cache: &yes, Inputs: []byte("3")})
	j.Steps[0].Cache = &yes
	o := RunOptions{Cache: true, Version: "v1", CacheMinDuration: time.Hour}
	check := func(when string) {
		t.Helper()
		l := b.captured.Labels
		if l["dev.bake.recipe.x.count"] != "3" || l[LabelVersion] != "v1" || strings.Join(b.captured.Cmd, " ") != "/usr/local/sbin/bake-services" {
			t.Errorf("%s: labels %v, cmd %v: the recipe's facts are missing", when, l, b.captured.Cmd)
		}
	}
	for i := 0; i < 2; i++ {
		if res := Run(context.Background(), []*Job{j}, o); res[0].Err != nil {
			t.Fatal(res[0].Err)
		}
		check(fmt.Sprintf("bake %d", i+1))
	}
	if ran != 1 {
		t.Errorf("the fact-reporting step ran %d times in 2 bakes, want 1 (the second from the cache)", ran)
	}
	keys := CacheKeys(Base{Digest: "sha256:base"}, j)
	if b.bootedAt != keys[2] || len(b.facts[keys[2]]) != 3 {
		t.Errorf("booted from %q (want the last step's key); facts saved %v", b.bootedAt, b.facts[keys[2]])
	}

	// An entry without facts (an older bake's): run from the recipe on.
	delete(b.facts, keys[2])
	b.comm.ran = nil
	if res := Run(context.Background(), []*Job{j}, o); res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	check("bake from an entry without facts")
	if ran != 2 || strings.Join(b.comm.ran, ",") != "three" {
		t.Errorf("recipe ran %d times in all, then %v: want the recipe and step three to run again", ran, b.comm.ran)
	}
}

// volatileProv upgrades packages: what it does depends on the day.
type volatileProv struct{ cmdProv }

func (volatileProv) Volatile() bool { return true }

func TestVolatileStepEndsTheCacheChain(t *testing.T) {
	t.Parallel()
	base := Base{Digest: "sha256:b"}
	yes := true
	j := &Job{SourceInputs: []byte("src"), Steps: []Step{
		{Name: "one", Inputs: []byte("1"), Provisioner: cmdProv("one")},
		{Name: "patch", Inputs: []byte("p"), Provisioner: volatileProv{"patch"}},
		{Name: "three", Inputs: []byte("3"), Provisioner: cmdProv("three")},
	}}
	if k := CacheKeys(base, j); k[0] == "" || k[1] != "" || k[2] != "" {
		t.Errorf("a package upgrade must end the chain: %q", k)
	}
	j.Steps[1].Cache = &yes
	if k := CacheKeys(base, j); k[1] == "" || k[2] == "" {
		t.Errorf("cache = true on the upgrade must cache it: %q", k)
	}
}
