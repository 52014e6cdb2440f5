package bake

import (
	"sort"
	"strings"
)

// Redacted replaces a sensitive value wherever it would be shown.
const Redacted = "<sensitive>"

// Redactor hides sensitive values. The zero Redactor hides nothing.
type Redactor struct {
	r *strings.Replacer
}

// NewRedactor hides each of secrets (empty ones are ignored; longer
// secrets are replaced first so that one secret containing another is
// hidden whole).
func NewRedactor(secrets []string) Redactor {
	var s []string
	for _, v := range secrets {
		if v != "" {
			s = append(s, v)
		}
	}
	if len(s) == 0 {
		return Redactor{}
	}
	sort.Slice(s, func(i, j int) bool { return len(s[i]) > len(s[j]) })
	var pairs []string
	for _, v := range s {
		pairs = append(pairs, v, Redacted)
	}
	return Redactor{r: strings.NewReplacer(pairs...)}
}

// String returns s with every secret replaced.
func (r Redactor) String(s string) string {
	if r.r == nil {
		return s
	}
	return r.r.Replace(s)
}

// Reporter wraps next so that no event it receives carries a secret.
func (r Redactor) Reporter(next Reporter) Reporter {
	if r.r == nil {
		return next
	}
	return ReporterFunc(func(e Event) {
		e.Message = r.String(e.Message)
		e.Error = r.String(e.Error)
		for k, v := range e.Fields {
			e.Fields[k] = r.String(v)
		}
		next.Report(e)
	})
}
