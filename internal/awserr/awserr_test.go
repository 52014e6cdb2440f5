package awserr

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/smithy-go"
)

func TestCodes(t *testing.T) {
	t.Parallel()
	gone := fmt.Errorf("describe image ami-1: %w", &smithy.GenericAPIError{Code: "InvalidAMIID.NotFound", Message: "no such image"})
	missingSecret := &smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: "no secret"}
	plain := errors.New("dial tcp: no route")
	for _, tc := range []struct {
		name     string
		err      error
		code     string
		notFound bool
		short    string
	}{
		{"wrapped API error", gone, "InvalidAMIID.NotFound", true, "InvalidAMIID.NotFound: no such image"},
		{"exception", missingSecret, "ResourceNotFoundException", true, "ResourceNotFoundException: no secret"},
		{"not an API error", plain, "", false, "dial tcp: no route"},
		{"nil", nil, "", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if c := Code(tc.err); c != tc.code {
				t.Errorf("Code = %q, want %q", c, tc.code)
			}
			if nf := NotFound(tc.err); nf != tc.notFound {
				t.Errorf("NotFound = %v, want %v", nf, tc.notFound)
			}
			if tc.err != nil {
				if s := Short(tc.err); s != tc.short {
					t.Errorf("Short = %q, want %q", s, tc.short)
				}
			}
		})
	}
	if !Is(gone, "InvalidAMIID.Malformed", "InvalidAMIID.NotFound") || Is(gone, "NotFound") || Is(plain, "") {
		t.Error("Is must match a whole code, and never an error without one")
	}
}
