package config

import (
	"errors"
	"fmt"
	"sort"
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

// diagErr turns error diagnostics into a bad-input error, or nil: all of
// them at once, each once (a source used by three builds has one error),
// sorted by file, line, column and summary so every run reads the same.
func diagErr(diags hcl.Diagnostics, files map[string]*hcl.File) error {
	if !diags.HasErrors() {
		return nil
	}
	return bake.BadInput(&DiagError{Diags: tidy(diags), files: files})
}

// tidy sorts diagnostics and drops repeats.
func tidy(diags hcl.Diagnostics) hcl.Diagnostics {
	type key struct {
		file            string
		start, end      int
		severity        hcl.DiagnosticSeverity
		summary, detail string
	}
	seen := map[key]bool{}
	var out hcl.Diagnostics
	for _, d := range diags {
		k := key{severity: d.Severity, summary: d.Summary, detail: d.Detail}
		if d.Subject != nil {
			k.file, k.start, k.end = d.Subject.Filename, d.Subject.Start.Byte, d.Subject.End.Byte
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, d)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a.Subject == nil) != (b.Subject == nil) {
			return a.Subject == nil
		}
		if a.Subject != nil {
			if a.Subject.Filename != b.Subject.Filename {
				return a.Subject.Filename < b.Subject.Filename
			}
			if a.Subject.Start.Line != b.Subject.Start.Line {
				return a.Subject.Start.Line < b.Subject.Start.Line
			}
			if a.Subject.Start.Column != b.Subject.Start.Column {
				return a.Subject.Start.Column < b.Subject.Start.Column
			}
		}
		if a.Summary != b.Summary {
			return a.Summary < b.Summary
		}
		return a.Detail < b.Detail
	})
	return out
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
