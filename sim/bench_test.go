package sim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/crypto/ssh"

	"github.com/bakehq/bake/sim"
)

// benchResult is one figure of bench/sim.sh.
type benchResult struct {
	Name   string  `json:"name"`
	N      int     `json:"n"`
	Median float64 `json:"median_ms"`
	P90    float64 `json:"p90_ms"`
	Min    float64 `json:"min_ms"`
	Max    float64 `json:"max_ms"`
	Target float64 `json:"target_ms"` // 0: no target (informational)
	Note   string  `json:"note"`
}

func summarize(name string, d []time.Duration, target float64, note string) benchResult {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	ms := func(x time.Duration) float64 { return float64(x.Microseconds()) / 1000 }
	return benchResult{Name: name, N: len(d), Median: ms(d[len(d)/2]), P90: ms(d[len(d)*9/10]), Min: ms(d[0]), Max: ms(d[len(d)-1]), Target: target, Note: note}
}

// TestBenchSim measures the sim for bench/sim.sh (BAKE_SIM_BENCH=file):
// the median DescribeInstances with 100 instances, and RunInstances to a
// running instance with a reachable sshd. Skipped otherwise.
func TestBenchSim(t *testing.T) {
	out := os.Getenv("BAKE_SIM_BENCH")
	if out == "" {
		t.Skip("a benchmark: run bench/sim.sh (BAKE_SIM_BENCH=results.json)")
	}
	var results []benchResult
	ctx := context.Background()

	// Control plane: 100 instances (in-memory machines: DescribeInstances
	// never touches the runtime), 500 calls each way, bounded.
	fs, _ := startFakeSim(t, sim.Options{})
	c := ec2.NewFromConfig(sdkConfig(fs.Endpoint()))
	imgs, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"136693071363"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		if _, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: imgs.Images[0].ImageId, MinCount: aws.Int32(25), MaxCount: aws.Int32(25),
			TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String(fmt.Sprint("web-", i))}}}}}); err != nil {
			t.Fatal(err)
		}
	}
	d, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range d.Reservations {
		n += len(r.Instances)
	}
	if n != 100 {
		t.Fatalf("%d instances in %d reservations, want 100", n, len(d.Reservations))
	}
	const calls = 500
	var sdkTimes, rawTimes []time.Duration
	for i := 0; i < calls; i++ {
		start := time.Now()
		if _, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{}); err != nil {
			t.Fatal(err)
		}
		sdkTimes = append(sdkTimes, time.Since(start))
	}
	form := url.Values{"Action": {"DescribeInstances"}, "Version": {"2016-11-15"}}.Encode()
	hc := &http.Client{Timeout: 10 * time.Second}
	var size int
	for i := 0; i < calls; i++ {
		start := time.Now()
		resp, err := hc.Post(fs.Endpoint()+"/", "application/x-www-form-urlencoded", strings.NewReader(form))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		size = len(b)
		rawTimes = append(rawTimes, time.Since(start))
	}
	results = append(results,
		summarize("DescribeInstances, 100 instances, HTTP round trip", rawTimes, 5, fmt.Sprintf("%d calls, %d-byte response", calls, size)),
		summarize("DescribeInstances, 100 instances, Go SDK call (client-side signing and XML parsing included)", sdkTimes, 0,
			fmt.Sprintf("%d calls; informational: most of it is the SDK parsing the response", calls)))

	// Data plane: RunInstances from the Debian AMI (systemd) to running,
	// and to an SSH login with the key pair.
	s := startSim(t, sim.Options{})
	c = ec2.NewFromConfig(sdkConfig(s.Endpoint()))
	imgs, err = c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"136693071363"}})
	if err != nil {
		t.Fatal(err)
	}
	kp, err := c.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("bench"), KeyType: types.KeyTypeEd25519})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey([]byte(*kp.KeyMaterial))
	if err != nil {
		t.Fatal(err)
	}
	runs := 7
	var toRunning, toSSH []time.Duration
	for i := 0; i < runs; i++ {
		start := time.Now()
		run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: imgs.Images[0].ImageId, KeyName: aws.String("bench"),
			MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
		if err != nil {
			t.Fatal(err)
		}
		id := *run.Instances[0].InstanceId
		var ip string
		for deadline := time.Now().Add(time.Minute); ; {
			if time.Now().After(deadline) {
				t.Fatalf("%s did not run within a minute", id)
			}
			d, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
			if err == nil && d.Reservations[0].Instances[0].State.Name == types.InstanceStateNameRunning {
				ip = *d.Reservations[0].Instances[0].PublicIpAddress
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		toRunning = append(toRunning, time.Since(start))
		for deadline := time.Now().Add(time.Minute); ; {
			if time.Now().After(deadline) {
				t.Fatalf("no ssh login to %s within a minute", id)
			}
			// The host key is checked in the tests; here only the login counts.
			if _, err := sshRun(ip+":22", "admin", signer, ssh.InsecureIgnoreHostKey(), "true"); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		toSSH = append(toSSH, time.Since(start))
		if _, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
			t.Fatal(err)
		}
		if err := s.EC2.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	results = append(results,
		summarize("RunInstances (Debian 12 AMI, systemd) to state running", toRunning, 2000, fmt.Sprintf("%d runs", runs)),
		summarize("RunInstances to a successful SSH login with the key pair", toSSH, 2000, fmt.Sprintf("%d runs", runs)))

	b, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		t.Logf("%s: median %.2f ms (p90 %.2f, n=%d)", r.Name, r.Median, r.P90, r.N)
	}
}
