package recipe

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/google/uuid"
)

// testRun labels the containers this test process makes.
var testRun = uuid.NewString()

const runLabel = "bake.test.run"

// TestMain removes this run's containers when go test is interrupted,
// since t.Cleanup does not run then.
func TestMain(m *testing.M) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			cs, _ := api.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", runLabel+"="+testRun))})
			for _, c := range cs {
				if err := api.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil {
					fmt.Fprintf(os.Stderr, "remove container %s: %v\n", c.ID, err)
				}
			}
			cancel()
		}
		os.Exit(1)
	}()
	os.Exit(m.Run())
}
