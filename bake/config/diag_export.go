package config

import "github.com/hashicorp/hcl/v2"

// DiagErr turns error diagnostics found in files into a bad-input error
// shown as file:line:col with the offending line, or nil when there are
// none. Other HCL readers (roll's service files) use it so every file
// error reads the same.
func DiagErr(diags hcl.Diagnostics, files map[string]*hcl.File) error {
	return diagErr(diags, files)
}

// Errorf is an error diagnostic at rng.
func Errorf(rng *hcl.Range, summary, format string, args ...any) *hcl.Diagnostic {
	return errorf(rng, summary, format, args...)
}
