package bake

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// verifyServer serves page after the first few requests, which get 503
// (a service still starting).
func verifyServer(t *testing.T, page string, starting int32) VerifyTarget {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= starting {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, page)
	}))
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	return VerifyTarget{What: "test server", Comm: newFakeComm(), Addr: func(port int) (string, error) {
		if port != 80 {
			return "", fmt.Errorf("port %d is not published", port)
		}
		return addr, nil
	}}
}

func bootTo(t VerifyTarget) func(context.Context, Log) (VerifyTarget, error) {
	return func(context.Context, Log) (VerifyTarget, error) { return t, nil }
}

type eventLog struct {
	mu  sync.Mutex
	evs []Event
}

func (l *eventLog) Report(e Event) { l.mu.Lock(); l.evs = append(l.evs, e); l.mu.Unlock() }

func (l *eventLog) results() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.evs {
		if r := e.Fields["verify_result"]; r != "" {
			out = append(out, r+" "+e.Fields["verify_check"])
		}
	}
	return out
}

func TestVerify(t *testing.T) {
	t.Parallel()
	// Only this test reads it.
	grace := verifyAnswerGrace
	verifyAnswerGrace = 2 * time.Second
	t.Cleanup(func() { verifyAnswerGrace = grace })
	tgt := verifyServer(t, "<p>version 1.2.3</p>", 3)
	comm := tgt.Comm.(*fakeComm)
	comm.exit["false"] = 1
	comm.out["false"] = "it went wrong\n"
	spec := &VerifySpec{Inline: []string{"nginx -t"}, HTTP: []HTTPCheck{{Port: 80, Contains: "version 1.2.3"}}, Timeout: 10 * time.Second}

	t.Run("pass after the service starts", func(t *testing.T) {
		var l eventLog
		if err := Verify(context.Background(), spec, Log{R: &l, Source: "b"}, bootTo(tgt)); err != nil {
			t.Fatal(err)
		}
		want := []string{`pass http :80/ contains "version 1.2.3"`, `pass inline "nginx -t"`}
		if got := l.results(); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("results %q, want %q", got, want)
		}
		if l.evs[0].Type != EventStepStart || l.evs[0].Step != "verify" || l.evs[len(l.evs)-1].Type != EventStepDone {
			t.Errorf("no verify step around the checks: %+v", l.evs)
		}
	})

	t.Run("wrong body fails after the grace, not the timeout", func(t *testing.T) {
		spec := &VerifySpec{HTTP: []HTTPCheck{{Port: 80, Contains: "version 9"}}, Timeout: time.Minute}
		start := time.Now()
		err := Verify(context.Background(), spec, Log{}, bootTo(tgt))
		var ve *VerifyError
		if !errors.As(err, &ve) {
			t.Fatalf("err = %v, want a *VerifyError", err)
		}
		if time.Since(start) > verifyAnswerGrace+10*time.Second {
			t.Errorf("a wrong page took %s to fail", time.Since(start))
		}
		for _, w := range []string{`verify http :80/ contains "version 9"`, `want status 200 and a body containing "version 9"`, `got status 200 and body "<p>version 1.2.3</p>"`} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error does not say %q: %v", w, err)
			}
		}
	})

	t.Run("inline exit code and output", func(t *testing.T) {
		err := Verify(context.Background(), &VerifySpec{Inline: []string{"true", "false"}}, Log{}, bootTo(tgt))
		var ve *VerifyError
		if !errors.As(err, &ve) || !strings.Contains(err.Error(), `verify inline "false": want exit code 0, got exit code 1`) || !strings.Contains(err.Error(), "it went wrong") {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("nothing listening: the timeout", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		closed := VerifyTarget{What: "closed", Addr: func(int) (string, error) { return addr, nil }}
		err = Verify(context.Background(), &VerifySpec{HTTP: []HTTPCheck{{Port: 80}}, Timeout: 2 * time.Second}, Log{}, bootTo(closed))
		if !strings.Contains(err.Error(), "no answer") || !strings.Contains(err.Error(), "verify timed out after 2s") {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("gone", func(t *testing.T) {
		gone := tgt
		gone.Gone = func(context.Context) error { return errors.New("the container exited with code 3") }
		err := Verify(context.Background(), &VerifySpec{HTTP: []HTTPCheck{{Port: 80, Status: 404}}}, Log{}, bootTo(gone))
		if !strings.Contains(err.Error(), "exited with code 3") {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("gone before its address is known", func(t *testing.T) {
		// A command that exits at once: the artifact has no address,
		// and the failure is the check's, with the exit code.
		gone := tgt
		gone.Addr = func(int) (string, error) { return "", errors.New("port 80 was not published") }
		gone.Gone = func(context.Context) error { return errors.New("the container exited with code 3") }
		err := Verify(context.Background(), &VerifySpec{HTTP: []HTTPCheck{{Port: 80}}}, Log{}, bootTo(gone))
		var ve *VerifyError
		if !errors.As(err, &ve) || !strings.Contains(err.Error(), "want status 200") || !strings.Contains(err.Error(), "exited with code 3") {
			t.Errorf("err = %v, want a failed check with the exit code", err)
		}
	})

	t.Run("cancelled is not a failed check", func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(errors.New("interrupted"))
		err := Verify(ctx, spec, Log{}, bootTo(tgt))
		var ve *VerifyError
		if errors.As(err, &ve) || !strings.Contains(err.Error(), "interrupted") {
			t.Errorf("err = %v", err)
		}
	})
}
