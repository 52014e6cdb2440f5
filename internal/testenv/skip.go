package testenv

import (
	"fmt"
	"os"
	"testing"
)

// SkipOrFail is for a test whose dependency (a program, the Docker
// engine, a base image) is missing: the message names it and how to get
// it. Outside CI the test is skipped; in CI (CI=true) nothing may pass
// by skipping, so it fails.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("missing test dependency (CI=true, so this is a failure, not a skip): %s\n%s", msg, prepare)
	}
	t.Skip(msg)
}

// prepare says how to get every test dependency at once.
const prepare = "`make test` prepares the images and services (hack/base-image.sh, hack/setup-*.sh) and lists the missing apt packages; .ci/run installs them"

// InCI reports whether the tests run in CI (CI=true, as CI systems set it).
func InCI() bool {
	v := os.Getenv("CI")
	return v == "true" || v == "1"
}
