package sim_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/bakehq/bake/sim"
	simec2 "github.com/bakehq/bake/sim/ec2"
)

// TestSIGINTRemovesContainers runs the built bake binary, starts two
// instances through it, interrupts it and checks that no container of it
// is left.
func TestSIGINTRemovesContainers(t *testing.T) {
	t.Parallel()
	startSim(t, sim.Options{DebianImage: "-"}) // skips without docker or the image
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "bake")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/bakehq/bake/cmd/bake")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build bake: %v\n%s", err, out)
	}
	cmd := exec.CommandContext(ctx, bin, "sim", "--addr", "127.0.0.1:0", "--dns-addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // already gone when the test passed
		_ = cmd.Wait()
		removeContainersOf(t, pid)
	})
	endpoint := ""
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "export AWS_ENDPOINT_URL="); ok {
			endpoint = v
			break
		}
	}
	if endpoint == "" {
		err := cmd.Wait()
		t.Fatalf("bake sim printed no endpoint (%v); stderr:\n%s", err, stderr.String())
	}
	go func() { // keep reading so the sim never blocks on stdout
		for sc.Scan() {
		}
	}()

	c := ec2.NewFromConfig(sdkConfig(endpoint))
	imgs, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{simec2.DebianOwnerID}})
	if err != nil || len(imgs.Images) == 0 {
		t.Fatalf("describe images: %v", err)
	}
	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: imgs.Images[0].ImageId, InstanceType: types.InstanceTypeT3Micro,
		MinCount: aws.Int32(2), MaxCount: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{*run.Instances[0].InstanceId, *run.Instances[1].InstanceId}
	w := ec2.NewInstanceRunningWaiter(c, func(o *ec2.InstanceRunningWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 500*time.Millisecond
	})
	if err := w.Wait(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if n := containersOf(t, pid); n != 2 {
		t.Fatalf("%d containers of the sim running, want 2", n)
	}

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("bake sim exited with %v; stderr:\n%s", err, stderr.String())
	}
	if n := containersOf(t, pid); n != 0 {
		t.Fatalf("%d containers left after SIGINT", n)
	}
}

func containersOf(t *testing.T, pid int) int {
	t.Helper()
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	list, err := c.ContainerList(context.Background(), container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", simec2.LabelPID+"="+strconv.Itoa(pid)))})
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

// removeContainersOf removes what a failed run left (a passing run leaves nothing).
func removeContainersOf(t *testing.T, pid int) {
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Error(err)
		return
	}
	defer c.Close()
	list, err := c.ContainerList(context.Background(), container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", simec2.LabelPID+"="+strconv.Itoa(pid)))})
	if err != nil {
		t.Error(err)
		return
	}
	for _, x := range list {
		if err := c.ContainerRemove(context.Background(), x.ID, container.RemoveOptions{Force: true}); err != nil {
			t.Errorf("remove leftover container %s: %v", x.ID, err)
		}
	}
}

// TestStartupSweep: a sim removes the containers a crashed sim left (its
// pid is gone) and leaves those of a live one alone.
func TestStartupSweep(t *testing.T) {
	t.Parallel()
	startSim(t, sim.Options{DebianImage: "-"}) // skips without docker or the image
	ctx := context.Background()
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mk := func(pid string) string {
		t.Helper()
		created, err := c.ContainerCreate(ctx, &container.Config{Image: "localbase/debian:bookworm", Cmd: []string{"sleep", "300"},
			Labels: map[string]string{simec2.LabelSim: "1", simec2.LabelPID: pid}}, nil, nil, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := c.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true}); err != nil && !client.IsErrNotFound(err) {
				t.Errorf("remove test container: %v", err)
			}
		})
		return created.ID
	}
	dead := mk("2147483646") // no such process
	live := mk(strconv.Itoa(os.Getppid()))
	d, err := simec2.NewDocker(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ContainerInspect(ctx, dead); !client.IsErrNotFound(err) {
		t.Errorf("the crashed sim's container is still there: %v", err)
	}
	if _, err := c.ContainerInspect(ctx, live); err != nil {
		t.Errorf("the live sim's container was removed: %v", err)
	}
}
