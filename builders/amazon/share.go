package amazon

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/bakehq/bake/bake"
)

// existingImages are this account's AMIs named name in one region.
func existingImages(ctx context.Context, api images, name string) ([]types.Image, error) {
	out, err := api.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"},
		Filters: []types.Filter{{Name: aws.String("name"), Values: []string{name}}}})
	if err != nil {
		return nil, err
	}
	return out.Images, nil
}

// checkNameFree is Packer's pre-validation: an AMI named ami_name must not
// exist yet in the build region, unless force_deregister replaces it.
func (b *Builder) checkNameFree(ctx context.Context, api images) error {
	c := b.cfg
	if c.SkipCreateAMI || c.forceDeregister() {
		return nil
	}
	imgs, err := existingImages(ctx, api, c.AMIName)
	if err != nil {
		return fmt.Errorf("source %q: look for an AMI already named %q: %w", c.name, c.AMIName, err)
	}
	if len(imgs) > 0 {
		return bake.BadInputf("source %q: ami_name %q is already used by %s in %s: set force_deregister = true to replace it, or give another ami_name",
			c.name, c.AMIName, aws.ToString(imgs[0].ImageId), b.cl.region())
	}
	return nil
}

func (c *Config) forceDeregister() bool { return c.pc != nil && c.pc.AMIForceDeregister }

// deregisterExisting is force_deregister: right before the new AMI is
// made, the AMIs already named ami_name in the build region and in
// ami_regions are deregistered, and with force_delete_snapshot their
// snapshots deleted, as Packer's StepDeregisterAMI does.
func deregisterExisting(ctx context.Context, s *state) error {
	c := s.cfg
	if !c.forceDeregister() {
		return nil
	}
	regions := append([]string{s.cl.region()}, c.AMIRegions...)
	var errs []error
	seen := map[string]bool{}
	for _, r := range regions {
		if seen[r] {
			continue
		}
		seen[r] = true
		api := s.cl.in(r)
		imgs, err := existingImages(ctx, api, c.AMIName)
		if err != nil {
			errs = append(errs, fmt.Errorf("force_deregister: find AMIs named %q in %s: %w", c.AMIName, r, err))
			continue
		}
		for _, im := range imgs {
			id := aws.ToString(im.ImageId)
			var snaps []string
			if c.pc.AMIForceDeleteSnapshot {
				snaps = snapshotsOf(im)
			}
			if err := deregister(ctx, s, api, id, snaps); err != nil {
				errs = append(errs, fmt.Errorf("force_deregister in %s: %w", r, err))
				continue
			}
			what := "force_deregister: deregistered " + id + " (" + c.AMIName + ") in " + r
			if len(snaps) > 0 {
				what += " and deleted its snapshots " + strings.Join(snaps, ", ") + " (force_delete_snapshot)"
			}
			s.log.Info(what)
		}
	}
	return errors.Join(errs...)
}

// shareImages gives ami_users, ami_groups, ami_org_arns and ami_ou_arns
// launch permission on the AMI and its copies, and snapshot_users and
// snapshot_groups create-volume permission on their snapshots, as
// Packer's StepModifyAMIAttributes does.
func shareImages(ctx context.Context, s *state) error {
	pc := s.cfg.pc
	if pc == nil {
		return nil
	}
	var launch []types.LaunchPermission
	for _, u := range pc.AMIUsers {
		launch = append(launch, types.LaunchPermission{UserId: aws.String(u)})
	}
	for _, g := range pc.AMIGroups {
		launch = append(launch, types.LaunchPermission{Group: types.PermissionGroup(g)})
	}
	for _, a := range pc.AMIOrgArns {
		launch = append(launch, types.LaunchPermission{OrganizationArn: aws.String(a)})
	}
	for _, a := range pc.AMIOuArns {
		launch = append(launch, types.LaunchPermission{OrganizationalUnitArn: aws.String(a)})
	}
	var vol []types.CreateVolumePermission
	for _, u := range pc.SnapshotUsers {
		vol = append(vol, types.CreateVolumePermission{UserId: aws.String(u)})
	}
	for _, g := range pc.SnapshotGroups {
		vol = append(vol, types.CreateVolumePermission{Group: types.PermissionGroup(g)})
	}
	if len(launch) == 0 && len(vol) == 0 {
		return nil
	}
	type target struct {
		region, ami string
		snaps       []string
		api         images
	}
	targets := []target{{s.cl.region(), s.amiID, s.snapshots, s.api}}
	for _, r := range slices.Sorted(maps.Keys(s.copies)) {
		targets = append(targets, target{r, s.copies[r].ami, s.copies[r].snapshots, s.cl.in(r)})
	}
	for _, t := range targets {
		if len(launch) > 0 {
			if _, err := t.api.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(t.ami),
				Attribute: aws.String("launchPermission"), LaunchPermission: &types.LaunchPermissionModifications{Add: launch}}); err != nil {
				return fmt.Errorf("share image %s in %s (ami_users, ami_groups): %w", t.ami, t.region, err)
			}
		}
		if len(vol) > 0 {
			for _, sn := range t.snaps {
				if _, err := t.api.ModifySnapshotAttribute(ctx, &ec2.ModifySnapshotAttributeInput{SnapshotId: aws.String(sn),
					Attribute: types.SnapshotAttributeNameCreateVolumePermission, OperationType: types.OperationTypeAdd,
					CreateVolumePermission: &types.CreateVolumePermissionModifications{Add: vol}}); err != nil {
					return fmt.Errorf("share snapshot %s in %s (snapshot_users, snapshot_groups): %w", sn, t.region, err)
				}
			}
		}
	}
	s.log.Info(fmt.Sprintf("shared: launch permission for %d, create-volume permission for %d, in %d region(s)", len(launch), len(vol), len(targets)))
	return nil
}
