package cli

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/sim"
	"github.com/bakehq/bake/sim/core"
)

// newSimCmd is `bake sim`: the local AWS cloud.
func newSimCmd(st Streams) *cobra.Command {
	var (
		opts    sim.Options
		amis    []string
		latency []string
		fails   []string
		dnsAddr string
		verbose bool
	)
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "serve a local AWS cloud: EC2 instances are containers, real load balancers and DNS",
		Long: `bake sim serves the AWS APIs bake and roll call on one loopback endpoint.
Instances are Docker containers with their own loopback address (127.0.x.y):
PublicIpAddress:22 is a real sshd. The Debian 12 AMI boots systemd (make its
image once with hack/setup-sim.sh). Load balancers proxy HTTP on their own
loopback address; Route53 zones and load balancer names are answered by the
DNS server on --dns-addr. Point any SDK or the AWS CLI at it:

  AWS_ENDPOINT_URL=http://127.0.0.1:4566 aws ec2 describe-images --owners 136693071363
  aws --endpoint-url http://127.0.0.1:4566 ...   (the Debian awscli ignores AWS_ENDPOINT_URL)

Stop it with Ctrl-C: every container it started is removed.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return bake.BadInputf("bake sim takes no arguments, got %q (see bake sim --help)", args)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Faults = core.NewFaults()
			for _, spec := range latency {
				key, d, err := core.ParseLatency(spec)
				if err != nil {
					return bake.BadInputf("--latency: %w", err)
				}
				opts.Faults.SetLatency(key, d)
			}
			for _, spec := range fails {
				key, code, err := core.ParseFail(spec)
				if err != nil {
					return bake.BadInputf("--fail: %w", err)
				}
				opts.Faults.SetFail(key, code)
			}
			opts.AMIs = map[string]string{}
			for _, spec := range amis {
				name, image, ok := strings.Cut(spec, "=")
				if !ok || name == "" || image == "" {
					return bake.BadInputf("--ami %q: want NAME=IMAGE, for example --ami web=myorg/web:1", spec)
				}
				opts.AMIs[name] = image
			}
			opts.DNSAddr = dnsAddr
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			opts.Log = slog.New(slog.NewTextHandler(st.Err, &slog.HandlerOptions{Level: level}))
			return runSim(cmd.Context(), st, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Addr, "addr", "127.0.0.1:4566", "address of the API endpoint")
	f.StringVar(&dnsAddr, "dns-addr", sim.DefaultDNSAddr, "address of the DNS server (UDP and TCP) for Route53 zones and load balancer names")
	f.StringVar(&opts.StateDir, "state", "", "directory to keep state in across restarts (default: memory only)")
	f.StringVar(&opts.Region, "region", "us-east-1", "the sim's region")
	f.StringVar(&opts.DebianImage, "debian-image", "", `docker image behind the Debian 12 AMI (default localbase/debian-systemd:bookworm; "-" for none)`)
	f.StringArrayVar(&amis, "ami", nil, "seed an AMI of your account from a local docker image: NAME=IMAGE (repeatable)")
	f.StringArrayVar(&latency, "latency", nil, "delay calls: service:Operation=duration, e.g. ec2:CreateImage=5s (repeatable)")
	f.StringArrayVar(&fails, "fail", nil, "make calls fail: service:Operation[=ErrorCode], e.g. autoscaling:CreateAutoScalingGroup (repeatable)")
	f.BoolVarP(&verbose, "verbose", "v", false, "log every API call")
	return cmd
}

func runSim(ctx context.Context, st Streams, opts sim.Options) (err error) {
	s, err := sim.New(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		// Ctrl-C has cancelled ctx: the cleanup gets its own deadline.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
		defer cancel()
		fmt.Fprintln(st.Err, "bake sim: stopping, removing its containers")
		if cerr := s.Close(cctx); cerr != nil && err == nil {
			err = fmt.Errorf("clean up the sim: %w", cerr)
		}
	}()
	fmt.Fprintf(st.Out, "export AWS_ENDPOINT_URL=%s\n", s.Endpoint())
	fmt.Fprintf(st.Out, "export AWS_REGION=%s\n", s.Server.Region())
	fmt.Fprintln(st.Out, "export AWS_ACCESS_KEY_ID=bake-sim")
	fmt.Fprintln(st.Out, "export AWS_SECRET_ACCESS_KEY=bake-sim")
	fmt.Fprintf(st.Out, "export BAKE_SIM_DNS=%s\n", s.DNS.Addr())
	fmt.Fprintf(st.Err, "bake sim: serving on %s (Ctrl-C to stop)\n", s.Endpoint())
	return s.Serve(ctx)
}
