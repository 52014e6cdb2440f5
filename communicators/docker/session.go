package docker

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"

	"github.com/bakehq/bake/bake"
)

// session is one long-lived /bin/sh in the container that runs commands
// one after another: each command is still its own `/bin/sh -c` process
// with its own environment, but costs no exec round trips (create,
// attach, inspect). After each command the shell prints a marker with a
// per-session nonce and the exit code on both streams; output before it
// is streamed to the command's writers as it comes.
type session struct {
	att    types.HijackedResponse
	marker []byte // "\x00BAKE<nonce>:"

	mu     sync.Mutex // one command at a time
	out    [2]*markerWriter
	done   chan int // exit codes, one per stream per command
	broken bool

	errMu   sync.Mutex
	readErr error
}

func (s *session) failed() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.readErr
}

func newSession(ctx context.Context, api API, id, user string) (*session, error) {
	created, err := api.ContainerExecCreate(ctx, id, container.ExecOptions{
		User: user, Cmd: []string{"/bin/sh"}, AttachStdin: true, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return nil, err
	}
	att, err := api.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, 8)
	rand.Read(nonce)
	s := &session{att: att, marker: []byte("\x00BAKE" + hex.EncodeToString(nonce) + ":"), done: make(chan int, 2)}
	for i := range s.out {
		s.out[i] = &markerWriter{s: s}
	}
	go s.read()
	return s, nil
}

// read demultiplexes the engine's stream (8-byte frame headers: stream,
// size) into the two marker writers.
func (s *session) read() {
	hdr := make([]byte, 8)
	buf := make([]byte, 32<<10)
	var err error
	for {
		if _, err = io.ReadFull(s.att.Reader, hdr); err != nil {
			break
		}
		n := int(binary.BigEndian.Uint32(hdr[4:]))
		w := s.out[0]
		if hdr[0] == 2 {
			w = s.out[1]
		}
		for n > 0 {
			k := min(n, len(buf))
			if _, err = io.ReadFull(s.att.Reader, buf[:k]); err != nil {
				break
			}
			w.feed(buf[:k])
			n -= k
		}
		if err != nil {
			break
		}
	}
	s.errMu.Lock()
	s.readErr = err
	s.errMu.Unlock()
	close(s.done)
}

// run runs one command; ok is false when the session cannot be used (the
// caller then falls back to a plain exec).
func (s *session) run(ctx context.Context, cmd *bake.RemoteCmd) (code int, ok bool, err error) {
	if !s.mu.TryLock() {
		return 0, false, nil // busy with another command: use an exec
	}
	defer s.mu.Unlock()
	if s.broken || s.failed() != nil {
		return 0, false, nil
	}
	s.out[0].begin(orDiscard(cmd.Stdout))
	s.out[1].begin(orDiscard(cmd.Stderr))
	var line strings.Builder
	if env := envList(cmd.Env); len(env) > 0 {
		line.WriteString("env ")
		for _, kv := range env {
			line.WriteString(bake.ShellQuote(kv) + " ")
		}
	}
	m := strings.ReplaceAll(string(s.marker[1:]), "%", "%%")
	fmt.Fprintf(&line, "/bin/sh -c %s </dev/null; __bake_s=$?; printf '\\000%s%%d\\000\\n' $__bake_s; printf '\\000%s%%d\\000\\n' $__bake_s >&2\n",
		bake.ShellQuote(cmd.Command), m, m)
	if _, err := io.WriteString(s.att.Conn, line.String()); err != nil {
		s.broken = true
		return 0, false, nil
	}
	codes := 0
	for codes < 2 {
		select {
		case c, open := <-s.done:
			if !open {
				s.broken = true
				return -1, true, fmt.Errorf("the session shell in the container ended: %v", s.failed())
			}
			code = c
			codes++
		case <-ctx.Done():
			// The marker sync is lost: this session is done.
			s.broken = true
			s.att.Close()
			return -1, true, ctx.Err()
		}
	}
	return code, true, nil
}

func (s *session) close() { s.att.Close() }

// markerWriter passes a stream's bytes to the current command's writer
// until the marker, holding back only what could be a marker's start.
type markerWriter struct {
	s       *session
	w       io.Writer
	pending []byte
}

func (m *markerWriter) begin(w io.Writer) { m.w = w }

func (m *markerWriter) feed(p []byte) {
	m.pending = append(m.pending, p...)
	for {
		i := bytes.Index(m.pending, m.s.marker)
		if i < 0 {
			break
		}
		end := bytes.Index(m.pending[i:], []byte("\x00\n"))
		if end < 0 {
			m.emit(m.pending[:i])
			m.pending = append(m.pending[:0], m.pending[i:]...)
			return
		}
		m.emit(m.pending[:i])
		code, err := strconv.Atoi(string(m.pending[i+len(m.s.marker) : i+end]))
		if err != nil {
			code = -1
		}
		m.pending = append(m.pending[:0], m.pending[i+end+2:]...)
		m.s.done <- code
	}
	// Keep a tail that could be the start of a marker.
	keep := 0
	for k := min(len(m.pending), len(m.s.marker)-1); k > 0; k-- {
		if bytes.HasPrefix(m.s.marker, m.pending[len(m.pending)-k:]) {
			keep = k
			break
		}
	}
	m.emit(m.pending[:len(m.pending)-keep])
	m.pending = append(m.pending[:0], m.pending[len(m.pending)-keep:]...)
}

func (m *markerWriter) emit(p []byte) {
	if len(p) > 0 && m.w != nil {
		m.w.Write(p)
	}
}
