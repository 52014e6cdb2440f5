package librarytest

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
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/google/uuid"

	"github.com/bakehq/bake/bake"
)

// runUUID labels everything this test process makes: the build
// containers (dev.bake.run, set by the builder), the containers started
// from the baked images and the images (bake.test.run).
var runUUID = uuid.NewString()

const runLabel = "bake.test.run"

// rootCtx is cancelled by Ctrl-C or SIGTERM: the tests then stop where
// they are and their t.Cleanup removes what they made, which would not run
// if the signal killed the process.
var rootCtx, cancelRoot = context.WithCancel(context.Background())

// TestMain turns Ctrl-C and SIGTERM into cancelling rootCtx, and sweeps
// up by label after the tests, in case one left something while it was
// being cancelled. A second signal, or tests that do not end within two
// minutes, sweep and exit at once.
func TestMain(m *testing.M) {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	interrupted := make(chan struct{})
	go func() {
		s := <-sig
		close(interrupted)
		fmt.Fprintf(os.Stderr, "librarytest: %v: stopping the tests and removing what they made\n", s)
		cancelRoot()
		select {
		case <-sig:
		case <-time.After(2 * time.Minute):
		}
		sweep()
		os.Exit(1)
	}()
	code := m.Run()
	select {
	case <-interrupted:
		sweep()
		if code == 0 {
			code = 1
		}
	default:
	}
	os.Exit(code)
}

func sweep() {
	if err := removeRun(); err != nil {
		fmt.Fprintf(os.Stderr, "librarytest: clean up: %v\n", err)
	}
}

func removeRun() error {
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var errs []error
	for _, f := range []filters.Args{
		filters.NewArgs(filters.Arg("label", bake.LabelRun+"="+runUUID)),
		filters.NewArgs(filters.Arg("label", runLabel+"="+runUUID)),
	} {
		cs, err := api.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, c := range cs {
			if err := api.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
				errs = append(errs, err)
			}
		}
	}
	imgs, err := api.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("label", runLabel+"="+runUUID))})
	if err != nil {
		errs = append(errs, err)
	}
	for _, img := range imgs {
		if _, err := api.ImageRemove(ctx, img.ID, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%v", errs)
	}
	return nil
}
