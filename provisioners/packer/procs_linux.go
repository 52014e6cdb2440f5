package packer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// killMentioning kills this user's processes whose command line names
// dir: what an in-process provisioner started (ansible-playbook with its
// inventory there, ssh control masters with their sockets there), which
// it does not stop on cancel itself.
func killMentioning(dir string) error {
	if dir == "" {
		return nil
	}
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var errs []error
	for _, c := range cmdlines {
		b, err := os.ReadFile(c)
		if err != nil || !bytes.Contains(b, []byte(dir)) {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(c)))
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("kill %d (%q): %w", pid, bytes.ReplaceAll(b, []byte{0}, []byte{' '}), err))
		}
	}
	return errors.Join(errs...)
}
