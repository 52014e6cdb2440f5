package packer

import (
	"fmt"
	"io"
	"strings"

	"github.com/bakehq/bake/bake"
)

// ui shows what a plugin says as the step's output: Say as progress
// lines, Message (a command's stdout) and Error (its stderr) as output
// lines. It never answers questions: bake runs unattended.
type ui struct {
	log    bake.Log
	stdout *bake.LineWriter
	stderr *bake.LineWriter
	errs   *bake.Tail // what the plugin reported as errors, for the failure
	out    *bake.Tail // its last messages (a command's stdout), for the failure
}

func newUI(log bake.Log) *ui {
	return &ui{log: log, stdout: log.Stdout(), stderr: log.Stderr(), errs: bake.NewTail(bake.TailBytes), out: bake.NewTail(bake.TailBytes)}
}

func (u *ui) Ask(q string) (string, error) {
	return "", fmt.Errorf("the plugin asked %q; bake runs unattended and answers no questions", q)
}

func (u *ui) Askf(q string, args ...any) (string, error) { return u.Ask(fmt.Sprintf(q, args...)) }

func (u *ui) Say(msg string) { u.log.Info(strings.TrimRight(msg, "\n")) }

func (u *ui) Sayf(msg string, args ...any) { u.Say(fmt.Sprintf(msg, args...)) }

func (u *ui) Message(msg string) {
	msg = strings.TrimRight(msg, "\n") + "\n"
	io.WriteString(u.stdout, msg)
	io.WriteString(u.out, msg)
}

func (u *ui) Error(msg string) {
	msg = strings.TrimRight(msg, "\n") + "\n"
	io.WriteString(u.stderr, msg)
	io.WriteString(u.errs, msg)
}

func (u *ui) Errorf(msg string, args ...any) { u.Error(fmt.Sprintf(msg, args...)) }

// Machine is Packer's machine-readable output; bake's events carry it.
func (u *ui) Machine(string, ...string) {}

// close flushes partial lines.
func (u *ui) close() {
	u.stdout.Close()
	u.stderr.Close()
}

// TrackProgress shows no progress bar: the stream passes through.
func (u *ui) TrackProgress(_ string, _, _ int64, stream io.ReadCloser) io.ReadCloser {
	return stream
}
