package packer

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"

	"github.com/zclconf/go-cty/cty"

	"github.com/bakehq/bake/bake"
)

// startInproc makes a fresh provisioner of a plugin built into bake
// (each Provision prepares its own, as each started plugin is new), and
// its temp dir.
func startInproc(p *Plugin) (*running, error) {
	tmp, err := os.MkdirTemp(socketDir(), "bake-packer-"+p.Name+"-")
	if err != nil {
		return nil, fmt.Errorf("packer provisioner %s: make its temp dir: %w", p.Name, err)
	}
	waited := make(chan struct{})
	close(waited)
	return &running{plugin: p, inproc: p.inproc(), tmp: tmp, stderr: bake.NewTail(8 << 10), waited: waited}, nil
}

// inprocConfig is v as a built-in runs it in a step: its local paths
// made absolute from dir (it shares bake's working directory, where a
// started plugin runs in dir), and, unless the block sets them, ansible's
// inventory, ssh control sockets and local temp files in the step's
// temp dir, so that the processes using them can be found and stopped
// (see killMentioning), and nothing stays behind.
func inprocConfig(r *running, v cty.Value, dir string) cty.Value {
	v = absPaths(v, dir)
	if r.plugin.Name != "ansible" {
		return v
	}
	v = withDefault(v, "inventory_directory", r.tmp)
	env := []string{
		"ANSIBLE_SSH_CONTROL_PATH_DIR=" + filepath.Join(r.tmp, "cp"),
		"ANSIBLE_LOCAL_TEMP=" + filepath.Join(r.tmp, "local"),
	}
	// Without use_sftp the plugin has ansible copy with scp, and its
	// adapter speaks scp's own protocol; OpenSSH 9's scp speaks SFTP
	// unless told -O (Packer's documented workaround), which would need
	// the plugin's sftp_command on the machine.
	if attr(v, "use_sftp") == "" && !boolAttr(v, "use_sftp") && scpSpeaksSFTP() {
		env = append(env, "ANSIBLE_SCP_EXTRA_ARGS=-O")
	}
	return withEnv(v, env...)
}

func boolAttr(v cty.Value, name string) bool {
	if v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() || !v.Type().HasAttribute(name) {
		return false
	}
	a := v.GetAttr(name)
	return a.IsKnown() && !a.IsNull() && a.Type() == cty.Bool && a.True()
}

var (
	scpOnce sync.Once
	scpSFTP bool
)

// scpSpeaksSFTP is whether this machine's scp is OpenSSH 9.0 or later,
// whose default protocol is SFTP.
func scpSpeaksSFTP() bool {
	scpOnce.Do(func() {
		out, _ := exec.Command("ssh", "-V").CombinedOutput()
		m := regexp.MustCompile(`OpenSSH_([0-9]+)\.`).FindSubmatch(out)
		if m != nil {
			major, _ := strconv.Atoi(string(m[1]))
			scpSFTP = major >= 9
		}
	})
	return scpSFTP
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
