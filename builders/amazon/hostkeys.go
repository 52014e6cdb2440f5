package amazon

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// The markers cloud-init prints around the host key fingerprints.
const (
	fingerprintsBegin = "-----BEGIN SSH HOST KEY FINGERPRINTS-----"
	fingerprintsEnd   = "-----END SSH HOST KEY FINGERPRINTS-----"
)

// readHostKeys waits for the instance's console to show its SSH host key
// fingerprints, which the SSH step then pins. Without them by
// host_key_timeout the bake fails, unless insecure_skip_host_key_check
// is set.
func readHostKeys(ctx context.Context, s *state) error {
	what := "the ssh host key fingerprints on the console of " + s.instanceID
	err := poll(ctx, s.log, what, s.cfg.hostKeyTO, func(ctx context.Context) (bool, string, error) {
		out, err := s.api.GetConsoleOutput(ctx, &ec2.GetConsoleOutputInput{InstanceId: aws.String(s.instanceID), Latest: aws.Bool(true)})
		if err != nil {
			return false, "", fmt.Errorf("read the console of %s: %w", s.instanceID, err)
		}
		text, err := base64.StdEncoding.DecodeString(aws.ToString(out.Output))
		if err != nil {
			return false, "", fmt.Errorf("read the console of %s: output is not base64: %w", s.instanceID, err)
		}
		fps := ParseFingerprints(string(text))
		if len(fps) == 0 {
			return false, fmt.Sprintf("%d bytes of console output, no fingerprints yet", len(text)), nil
		}
		s.hostKeys = fps
		return true, "", nil
	})
	if err == nil {
		s.log.Info(fmt.Sprintf("host keys of %s pinned from its console: %s", s.instanceID, strings.Join(s.hostKeys, ", ")))
		return nil
	}
	var wt *WaitTimeout
	if !errors.As(err, &wt) {
		return err // the API failed, or the bake was interrupted
	}
	if s.cfg.InsecureSkipHostKeyCheck {
		s.log.Warn(fmt.Sprintf("no host key fingerprints on the console of %s within host_key_timeout %s; insecure_skip_host_key_check = true: connecting WITHOUT verifying the host key", s.instanceID, s.cfg.hostKeyTO))
		return nil
	}
	return fmt.Errorf("no ssh host key fingerprints between %s and %s on the console of %s within host_key_timeout %s: "+
		"the AMI must print them at boot (cloud-init does); raise host_key_timeout, or (unsafe) set insecure_skip_host_key_check = true",
		fingerprintsBegin, fingerprintsEnd, s.instanceID, s.cfg.hostKeyTO)
}

// ParseFingerprints returns the SHA256 fingerprints of the last block of
// host key fingerprints in console output, as cloud-init prints them:
//
//	ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----
//	ec2: 256 SHA256:abc... root@host (ED25519)
//	ec2: -----END SSH HOST KEY FINGERPRINTS-----
//
// A block without its END marker (still being written) counts as none.
func ParseFingerprints(console string) []string {
	end := strings.LastIndex(console, fingerprintsEnd)
	if end < 0 {
		return nil
	}
	begin := strings.LastIndex(console[:end], fingerprintsBegin)
	if begin < 0 {
		return nil
	}
	var fps []string
	for _, line := range strings.Split(console[begin+len(fingerprintsBegin):end], "\n") {
		for _, f := range strings.Fields(line) {
			if strings.HasPrefix(f, "SHA256:") && len(f) == len("SHA256:")+43 {
				fps = append(fps, f)
			}
		}
	}
	return fps
}
