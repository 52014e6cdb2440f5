package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/bakehq/bake/sim"
	simec2 "github.com/bakehq/bake/sim/ec2"
)

// StartSim serves a local cloud made with opts (Addr and DNSAddr default
// to free loopback ports) until the test ends, then closes it, which removes the
// containers of its own runtime. It skips the test with -short, without
// a Docker engine, or without the sim's Debian image.
func StartSim(t testing.TB, opts sim.Options) *sim.Sim {
	t.Helper()
	if testing.Short() {
		t.Skip("starts instances as containers: skipped with -short")
	}
	ctx := context.Background()
	d, err := simec2.NewDocker(ctx)
	if err != nil {
		SkipOrFail(t, "docker engine not reachable: %v", err)
	}
	_, err = d.Image(ctx, simec2.DefaultDebianImage)
	d.Close()
	if err != nil {
		SkipOrFail(t, "the sim's debian image is missing (run hack/setup-sim.sh): %v", err)
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.DNSAddr == "" {
		// Not the fixed default: test packages run at once, each with
		// its own sim.
		opts.DNSAddr = "127.0.0.1:0"
	}
	s, err := sim.New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Serve(sctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		cctx, ccancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer ccancel()
		if err := s.Close(cctx); err != nil {
			t.Errorf("close the sim: %v", err)
		}
	})
	return s
}

// UseSim points the AWS SDK's standard credential chain (which bake
// reads) at endpoint, with static credentials, away from this machine's
// AWS files and instance metadata.
func UseSim(t testing.TB, endpoint string) {
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDBAKETEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "bake-test-secret")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_PROFILE", "")
}
