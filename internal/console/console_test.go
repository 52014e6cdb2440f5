package console

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/bakehq/bake/bake"
)

func TestExit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		err     error
		code    int
		printed string
	}{
		{"nil", nil, ExitOK, ""},
		{"failed", errors.New("boom"), ExitFailed, "error: boom\n"},
		{"bad input", bake.BadInputf("fix %s", "x.hcl"), ExitBadInput, "error: fix x.hcl\n"},
		{"said why itself", fmt.Errorf("wrapped: %w", &ExitError{Code: 3}), 3, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var b strings.Builder
			if code := Exit(&b, tc.err); code != tc.code || b.String() != tc.printed {
				t.Errorf("Exit(%v) = %d printing %q, want %d printing %q", tc.err, code, b.String(), tc.code, tc.printed)
			}
		})
	}
}
