package amazon

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/bakehq/bake/bake"
)

// TagCheckpoint marks a checkpoint AMI: the instance saved after a step
// with checkpoint = true, under the step's cache key. Checkpoints carry
// no run tag, so a failed bake's cleanup keeps them for --resume; a
// finished bake removes them.
const TagCheckpoint = "dev.bake.checkpoint"

var (
	_ bake.Resumer      = (*Builder)(nil)
	_ bake.Checkpointer = (*machine)(nil)
)

// checkpoints finds the available checkpoint AMIs for keys in the build
// region: key -> image.
func (b *Builder) checkpoints(ctx context.Context, keys []string) (map[string]types.Image, error) {
	api := b.cl.in(b.cl.region())
	out, err := api.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: []types.Filter{
		{Name: aws.String("tag:" + TagCheckpoint), Values: keys},
	}})
	if err != nil {
		return nil, fmt.Errorf("look for checkpoint AMIs in %s: %w", b.cl.region(), err)
	}
	found := map[string]types.Image{}
	for _, im := range out.Images {
		for _, t := range im.Tags {
			if aws.ToString(t.Key) == TagCheckpoint {
				found[aws.ToString(t.Value)] = im
			}
		}
	}
	return found, nil
}

// CachedKeys reports which keys have an available checkpoint AMI.
func (b *Builder) CachedKeys(ctx context.Context, keys []string) (map[string]bool, error) {
	found, err := b.checkpoints(ctx, keys)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for k, im := range found {
		have[k] = im.State == types.ImageStateAvailable
	}
	return have, nil
}

// BootCached boots from the checkpoint AMI saved under key. The lineage
// still names the real source AMI.
func (b *Builder) BootCached(ctx context.Context, base bake.Base, key string, log bake.Log) (bake.Machine, error) {
	found, err := b.checkpoints(ctx, []string{key})
	if err != nil {
		return nil, err
	}
	im, ok := found[key]
	if !ok {
		return nil, fmt.Errorf("checkpoint %s is gone: run again without --resume", key[:12])
	}
	log.Info(fmt.Sprintf("resuming from checkpoint AMI %s", aws.ToString(im.ImageId)))
	return b.boot(ctx, base, aws.ToString(im.ImageId), log)
}

// Checkpoint saves the instance as an AMI tagged with key, without
// rebooting it (the SSH session goes on), and waits until it is available.
func (m *machine) Checkpoint(ctx context.Context, key, comment string) error {
	s := m.st
	name := fmt.Sprintf("bake-checkpoint-%s-%s", key[:12], s.bakeID)
	// The owner tags (with the run tag but not TagBake, so that the
	// bake's own cleanup still keeps it) let bake gc remove a checkpoint
	// of a dead run once its retention is over.
	tags := bake.OwnerLabels(s.cfg.runUUID, map[string]string{TagCheckpoint: key, bake.LabelName: s.cfg.name, "Name": truncate(comment, 250)})
	out, err := s.api.CreateImage(ctx, &ec2.CreateImageInput{
		InstanceId: aws.String(s.instanceID),
		Name:       aws.String(name),
		NoReboot:   aws.Bool(true),
		TagSpecifications: []types.TagSpecification{
			tagSpec(types.ResourceTypeImage, tags),
			tagSpec(types.ResourceTypeSnapshot, tags),
		},
	})
	if err != nil {
		return fmt.Errorf("create checkpoint AMI from %s: %w", s.instanceID, err)
	}
	ami := aws.ToString(out.ImageId)
	if _, err := waitAvailable(ctx, s, s.api, s.cl.region(), ami); err != nil {
		return fmt.Errorf("checkpoint AMI %s: %w", ami, err)
	}
	s.log.Info(fmt.Sprintf("checkpoint AMI %s saved after %s; a failed bake resumes from it with --resume", ami, comment))
	return nil
}

// DropCheckpoints deregisters the checkpoint AMIs of keys and deletes
// their snapshots.
func (b *Builder) DropCheckpoints(ctx context.Context, keys []string) error {
	found, err := b.checkpoints(ctx, keys)
	if err != nil {
		return err
	}
	api := b.cl.in(b.cl.region())
	st := &state{cfg: b.cfg, cl: b.cl, api: api, log: bake.Log{}}
	var errs []error
	for _, im := range found {
		if err := deregister(ctx, st, api, aws.ToString(im.ImageId), snapshotsOf(im)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
