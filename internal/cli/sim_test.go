package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/bakehq/bake/internal/console"
)

// TestSimBadFlags: bad flags of bake sim are bad input (exit 2), found
// before anything starts.
func TestSimBadFlags(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"latency without duration", []string{"--latency", "ec2:CreateImage"}, "want service:Operation=duration"},
		{"latency bad duration", []string{"--latency", "ec2:CreateImage=soon"}, "is not a duration"},
		{"fail without operation", []string{"--fail", "autoscaling"}, "want service:Operation"},
		{"ami without image", []string{"--ami", "web"}, "want NAME=IMAGE"},
		{"unknown flag", []string{"--regoin", "x"}, "unknown flag"},
		{"arguments", []string{"extra"}, "takes no arguments"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errb bytes.Buffer
			code := Main(context.Background(), Streams{In: strings.NewReader(""), Out: &out, Err: &errb}, append([]string{"sim"}, tt.args...))
			if code != console.ExitBadInput {
				t.Errorf("exit %d, want %d; stderr: %s", code, console.ExitBadInput, errb.String())
			}
			if !strings.Contains(errb.String(), tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, errb.String())
			}
			if out.Len() != 0 {
				t.Errorf("stdout is not empty: %s", out.String())
			}
		})
	}
}
