package main

// The real-world Packer corpus (issue 13): public templates, taken
// unchanged, must validate with bake as they do with Packer. See
// testdata/packer-corpus/README.md for the SOURCE fields.

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
)

// corpusPassRatio is the share of corpus entries that must validate.
const corpusPassRatio = 0.95

// corpusEntry is one template of testdata/packer-corpus.
type corpusEntry struct {
	slug string
	root string            // the entry's directory
	src  map[string]string // its SOURCE fields
}

// loadCorpus reads the entries under dir, skipping _-prefixed ones
// unless bad is set, in which case it reads only those under dir/_bad.
func loadCorpus(t *testing.T, bad bool) []corpusEntry {
	t.Helper()
	dir := filepath.Join(repoRoot, "testdata", "packer-corpus")
	if bad {
		dir = filepath.Join(dir, "_bad")
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []corpusEntry
	for _, de := range des {
		if !de.IsDir() || (!bad && strings.HasPrefix(de.Name(), "_")) {
			continue
		}
		root := filepath.Join(dir, de.Name())
		b, err := os.ReadFile(filepath.Join(root, "SOURCE"))
		if err != nil {
			t.Fatalf("corpus entry %s: %v", de.Name(), err)
		}
		src := map[string]string{}
		for i, l := range strings.Split(string(b), "\n") {
			if strings.TrimSpace(l) == "" {
				continue
			}
			k, v, ok := strings.Cut(l, ":")
			if !ok {
				t.Fatalf("%s/SOURCE:%d: not a 'field: value' line: %q", de.Name(), i+1, l)
			}
			src[k] = strings.TrimSpace(v)
		}
		for _, k := range []string{"repo", "commit", "template", "builders", "buildable"} {
			if src[k] == "" {
				t.Fatalf("%s/SOURCE: no %s line", de.Name(), k)
			}
		}
		if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(src["commit"]) {
			t.Fatalf("%s/SOURCE: commit %q is not 40 hex digits", de.Name(), src["commit"])
		}
		out = append(out, corpusEntry{slug: de.Name(), root: root, src: src})
	}
	return out
}

// field returns a SOURCE field, or def when it is absent.
func (e corpusEntry) field(k, def string) string {
	if v := e.src[k]; v != "" {
		return v
	}
	return def
}

// workDir is where Packer is run from for this template.
func (e corpusEntry) workDir() string {
	return filepath.Join(e.root, e.field("template", "."), e.field("cwd", "."))
}

// args are bake's arguments for verb, as the repo runs Packer: its
// var file, the required variables SOURCE gives, a throw-away private
// key for key_var (a path that exists only on the repo's machines), and
// the target.
func (e corpusEntry) args(t *testing.T, verb string, extra ...string) []string {
	t.Helper()
	args := append([]string{verb}, extra...)
	if f := e.src["var_file"]; f != "" {
		args = append(args, "-var-file", f)
	}
	for _, v := range strings.Fields(e.src["vars"]) {
		args = append(args, "-var", v)
	}
	if k := e.src["key_var"]; k != "" {
		args = append(args, "-var", k+"="+throwawayKey(t))
	}
	return append(args, e.field("target", "."))
}

var (
	keyOnce sync.Once
	keyPath string
	keyErr  error
)

// throwawayKey writes an ed25519 private key, made for this test run,
// and returns its path.
func throwawayKey(t *testing.T) string {
	t.Helper()
	keyOnce.Do(func() {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			keyErr = err
			return
		}
		block, err := ssh.MarshalPrivateKey(priv, "bake corpus test")
		if err != nil {
			keyErr = err
			return
		}
		keyPath = filepath.Join(filepath.Dir(bakeBin), "corpus-key")
		keyErr = os.WriteFile(keyPath, pem.EncodeToMemory(block), 0o600)
	})
	if keyErr != nil {
		t.Fatalf("make a throw-away ssh key: %v", keyErr)
	}
	return keyPath
}

// missingProgram matches an error that names a program that is not
// installed and says how to install it: the one failure allowed.
var missingProgram = regexp.MustCompile(`(?is)(not installed|not found|no such (file|program)|executable file not found|not on (the )?PATH).*(apt-get install|apt install|pip install|pipx install|install it)`)

// errorLines returns bake's "error:" lines of stderr.
func errorLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "error:") || strings.HasPrefix(l, "Error:") {
			out = append(out, l)
		}
	}
	if len(out) == 0 && strings.TrimSpace(stderr) != "" {
		out = append(out, strings.SplitN(strings.TrimSpace(stderr), "\n", 2)[0])
	}
	return out
}

func TestPackerCorpus(t *testing.T) {
	entries := loadCorpus(t, false)
	if len(entries) < 40 {
		t.Fatalf("the corpus has %d templates, want at least 40", len(entries))
	}
	repos := map[string]bool{}
	for _, e := range entries {
		repos[e.src["repo"]] = true
	}
	if len(repos) < 40 {
		t.Errorf("the corpus comes from %d distinct repositories, want at least 40", len(repos))
	}

	var mu sync.Mutex
	var failures []corpusFailure
	passed := 0
	for _, e := range entries {
		t.Run(e.slug, func(t *testing.T) {
			dir := e.workDir()
			v := runBake(t, dir, e.args(t, "validate")...)
			i := runBake(t, dir, e.args(t, "inspect")...)
			if (v.code == 2) != (i.code == 2) {
				t.Errorf("validate exits %d but inspect exits %d: they must refuse the same templates\nvalidate: %s\ninspect: %s", v.code, i.code, v, i)
			}
			mu.Lock()
			defer mu.Unlock()
			if v.code == 0 {
				passed++
				return
			}
			failures = append(failures, corpusFailure{slug: e.slug, builders: e.src["builders"], code: v.code, stderr: v.stderr})
			if missingProgram.MatchString(v.stderr) {
				t.Logf("fails for a missing program (allowed): %s", strings.Join(errorLines(v.stderr), "\n"))
				return
			}
			t.Errorf("bake validate %s (in %s): %s", strings.Join(e.args(t, "validate")[1:], " "), dir, v)
		})
	}
	ratio := float64(passed) / float64(len(entries))
	t.Logf("bake validate passes %d of %d corpus templates (%.1f%%)", passed, len(entries), 100*ratio)
	writeCorpusReport(t, "validate", validateReport(passed, len(entries), failures))
	if ratio < corpusPassRatio {
		t.Errorf("bake validate passes %.1f%% of the corpus (%d of %d), want at least %.0f%%", 100*ratio, passed, len(entries), 100*corpusPassRatio)
	}
}

// TestPackerCorpusBadInput: a broken template gives the same diagnostics,
// all of them, in every run, and inspect refuses it as validate does.
func TestPackerCorpusBadInput(t *testing.T) {
	bad := loadCorpus(t, true)
	if len(bad) == 0 {
		t.Fatal("no entries under testdata/packer-corpus/_bad")
	}
	for _, e := range bad {
		t.Run(e.slug, func(t *testing.T) {
			dir := e.workDir()
			first := runBake(t, dir, e.args(t, "validate")...)
			if first.code != 2 {
				t.Fatalf("bake validate of a broken template exits %d, want 2: %s", first.code, first)
			}
			// The two mistakes of _bad/cquinta-broken, each reported.
			for _, want := range []string{"instance_size", "ssh_usernme"} {
				if !strings.Contains(first.stderr, want) {
					t.Errorf("the diagnostics do not name %q (all errors must be reported at once):\n%s", want, first.stderr)
				}
			}
			for run := 2; run <= 10; run++ {
				r := runBake(t, dir, e.args(t, "validate")...)
				if r.code != first.code || r.stderr != first.stderr {
					t.Fatalf("run %d differs from run 1:\n--- run 1 (exit %d)\n%s\n--- run %d (exit %d)\n%s", run, first.code, first.stderr, run, r.code, r.stderr)
				}
			}
			if i := runBake(t, dir, e.args(t, "inspect")...); i.code != 2 {
				t.Errorf("bake inspect exits %d where validate exits 2: %s", i.code, i)
			}
		})
	}
}

type corpusFailure struct {
	slug, builders string
	code           int
	stderr         string
}

// failureCauses sorts one failure's errors into causes, so that the
// report can say how many templates each gap refuses.
func failureCauses(stderr string) []string {
	rules := []struct {
		re    *regexp.Regexp
		cause string
	}{
		{regexp.MustCompile(`Unsupported argument: An argument named "([^"]+)"`), "argument %s unsupported"},
		{regexp.MustCompile(`Unsupported block type: Blocks of type "([^"]+)"`), "block %s unsupported"},
		{regexp.MustCompile(`Unknown data source type: data source type "([^"]+)"`), "data source %s refused"},
		{regexp.MustCompile(`invalid ami_name .*does not contain the version`), "ami_name must contain ${bake.version}"},
		{regexp.MustCompile(`invalid ami_name .*AMI names are`), "ami_name with Packer's {{timestamp}}-style functions refused"},
		{regexp.MustCompile(`invalid export_path`), "docker export_path refused"},
		{regexp.MustCompile(`Build has no sources`), "build with only dynamic/override sources refused"},
		{regexp.MustCompile(`Unset variable: variable "([^"]+)"`), "required variable %s unset"},
		{regexp.MustCompile(`Unsupported argument`), "unsupported argument"},
	}
	seen := map[string]bool{}
	var out []string
	for _, l := range errorLines(stderr) {
		cause := ""
		for _, r := range rules {
			if m := r.re.FindStringSubmatch(l); m != nil {
				if len(m) > 1 {
					cause = fmt.Sprintf(r.cause, m[1])
				} else {
					cause = r.cause
				}
				break
			}
		}
		if cause == "" {
			cause = "other: " + strings.TrimPrefix(l, "error: ")
			if m := regexp.MustCompile(`^other: [^:]+:\d+:\d+: (.*)$`).FindStringSubmatch(cause); m != nil {
				cause = "other: " + m[1]
			}
		}
		if !seen[cause] {
			seen[cause] = true
			out = append(out, cause)
		}
	}
	return out
}

func validateReport(passed, total int, failures []corpusFailure) string {
	var b strings.Builder
	fmt.Fprintf(&b, "== bake validate on testdata/packer-corpus: %d of %d pass (%.1f%%); %d fail\n", passed, total, 100*float64(passed)/float64(total), len(failures))
	fmt.Fprintf(&b, "   (go test ./cmd/bake -run 'TestPackerCorpus$' -v; each entry runs from the cwd in its SOURCE)\n\n")
	sort.Slice(failures, func(i, j int) bool { return failures[i].slug < failures[j].slug })
	count := map[string][]string{}
	for _, f := range failures {
		fmt.Fprintf(&b, "--- %s (%s) exit %d\n", f.slug, f.builders, f.code)
		lines := strings.Split(strings.TrimRight(f.stderr, "\n"), "\n")
		if len(lines) > 40 {
			lines = append(lines[:40], fmt.Sprintf("... (%d more lines)", len(lines)-40))
		}
		for _, l := range lines {
			fmt.Fprintf(&b, "    %s\n", l)
		}
		for _, c := range failureCauses(f.stderr) {
			count[c] = append(count[c], f.slug)
		}
	}
	causes := make([]string, 0, len(count))
	for c := range count {
		causes = append(causes, c)
	}
	sort.Slice(causes, func(i, j int) bool {
		if len(count[causes[i]]) != len(count[causes[j]]) {
			return len(count[causes[i]]) > len(count[causes[j]])
		}
		return causes[i] < causes[j]
	})
	fmt.Fprintf(&b, "\n== summary: failing templates by cause (a template counts under each cause it shows;\n   bake may stop at the first error, so fixing one cause can reveal the next)\n")
	for _, c := range causes {
		fmt.Fprintf(&b, "%3d  %s: %s\n", len(count[c]), c, strings.Join(count[c], " "))
	}
	return b.String()
}

// writeCorpusReport keeps section (validate or build) of the report file
// named by $BAKE_CORPUS_REPORT up to date; without it, it does nothing.
// Each section lives in its own file next to the report, and the report
// is their concatenation, so the two tests can run apart.
func writeCorpusReport(t *testing.T, section, text string) {
	t.Helper()
	path := os.Getenv("BAKE_CORPUS_REPORT")
	if path == "" {
		return
	}
	if err := os.WriteFile(path+"."+section, []byte(text), 0o644); err != nil {
		t.Errorf("write the corpus report: %v", err)
		return
	}
	var all strings.Builder
	for _, s := range []string{"validate", "build"} {
		b, err := os.ReadFile(path + "." + s)
		if err == nil {
			all.Write(b)
			all.WriteString("\n")
		}
	}
	if err := os.WriteFile(path, []byte(all.String()), 0o644); err != nil {
		t.Errorf("write the corpus report: %v", err)
	}
}

// TestPackerArgumentsAccepted: bake validate takes every argument of
// Packer's own provisioners and post-processors that bake implements
// itself (the plugins' blocks are decoded with the plugins' specs), so
// "Did you mean" never suggests a real Packer argument away.
func TestPackerArgumentsAccepted(t *testing.T) {
	r := runBake(t, repoRoot, "validate", "testdata/packer-args")
	if r.code != 0 || strings.Contains(r.stdout+r.stderr, "Did you mean") || strings.Contains(r.stdout+r.stderr, "not expected") {
		t.Fatalf("bake validate refused a real Packer argument: %s", r)
	}
}
