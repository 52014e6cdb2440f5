package packer_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bakehq/bake/internal/testenv"
)

// These tests bake with packer-plugin-ansible v1.1.2, built into bake,
// and Debian's ansible: a real playbook against a real container, over
// the plugin's SSH adapter (ansible) and on the machine (ansible-local).

func needAnsible(t *testing.T) {
	t.Helper()
	needPackerAndDocker(t)
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		testenv.SkipOrFail(t, "ansible-playbook not installed (apt-get install ansible)")
	}
}

// aptProxy is hack/setup-recipes.sh's apt-cacher-ng as containers reach
// it, as an http_proxy= prefix, or "" (apt then uses the mirror).
func aptProxy(t *testing.T) string {
	if p, ok := os.LookupEnv("BAKE_TEST_APT_PROXY"); ok {
		return "http_proxy=" + p + " "
	}
	c, err := net.DialTimeout("tcp", "127.0.0.1:3142", time.Second)
	if err != nil {
		return ""
	}
	c.Close()
	out, err := exec.Command("docker", "network", "inspect", "bridge", "-f", "{{(index .IPAM.Config 0).Gateway}}").Output()
	if gw := strings.TrimSpace(string(out)); err == nil && gw != "" {
		return "http_proxy=http://" + gw + ":3142 "
	}
	return ""
}

const playbook = `- hosts: all
  gather_facts: true
  tasks:
    - name: write who baked it
      copy:
        dest: /ansible-was-here
        content: "{{ packer_build_name }} {{ packer_builder_type }} {{ greeting }} {{ ansible_distribution }}\n"
    - name: say hello
      command: echo hello from ansible
`

func TestAnsibleBakes(t *testing.T) {
	needAnsible(t)
	for _, tc := range []struct{ name, block string }{
		{"ansible", `  provisioner "ansible" {
    playbook_file   = "playbook.yml"
    extra_arguments = ["-e", "greeting=hi-{{ build_name }}"]
  }`},
		{"ansible-local", `  provisioner "ansible-local" {
    playbook_file   = "playbook.yml"
    extra_arguments = ["-e", "greeting=hi-{{ build_name }}"]
  }`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// ansible needs python3 on the machine; ansible-local needs
			// ansible itself there.
			pkgs := "python3"
			if tc.name == "ansible-local" {
				pkgs = "ansible-core"
			}
			proxy := aptProxy(t)
			repo, version := "bake-test/packer-"+tc.name, uniq("v")
			removeImage(t, repo+":"+version)
			dir := writeBake(t, bakeFile(repo, fmt.Sprintf(`  provisioner "shell" {
    inline = ["%sapt-get update -qq && %sapt-get install -y -qq --no-install-recommends %s >/dev/null"]
  }
%s`, proxy, proxy, pkgs, tc.block)))
			if err := os.WriteFile(filepath.Join(dir, "playbook.yml"), []byte(playbook), 0o644); err != nil {
				t.Fatal(err)
			}
			// --no-cache: a step cache hit (an earlier run on this engine) would
			// run no playbook, and this test is about ansible running.
			r := bakeDir(t, context.Background(), dir, nil, "build", "--json", "--no-cache", "--version", version, ".")
			if r.code != 0 {
				t.Fatalf("bake: %s", r)
			}
			assertNothingLeft(t, runUUID(events(t, r.stdout)))
			if !strings.Contains(r.stdout, "hello from ansible") && !strings.Contains(r.stdout, "say hello") {
				t.Errorf("ansible's output did not reach the events: %s", r)
			}
			out, err := exec.Command("docker", "run", "--rm", repo+":"+version, "cat", "/ansible-was-here").CombinedOutput()
			if want := "app docker hi-app Debian"; err != nil || strings.TrimSpace(string(out)) != want {
				t.Errorf("the playbook did not run in the image: %v %q, want %q", err, out, want)
			}
		})
	}
}

// TestAnsibleMissing: without ansible-playbook, the block is refused at
// its file:line with what to install.
func TestAnsibleMissing(t *testing.T) {
	block := `  provisioner "ansible" {
    playbook_file = "playbook.yml"
  }`
	dir := writeBake(t, bakeFile("bake-test/packer-no-ansible", block))
	if err := os.WriteFile(filepath.Join(dir, "playbook.yml"), []byte(playbook), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", t.TempDir())
	r := bakeDir(t, context.Background(), dir, nil, "validate", ".")
	if r.code != 2 {
		t.Fatalf("bake validate without ansible must be bad input (exit 2): %s", r)
	}
	for _, w := range []string{at(block, "provisioner"), "ansible-playbook", "apt-get install ansible", "pip install ansible"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("error lacks %q: %s", w, r)
		}
	}
}

// TestAnsibleCancel: Ctrl-C during a playbook's long task stops
// ansible-playbook (which does not see bake's context) and its ssh
// processes, and leaves no container or temp file.
func TestAnsibleCancel(t *testing.T) {
	needAnsible(t)
	proxy := aptProxy(t)
	dir := writeBake(t, bakeFile("bake-test/packer-ansible-cancel", fmt.Sprintf(`  provisioner "shell" {
    inline = ["%sapt-get update -qq && %sapt-get install -y -qq --no-install-recommends python3 >/dev/null"]
  }
  provisioner "ansible" {
    playbook_file = "playbook.yml"
  }`, proxy, proxy)))
	long := "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: wait a long time\n      command: sleep 300\n"
	if err := os.WriteFile(filepath.Join(dir, "playbook.yml"), []byte(long), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	onOut := func(s string) {
		if strings.Contains(s, "TASK [wait a long time]") {
			cancel()
		}
	}
	start := time.Now()
	r := bakeDir(t, ctx, dir, onOut, "build", "--json", "--version", uniq("v"), ".")
	if r.code == 0 {
		t.Fatalf("bake must fail: %s", r)
	}
	if !strings.Contains(r.stdout, "TASK [wait a long time]") {
		t.Fatalf("the playbook never started its task: %s", r)
	}
	if d := time.Since(start); d > 3*time.Minute {
		t.Errorf("stopping took %s", d)
	}
	assertNothingLeft(t, runUUID(events(t, r.stdout)))
	out, _ := exec.Command("pgrep", "-af", "ansible-playbook").Output()
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.Contains(l, filepath.Base(dir)) {
			t.Errorf("left running: %s", l)
		}
	}
}
