package gc

import (
	"context"
	"errors"
	"fmt"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/errdefs"

	"github.com/bakehq/bake/bake"
)

// DockerAPI is the part of the Docker Engine client the sweeper uses.
type DockerAPI interface {
	ContainerList(ctx context.Context, options container.ListOptions) ([]container.Summary, error)
	ContainerRemove(ctx context.Context, containerID string, options container.RemoveOptions) error
	ImageList(ctx context.Context, options image.ListOptions) ([]image.Summary, error)
	ImageRemove(ctx context.Context, imageID string, options image.RemoveOptions) ([]image.DeleteResponse, error)
}

// Docker sweeps one engine: build and verify containers of dead runs
// (one filtered list call when there are none), and the dangling images
// of a commit such a run had started.
type Docker struct{ API DockerAPI }

// Sweep implements Sweeper.
func (d Docker) Sweep(ctx context.Context, lv bake.Liveness, dryRun bool) ([]Leftover, error) {
	list, err := d.API.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", bake.LabelOwnerPID))})
	if err != nil {
		return nil, fmt.Errorf("list bake's containers: %w", err)
	}
	var found []Leftover
	var errs []error
	deadRuns := map[string]string{}
	for _, c := range list {
		o, why, dead := judge(lv, c.Labels)
		if !dead {
			continue
		}
		deadRuns[o.Run] = why
		found = append(found, Leftover{Kind: "container", ID: bake.ShortID(c.ID), Where: "docker", Run: o.Run, Reason: why})
		if dryRun {
			continue
		}
		if err := d.API.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove container %s of dead run %s: %w", bake.ShortID(c.ID), o.Run, err))
		}
	}
	// A commit cut off by the kill may have finished in the engine; its
	// image is dangling and labelled with the run. Only runs whose
	// container was left are looked at: a finished run's images that a
	// later build untagged are the user's.
	for run, why := range deadRuns {
		imgs, err := d.API.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(
			filters.Arg("dangling", "true"), filters.Arg("label", bake.LabelRun+"="+run))})
		if err != nil {
			errs = append(errs, fmt.Errorf("list dangling images of dead run %s: %w", run, err))
			continue
		}
		for _, im := range imgs {
			found = append(found, Leftover{Kind: "dangling image", ID: bake.ShortID(im.ID), Where: "docker", Run: run, Reason: why})
			if dryRun {
				continue
			}
			if _, err := d.API.ImageRemove(ctx, im.ID, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil && !errdefs.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("remove dangling image %s of dead run %s: %w", bake.ShortID(im.ID), run, err))
			}
		}
	}
	return found, errors.Join(errs...)
}
