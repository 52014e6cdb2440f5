package packer

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel kill the plugin if bake itself is killed
// (SIGKILL, a crash) before it could.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
