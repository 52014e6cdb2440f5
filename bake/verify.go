package bake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// DefaultVerifyTimeout bounds a verify block that sets no timeout.
const DefaultVerifyTimeout = 2 * time.Minute

// verifyAnswerGrace is how long an HTTP check that got an answer, but
// the wrong one, is retried (a service answering 503 while it starts): a
// wrong page fails in seconds instead of taking the whole timeout.
var verifyAnswerGrace = 15 * time.Second

// verifyRetry is the pause between two tries of an HTTP check.
const verifyRetry = 300 * time.Millisecond

// verifyBodyBytes is how much of a wrong body a failure shows.
const verifyBodyBytes = 200

// VerifyTarget is a booted artifact as a builder hands it to Verify.
type VerifyTarget struct {
	// What names it in messages: "container bake-web-1234-verify",
	// "instance i-0123".
	What string
	// Comm runs the inline commands as root.
	Comm Communicator
	// Addr returns where the artifact's port is reached from this
	// machine, as host:port.
	Addr func(port int) (string, error)
	// Gone, when set, returns why the artifact can no longer answer (its
	// container exited), or nil while it runs.
	Gone func(ctx context.Context) error
}

// VerifyError is a verify check that failed: the check, what it wanted
// and what came back.
type VerifyError struct {
	Check  string // http :80/ contains "version 1.2"; inline "nginx -t"
	Want   string
	Got    string
	Output string // the tail of a failed command's output
}

func (e *VerifyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "verify %s: want %s, got %s", e.Check, e.Want, e.Got)
	if out := strings.TrimRight(e.Output, "\n"); out != "" {
		b.WriteString("\n--- last output ---\n")
		b.WriteString(out)
		b.WriteString("\n---")
	}
	return b.String()
}

// Name is how a check is shown: http :80/ status 200 contains "v1".
func (h HTTPCheck) Name() string {
	s := fmt.Sprintf("http :%d%s", h.Port, h.path())
	if h.Status != 0 && h.Status != http.StatusOK {
		s += fmt.Sprintf(" status %d", h.Status)
	}
	if h.Contains != "" {
		s += fmt.Sprintf(" contains %q", h.Contains)
	}
	return s
}

func (h HTTPCheck) path() string {
	if h.Path == "" {
		return "/"
	}
	return h.Path
}

func (h HTTPCheck) status() int {
	if h.Status == 0 {
		return http.StatusOK
	}
	return h.Status
}

// Verify is the step "verify" of log's source: boot starts the artifact
// (a container, an instance) and says how to reach it, then spec's
// checks run against it: the HTTP checks first, each retried while the
// service starts, then the inline commands in order. Every result is an
// info event. The first failed check is returned as a *VerifyError.
// spec.Timeout bounds the checks, from the moment boot returned; the
// caller removes what boot made once Verify returns, whatever happened.
func Verify(ctx context.Context, spec *VerifySpec, log Log, boot func(ctx context.Context, log Log) (VerifyTarget, error)) error {
	log = log.WithStep("verify")
	return step(ctx, log, func(parent context.Context) error {
		t, err := boot(parent, log)
		if err != nil {
			return err
		}
		timeout := spec.Timeout
		if timeout <= 0 {
			timeout = DefaultVerifyTimeout
		}
		ctx, cancel := context.WithTimeoutCause(parent, timeout, fmt.Errorf("verify timed out after %s", timeout))
		defer cancel()
		log.Info(fmt.Sprintf("verifying %s: %d http checks, %d commands (timeout %s)", t.What, len(spec.HTTP), len(spec.Inline), timeout))
		for _, h := range spec.HTTP {
			if err := verifyHTTP(ctx, parent, h, t, log); err != nil {
				return err
			}
		}
		for _, c := range spec.Inline {
			if err := verifyInline(ctx, parent, c, t, log); err != nil {
				return err
			}
		}
		return nil
	})
}

func report(log Log, check, result, got string) {
	msg := result + ": " + check
	if got != "" {
		msg += " (" + got + ")"
	}
	log.Event(Event{Type: EventInfo, Message: msg, Fields: map[string]string{"verify_check": check, "verify_result": result}})
}

func verifyHTTP(ctx, parent context.Context, h HTTPCheck, t VerifyTarget, log Log) error {
	name := h.Name()
	want := fmt.Sprintf("status %d", h.status())
	if h.Contains != "" {
		want += fmt.Sprintf(" and a body containing %q", h.Contains)
	}
	addr, err := t.Addr(h.Port)
	if err != nil {
		// An artifact that stopped has no address: say why it stopped.
		if t.Gone != nil {
			if gone := t.Gone(ctx); gone != nil {
				got := "no address; " + gone.Error()
				report(log, name, "fail", got)
				return &VerifyError{Check: name, Want: want, Got: got}
			}
		}
		return fmt.Errorf("verify %s: %w", name, err)
	}
	url := "http://" + addr + h.path()
	client := &http.Client{
		// Straight to the artifact: an HTTP_PROXY meant for the internet
		// must not stand between bake and a fresh instance's address.
		Transport:     &http.Transport{Proxy: nil, DisableKeepAlives: true},
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	start := time.Now()
	var answered time.Time
	fail := func(got string) error {
		if err := parent.Err(); err != nil {
			return fmt.Errorf("verify %s: %w", name, context.Cause(parent))
		}
		got += fmt.Sprintf(" (tried %s for %s)", url, time.Since(start).Round(time.Second))
		report(log, name, "fail", got)
		return &VerifyError{Check: name, Want: want, Got: got}
	}
	for {
		got, ok, answer := getOnce(ctx, client, url, h)
		if ok {
			report(log, name, "pass", fmt.Sprintf("%s answered in %s", url, time.Since(start).Round(time.Millisecond)))
			return nil
		}
		if answer && answered.IsZero() {
			answered = time.Now()
		}
		if t.Gone != nil {
			if gone := t.Gone(ctx); gone != nil {
				return fail(got + "; " + gone.Error())
			}
		}
		if !answered.IsZero() && time.Since(answered) > verifyAnswerGrace {
			return fail(got)
		}
		select {
		case <-ctx.Done():
			return fail(got + "; " + context.Cause(ctx).Error())
		case <-time.After(verifyRetry):
		}
	}
}

// getOnce tries an HTTP check once: what came back, whether it passed,
// and whether the server answered at all.
func getOnce(ctx context.Context, client *http.Client, url string, h HTTPCheck) (got string, ok, answer bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err.Error(), false, false
	}
	resp, err := client.Do(req)
	if err != nil {
		return "no answer: " + shortNetErr(err), false, false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Sprintf("status %d and a body cut off: %v", resp.StatusCode, err), false, true
	}
	ok = resp.StatusCode == h.status() && strings.Contains(string(body), h.Contains)
	shown := body
	if len(shown) > verifyBodyBytes {
		shown = shown[:verifyBodyBytes]
	}
	return fmt.Sprintf("status %d and body %q", resp.StatusCode, shown), ok, true
}

// shortNetErr drops the request line net/http puts before the cause.
func shortNetErr(err error) string {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner.Error()
		}
	}
	return err.Error()
}

func verifyInline(ctx, parent context.Context, command string, t VerifyTarget, log Log) error {
	name := fmt.Sprintf("inline %q", oneLine(command, 80))
	tail := NewTail(1024)
	stdout, stderr := log.Stdout(), log.Stderr()
	code, err := t.Comm.Run(ctx, &RemoteCmd{Command: command, Stdout: io.MultiWriter(tail, stdout), Stderr: io.MultiWriter(tail, stderr)})
	stdout.Close()
	stderr.Close()
	switch {
	case parent.Err() != nil:
		return fmt.Errorf("verify %s: %w", name, context.Cause(parent))
	case ctx.Err() != nil:
		report(log, name, "fail", "timed out")
		return &VerifyError{Check: name, Want: "exit code 0", Got: "no exit: " + context.Cause(ctx).Error(), Output: tail.String()}
	case err != nil:
		if t.Gone != nil {
			if gone := t.Gone(ctx); gone != nil {
				report(log, name, "fail", gone.Error())
				return &VerifyError{Check: name, Want: "exit code 0", Got: "no run: " + gone.Error()}
			}
		}
		return fmt.Errorf("verify %s: run it in %s: %w", name, t.What, err)
	case code != 0:
		report(log, name, "fail", fmt.Sprintf("exit code %d", code))
		return &VerifyError{Check: name, Want: "exit code 0", Got: fmt.Sprintf("exit code %d", code), Output: tail.String()}
	}
	report(log, name, "pass", "")
	return nil
}
