package main

// Real builds of the corpus entries SOURCE marks buildable: docker ones
// on the local engine (their base images re-tagged from the local Debian
// image), amazon-ebs ones against the sim.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/internal/testenv"
	"github.com/bakehq/bake/sim"
)

// templateText is the text of an entry's template files (and auto
// var files), for the names the test expects.
func (e corpusEntry) templateText(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(e.root, e.field("template", "."))
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	target := e.field("target", ".")
	var b strings.Builder
	for _, de := range des {
		n := de.Name()
		if !strings.HasSuffix(n, ".pkr.hcl") && !strings.HasSuffix(n, ".pkrvars.hcl") {
			continue
		}
		if strings.HasSuffix(target, ".pkr.hcl") && strings.HasSuffix(n, ".pkr.hcl") && filepath.Base(target) != n {
			continue
		}
		body, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		b.Write(body)
		b.WriteString("\n")
	}
	return b.String()
}

var (
	reImage    = regexp.MustCompile(`(?m)^\s*(?:(?:docker_)?image\s*=\s*"([^"$]+)"|default\s*=\s*"((?:ubuntu|debian):[^"$]+)")`)
	reRepo     = regexp.MustCompile(`(?m)^\s*repository\s*=\s*"([^"$]+)"`)
	reTags     = regexp.MustCompile(`(?m)^\s*tags?\s*=\s*\[?\s*("[^"$]+"(?:\s*,\s*"[^"$]+")*)`)
	reAMIName  = regexp.MustCompile(`(?m)^\s*ami_name\s*=\s*"([^"]*)"`)
	reLitTag   = regexp.MustCompile(`(?m)^\s*"?([A-Za-z][A-Za-z0-9_-]*)"?\s*=\s*"([^"${}]+)"\s*$`)
	reManifest = regexp.MustCompile(`post-processor\s+"manifest"\s*\{([^}]*)\}`)
	reSrcName  = regexp.MustCompile(`source\s+"amazon-ebs"\s+"([^"]+)"`)
)

// corpusBuild runs one bake build with a deadline and returns its result.
func corpusBuild(t *testing.T, e corpusEntry) result {
	t.Helper()
	return runBake(t, e.workDir(), e.args(t, "build", "--json")...)
}

func TestPackerCorpusBuild(t *testing.T) {
	var dockerEntries, amazonEntries []corpusEntry
	for _, e := range loadCorpus(t, false) {
		bu := e.src["buildable"]
		if strings.Contains(bu, "docker") {
			dockerEntries = append(dockerEntries, e)
		}
		if strings.Contains(bu, "sim") {
			amazonEntries = append(amazonEntries, e)
		}
	}
	// Issue 13 asks for at least 8 amazon-ebs entries built on the sim.
	if len(amazonEntries) < 8 {
		t.Errorf("%d amazon-ebs corpus entries are buildable on the sim, issue 13 wants at least 8", len(amazonEntries))
	}
	var mu sync.Mutex
	var failed, built []string
	// flush rewrites the build section of the report after every entry,
	// so that a long run reports as it goes.
	flush := func() {
		sort.Strings(failed)
		sort.Strings(built)
		writeCorpusReport(t, "build", fmt.Sprintf("== build failures (TestPackerCorpusBuild: %d docker and %d amazon-ebs entries buildable; so far %d built: %s; %d failed)\n%s\n",
			len(dockerEntries), len(amazonEntries), len(built), strings.Join(built, " "), len(failed), strings.Join(failed, "\n")))
	}
	record := func(t *testing.T, slug string, r result) {
		mu.Lock()
		defer mu.Unlock()
		if r.code == 0 && !t.Failed() {
			built = append(built, slug)
		} else {
			failed = append(failed, fmt.Sprintf("--- %s (exit %d)\n%s", slug, r.code, indent(r.stderr)))
		}
		flush()
	}

	t.Run("docker", func(t *testing.T) {
		needDocker(t)
		// The entries run one at a time: several re-tag the same base
		// names (ubuntu:jammy, ubuntu:22.04) and one tags over its base.
		for _, e := range dockerEntries {
			t.Run(e.slug, func(t *testing.T) {
				text := e.templateText(t)
				retagBases(t, text)
				r := corpusBuild(t, e)
				defer func() { record(t, e.slug, r) }()
				evs := events(t, r.stdout)
				for _, run := range runUUIDs(evs) {
					assertNothingLeft(t, run)
					t.Cleanup(func() { removeRunImages(t, run) })
				}
				if r.code != 0 {
					t.Fatalf("bake build: %s", r)
				}
				for _, ref := range taggedRefs(text) {
					removeImage(t, ref)
					if _, err := docker.ImageInspect(context.Background(), ref); err != nil {
						t.Errorf("the template's docker-tag %s is not on the engine: %v", ref, err)
					}
				}
			})
		}
	})

	t.Run("amazon-ebs", func(t *testing.T) {
		s := testenv.StartSim(t, sim.Options{})
		testenv.UseSim(t, s.Endpoint())
		for _, e := range amazonEntries {
			t.Run(e.slug, func(t *testing.T) {
				text := e.templateText(t)
				if strings.Contains(e.src["builders"], "docker") {
					retagBases(t, text)
				}
				secret := simSecret(t, e)
				start := time.Now().UTC().Add(-time.Minute)
				r := corpusBuild(t, e)
				defer func() { record(t, e.slug, r) }()
				if r.code != 0 {
					t.Fatalf("bake build: %s", r)
				}
				if secret != "" && strings.Contains(r.stdout+r.stderr, secret) {
					t.Errorf("the Secrets Manager value reached bake's output")
				}
				checkAMIs(t, e, text, start)
			})
		}
	})
}

// retagBases tags the local Debian image as every literal base image of
// the template that the engine does not have, and removes those tags
// when the test ends.
func retagBases(t *testing.T, text string) {
	t.Helper()
	ctx := context.Background()
	for _, m := range reImage.FindAllStringSubmatch(text, -1) {
		ref := m[1] + m[2]
		if !strings.Contains(ref, ":") {
			ref += ":latest"
		}
		if _, err := docker.ImageInspect(ctx, ref); err == nil {
			continue
		}
		if err := docker.ImageTag(ctx, baseImage, ref); err != nil {
			t.Fatalf("tag %s as %s: %v", baseImage, ref, err)
		}
		t.Cleanup(func() {
			if _, err := docker.ImageRemove(context.Background(), ref, image.RemoveOptions{}); err != nil {
				t.Logf("remove the tag %s: %v", ref, err)
			}
		})
	}
}

// taggedRefs are the repository:tag pairs the template's docker-tag
// post-processors name literally.
func taggedRefs(text string) []string {
	var out []string
	for _, block := range strings.Split(text, `post-processor "docker-tag"`)[1:] {
		end := strings.Index(block, "}")
		if end < 0 {
			continue
		}
		body := block[:end]
		repo := reRepo.FindStringSubmatch(body)
		tags := reTags.FindStringSubmatch(body)
		if repo == nil || tags == nil {
			continue
		}
		for _, tg := range regexp.MustCompile(`"([^"]+)"`).FindAllStringSubmatch(tags[1], -1) {
			out = append(out, repo[1]+":"+tg[1])
		}
	}
	return out
}

// checkAMIs asserts what Packer would leave: an AMI per source, named as
// the template's ami_name begins, with its literal tags, a manifest
// entry when the template has a manifest post-processor, and no instance
// still running.
func checkAMIs(t *testing.T, e corpusEntry, text string, since time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := ec2.NewFromConfig(cfg)
	out, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}})
	if err != nil {
		t.Fatal(err)
	}
	var mine []ec2types.Image
	for _, im := range out.Images {
		if created, err := time.Parse(time.RFC3339, aws.ToString(im.CreationDate)); err == nil && created.Before(since) {
			continue
		}
		mine = append(mine, im)
	}
	if len(mine) == 0 {
		t.Fatalf("no AMI registered by this build")
	}
	for _, m := range reAMIName.FindAllStringSubmatch(text, -1) {
		prefix := m[1]
		if i := strings.IndexAny(prefix, "${"); i >= 0 {
			prefix = prefix[:i]
		}
		found := false
		for _, im := range mine {
			found = found || strings.HasPrefix(aws.ToString(im.Name), prefix)
		}
		if !found {
			t.Errorf("no AMI named %q... (the template's ami_name %q) among %d new AMIs", prefix, m[1], len(mine))
		}
	}
	if i := strings.Index(text, "tags = {"); i >= 0 {
		end := strings.Index(text[i:], "}")
		for _, kv := range reLitTag.FindAllStringSubmatch(text[i:i+end], -1) {
			found := false
			for _, im := range mine {
				for _, tg := range im.Tags {
					found = found || (aws.ToString(tg.Key) == kv[1] && aws.ToString(tg.Value) == kv[2])
				}
			}
			if !found {
				t.Errorf("no new AMI has the template's tag %s = %q", kv[1], kv[2])
			}
		}
	}
	if m := reManifest.FindStringSubmatch(text); m != nil {
		path := "packer-manifest.json"
		if o := regexp.MustCompile(`output\s*=\s*"([^"$]+)"`).FindStringSubmatch(m[1]); o != nil {
			path = o[1]
		}
		path = filepath.Join(e.workDir(), path)
		t.Cleanup(func() { os.Remove(path) })
		checkManifest(t, path, reSrcName.FindAllStringSubmatch(text, -1))
	}
	insts, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range insts.Reservations {
		for _, in := range r.Instances {
			if in.State != nil && in.State.Name != ec2types.InstanceStateNameTerminated && in.State.Name != ec2types.InstanceStateNameShuttingDown {
				t.Errorf("instance %s is left %s after the build", aws.ToString(in.InstanceId), in.State.Name)
			}
		}
	}
}

// checkManifest reads a Packer manifest: builds[] with name (the source
// name), builder_type amazon-ebs and artifact_id "region:ami-...".
func checkManifest(t *testing.T, path string, sources [][]string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("the template has a manifest post-processor but %v", err)
		return
	}
	var m struct {
		Builds []struct {
			Name        string `json:"name"`
			BuilderType string `json:"builder_type"`
			ArtifactID  string `json:"artifact_id"`
		} `json:"builds"`
		LastRunUUID string `json:"last_run_uuid"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Errorf("manifest %s: %v", path, err)
		return
	}
	names := map[string]bool{}
	for _, bd := range m.Builds {
		names[bd.Name] = true
		if bd.BuilderType != "amazon-ebs" || !regexp.MustCompile(`^[a-z0-9-]+:ami-[0-9a-f]+$`).MatchString(bd.ArtifactID) {
			t.Errorf("manifest build %+v: want builder_type amazon-ebs and artifact_id region:ami-...", bd)
		}
	}
	for _, s := range sources {
		if !names[s[1]] {
			t.Errorf("manifest %s has no build named %q (the source name): %s", path, s[1], b)
		}
	}
	if m.LastRunUUID == "" {
		t.Errorf("manifest %s has no last_run_uuid", path)
	}
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > 30 {
		lines = append(lines[len(lines)-30:], "")
	}
	return "    " + strings.Join(lines, "\n    ")
}

// simSecret creates the Secrets Manager secret an entry's data source
// reads (SOURCE's sim_secret: NAME KEY VALUE) in the sim, and returns
// the value, which must never reach bake's output.
func simSecret(t *testing.T, e corpusEntry) string {
	t.Helper()
	f := strings.Fields(e.src["sim_secret"])
	if len(f) == 0 {
		return ""
	}
	if len(f) != 3 {
		t.Fatalf("%s: sim_secret wants NAME KEY VALUE, got %q", e.slug, e.src["sim_secret"])
	}
	ctx := context.Background()
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]string{f[1]: f[2]})
	if _, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String(f[0]), SecretString: aws.String(string(b))}); err != nil {
		t.Fatalf("create the secret %s in the sim: %v", f[0], err)
	}
	return f[2]
}

// removeRunImages removes the images a bake run made (its artifacts carry
// the run's label), so the corpus leaves the engine as it found it.
func removeRunImages(t *testing.T, run string) {
	ctx := context.Background()
	is, err := docker.ImageList(ctx, image.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", bake.LabelRun+"="+run))})
	if err != nil {
		t.Errorf("list the images of run %s: %v", run, err)
		return
	}
	for _, im := range is {
		if _, err := docker.ImageRemove(ctx, im.ID, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil {
			t.Logf("remove image %s of run %s: %v", im.ID, run, err)
		}
	}
}
