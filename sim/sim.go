// Package sim assembles the local AWS cloud behind `bake sim`: one core
// server with EC2, SSM and STS (and the services that plug into it), its
// listener, and the cleanup of everything it started.
package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/bakehq/bake/sim/autoscaling"
	"github.com/bakehq/bake/sim/core"
	"github.com/bakehq/bake/sim/ec2"
	"github.com/bakehq/bake/sim/ecr"
	"github.com/bakehq/bake/sim/elbv2"
	"github.com/bakehq/bake/sim/route53"
	"github.com/bakehq/bake/sim/route53/dnsserver"
	"github.com/bakehq/bake/sim/secretsmanager"
	"github.com/bakehq/bake/sim/ssm"
	"github.com/bakehq/bake/sim/sts"
)

// DefaultDNSAddr is where the sim's DNS server answers by default.
const DefaultDNSAddr = "127.0.10.53:53"

// Options configure a Sim.
type Options struct {
	Addr        string            // API endpoint; default 127.0.0.1:4566
	DNSAddr     string            // DNS server (UDP and TCP); default DefaultDNSAddr
	Region      string            // default us-east-1
	StateDir    string            // "" keeps state in memory
	DebianImage string            // the Debian 12 AMI's image; "" for ec2.DefaultDebianImage, "-" for none
	AMIs        map[string]string // extra AMIs: name -> docker image
	Faults      *core.Faults      // default none
	Log         *slog.Logger
	Runtime     ec2.Runtime // default Docker
}

// Sim is a running local cloud.
type Sim struct {
	Server      *core.Server
	EC2         *ec2.EC2
	ELBv2       *elbv2.ELBv2
	AutoScaling *autoscaling.AutoScaling
	Route53     *route53.Route53
	DNS         *dnsserver.Server
	ln          net.Listener
}

// New builds the services and listens on opts.Addr; Serve serves until
// its context ends, Close removes everything the sim started.
func New(ctx context.Context, opts Options) (s *Sim, err error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:4566"
	}
	if opts.DNSAddr == "" {
		opts.DNSAddr = DefaultDNSAddr
	}
	srv := core.NewServer(core.Config{Region: opts.Region, Faults: opts.Faults, Log: opts.Log, Store: &core.Store{Dir: opts.StateDir}})
	defer func() {
		if err != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			err = errors.Join(err, srv.Close(cctx))
		}
	}()
	e, err := ec2.New(ctx, srv, ec2.Options{DebianImage: opts.DebianImage, AMIs: opts.AMIs, Runtime: opts.Runtime})
	if err != nil {
		return nil, err
	}
	_, ssmSvc, err := ssm.New(srv)
	if err != nil {
		return nil, err
	}
	_, smSvc, err := secretsmanager.New(srv)
	if err != nil {
		return nil, err
	}
	dns, err := route53.StartDNS(srv, opts.DNSAddr)
	if err != nil {
		return nil, fmt.Errorf("%w (choose another --dns-addr)", err)
	}
	r53, r53Svc, err := route53.New(route53.Config{Server: srv, DNS: dns})
	if err != nil {
		return nil, err
	}
	lb, lbSvc, err := elbv2.New(elbv2.Config{Server: srv, Instances: e, Subnets: e, DNS: dns})
	if err != nil {
		return nil, err
	}
	as, asSvc, err := autoscaling.New(autoscaling.Config{Server: srv, Fleet: e, TargetGroups: lb})
	if err != nil {
		return nil, err
	}
	for _, svc := range []*core.Service{e.Service(), ssmSvc, sts.New(), smSvc, ecr.New(), r53Svc, lbSvc, asSvc} {
		if err := srv.Add(svc); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w (is another bake sim running? choose another --addr)", opts.Addr, err)
	}
	return &Sim{Server: srv, EC2: e, ELBv2: lb, AutoScaling: as, Route53: r53, DNS: dns, ln: ln}, nil
}

// Endpoint is the sim's API URL.
func (s *Sim) Endpoint() string { return "http://" + s.ln.Addr().String() }

// Serve serves the API until ctx ends.
func (s *Sim) Serve(ctx context.Context) error { return s.Server.Serve(ctx, s.ln) }

// Close stops serving and removes every container the sim started (and,
// without a state directory, the images it made). ctx bounds the cleanup.
func (s *Sim) Close(ctx context.Context) error {
	lerr := s.ln.Close()
	if errors.Is(lerr, net.ErrClosed) {
		lerr = nil
	}
	return errors.Join(s.Server.Close(ctx), lerr)
}
