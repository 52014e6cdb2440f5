package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestBadInput runs roll against buffers: mistakes found before any AWS
// call exit 2 with a message saying what to do.
func TestBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no service", []string{"--image", "ami-1"}, "say which service with --service FILE"},
		{"two targets", []string{"--service", "../testdata/web.roll.hcl", "--image", "ami-1", "--channel", "c"}, "exactly one of --image AMI, --version V or --channel C"},
		{"unknown service", []string{"--service", "../testdata/web.roll.hcl", "--name", "api", "--image", "ami-1"}, `unknown service "api": ../testdata/web.roll.hcl defines web`},
		{"unknown flag", []string{"--frobnicate"}, "unknown flag: --frobnicate"},
		{"status without service", []string{"status"}, "say which service"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errb bytes.Buffer
			code := Main(context.Background(), Streams{In: strings.NewReader(""), Out: &out, Err: &errb}, tt.args)
			if code != ExitBadInput || !strings.Contains(errb.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d saying %q", code, errb.String(), ExitBadInput, tt.want)
			}
		})
	}
}
