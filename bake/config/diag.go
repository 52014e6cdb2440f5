package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/bakehq/bake/bake"
)

// DiagError is bad input found in bake files: one or more diagnostics,
// each shown as file:line:col with the offending source line.
type DiagError struct {
	Diags hcl.Diagnostics
	files map[string]*hcl.File
}

func (e *DiagError) Error() string {
	var b strings.Builder
	n := 0
	for _, d := range e.Diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		if n > 0 {
			b.WriteString("\n")
		}
		n++
		b.WriteString(formatDiag(d, e.files))
	}
	return b.String()
}

func formatDiag(d *hcl.Diagnostic, files map[string]*hcl.File) string {
	var b strings.Builder
	if d.Subject != nil {
		fmt.Fprintf(&b, "%s:%d:%d: ", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
	}
	b.WriteString(d.Summary)
	if d.Detail != "" {
		b.WriteString(": ")
		b.WriteString(d.Detail)
	}
	if d.Subject == nil {
		return b.String()
	}
	f := files[d.Subject.Filename]
	if f == nil {
		return b.String()
	}
	lines := strings.Split(string(f.Bytes), "\n")
	ln := d.Subject.Start.Line
	if ln < 1 || ln > len(lines) {
		return b.String()
	}
	src := strings.ReplaceAll(lines[ln-1], "\t", " ")
	fmt.Fprintf(&b, "\n  %4d | %s", ln, src)
	start := d.Subject.Start.Column - 1
	end := d.Subject.End.Column - 1
	if d.Subject.End.Line != ln || end > len(src) {
		end = len(src)
	}
	if start >= 0 && start <= len(src) {
		if end <= start {
			end = start + 1
		}
		fmt.Fprintf(&b, "\n       | %s%s", strings.Repeat(" ", start), strings.Repeat("^", end-start))
	}
	return b.String()
}

// diagErr turns error diagnostics into a bad-input error, or nil.
func diagErr(diags hcl.Diagnostics, files map[string]*hcl.File) error {
	if !diags.HasErrors() {
		return nil
	}
	return bake.BadInput(&DiagError{Diags: diags, files: files})
}

// AsDiagError returns the diagnostics in err, if it carries any.
func AsDiagError(err error) (*DiagError, bool) {
	var de *DiagError
	ok := errors.As(err, &de)
	return de, ok
}

func errorf(rng *hcl.Range, summary, format string, args ...any) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: rng}
}
