package amazon

import (
	"reflect"
	"testing"
)

func TestParseFingerprints(t *testing.T) {
	t.Parallel()
	const a = "SHA256:1JG53i/XLGKdPP/SZoB8vt8k6GDV3eQpk0RBUqu7TWU"
	const b = "SHA256:N8pwQNPE+Q1x0YEOnDd5V4Cp9jmG7XkMaIhtCuWoGUg"
	for _, tc := range []struct {
		name, console string
		want          []string
	}{
		{"none", "booting...\n", nil},
		{"cloud-init", "x\nec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----\nec2: 256 " + a + " root@h (ED25519)\nec2: 256 " + b + " root@h (ECDSA)\nec2: -----END SSH HOST KEY FINGERPRINTS-----\n", []string{a, b}},
		{"not finished", "-----BEGIN SSH HOST KEY FINGERPRINTS-----\n256 " + a + " root@h (ED25519)\n", nil},
		{"last block wins", "-----BEGIN SSH HOST KEY FINGERPRINTS-----\n256 " + a + " x\n-----END SSH HOST KEY FINGERPRINTS-----\nreboot\n-----BEGIN SSH HOST KEY FINGERPRINTS-----\n256 " + b + " x\n-----END SSH HOST KEY FINGERPRINTS-----\n", []string{b}},
		{"outside the markers", "256 " + a + "\n-----BEGIN SSH HOST KEY FINGERPRINTS-----\n-----END SSH HOST KEY FINGERPRINTS-----\n", nil},
		{"truncated fingerprint", "-----BEGIN SSH HOST KEY FINGERPRINTS-----\n256 SHA256:short x\n-----END SSH HOST KEY FINGERPRINTS-----\n", nil},
		{"crlf", "-----BEGIN SSH HOST KEY FINGERPRINTS-----\r\n256 " + a + " root@h (ED25519)\r\n-----END SSH HOST KEY FINGERPRINTS-----\r\n", []string{a}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := ParseFingerprints(tc.console); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func FuzzParseFingerprints(f *testing.F) {
	f.Add("ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----\nec2: 256 SHA256:1JG53i/XLGKdPP/SZoB8vt8k6GDV3eQpk0RBUqu7TWU root@h (ED25519)\nec2: -----END SSH HOST KEY FINGERPRINTS-----\n")
	f.Add("-----END SSH HOST KEY FINGERPRINTS----------BEGIN SSH HOST KEY FINGERPRINTS-----")
	f.Fuzz(func(t *testing.T, console string) {
		for _, fp := range ParseFingerprints(console) {
			if len(fp) != len("SHA256:")+43 || fp[:7] != "SHA256:" {
				t.Fatalf("not a fingerprint: %q", fp)
			}
		}
	})
}
