// Command bake-alb-bench sets up what bench/sim-alb.sh measures: an HTTP
// target and, in front of it, an ALB of the sim made through the ELBv2 API
// (load balancer, target group with the target registered, listener),
// exactly as bake sim serves it. It prints the two URLs once the target is
// healthy and serves until stdin closes.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/bakehq/bake/sim/core"
	"github.com/bakehq/bake/sim/elbv2"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintf(os.Stderr, "bake-alb-bench: %s\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	body := []byte("ok\n")
	target := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(body) // a client that hung up needs nothing
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for the target: %w", err)
	}
	go func() { _ = target.Serve(ln) }() // ends when the process does
	_, portStr, _ := net.SplitHostPort(ln.Addr().String())
	port, _ := strconv.Atoi(portStr)

	srv := core.NewServer(core.Config{Loopback: core.NewLoopback(netip.MustParseAddr("127.0.251.1"), netip.MustParseAddr("127.0.251.254"))})
	_, svc, err := elbv2.New(elbv2.Config{Server: srv})
	if err != nil {
		return err
	}
	if err := srv.Add(svc); err != nil {
		return err
	}
	api := httptest.NewServer(srv)
	defer api.Close()
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Close(cctx); err != nil {
			fmt.Fprintf(os.Stderr, "bake-alb-bench: %s\n", err)
		}
	}()
	c := elb.New(elb.Options{Region: "us-east-1", BaseEndpoint: aws.String(api.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDBENCH", "secret", "")})

	lb, err := c.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("bench"), Subnets: []string{"subnet-a", "subnet-b"}})
	if err != nil {
		return fmt.Errorf("create the load balancer: %w", err)
	}
	tg, err := c.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("bench"), Protocol: types.ProtocolEnumHttp,
		Port: aws.Int32(int32(port)), VpcId: aws.String("vpc-bench"), TargetType: types.TargetTypeEnumIp,
		HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2), HealthyThresholdCount: aws.Int32(2)})
	if err != nil {
		return fmt.Errorf("create the target group: %w", err)
	}
	arn := tg.TargetGroups[0].TargetGroupArn
	if _, err := c.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: arn,
		Targets: []types.TargetDescription{{Id: aws.String("127.0.0.1"), Port: aws.Int32(int32(port))}}}); err != nil {
		return fmt.Errorf("register the target: %w", err)
	}
	if _, err := c.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn, Port: aws.Int32(8080),
		Protocol: types.ProtocolEnumHttp, DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: arn}}}); err != nil {
		return fmt.Errorf("create the listener: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		h, err := c.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: arn})
		if err != nil {
			return fmt.Errorf("describe target health: %w", err)
		}
		if len(h.TargetHealthDescriptions) == 1 && h.TargetHealthDescriptions[0].TargetHealth.State == types.TargetHealthStateEnumHealthy {
			break
		}
		if time.Now().After(deadline) {
			return errors.New("the target did not turn healthy in 30s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The listener is on the load balancer's own address: the first of the range.
	fmt.Printf("direct=http://%s/ alb=http://127.0.251.1:8080/\n", ln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin) // serve until the script closes stdin
	return nil
}
