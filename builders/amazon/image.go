package amazon

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/internal/awserr"
)

// lineage are the tags on the AMI and its snapshots: the version, the
// source AMI, the input fingerprint, the revision, the build time and
// the bake's name (bake's labels), and the run.
func (s *state) lineage() map[string]string {
	t := map[string]string{}
	for k, v := range s.meta.Labels {
		if v != "" {
			t[k] = v
		}
	}
	t["dev.bake.source-ami"] = s.sourceAMI
	t["dev.bake.source-region"] = s.cl.region()
	return t
}

func (s *state) imageTags() map[string]string {
	m := map[string]string{}
	user := s.cfg.Tags
	if s.r != nil {
		user = s.r.tags
	}
	for k, v := range user {
		m[k] = v
	}
	for k, v := range s.lineage() {
		m[k] = v
	}
	for k, v := range s.runTags() {
		m[k] = v
	}
	return m
}

// snapshotTags are snapshot_tags (Packer gives snapshots those, not
// tags) with the lineage and the run's tags.
func (s *state) snapshotTags() map[string]string {
	m := map[string]string{}
	user := s.cfg.SnapshotTags
	if s.r != nil {
		user = s.r.snapTags
	}
	for k, v := range user {
		m[k] = v
	}
	for k, v := range s.lineage() {
		m[k] = v
	}
	for k, v := range s.runTags() {
		m[k] = v
	}
	return m
}

// description is ami_description, rendered.
func (s *state) description() *string {
	if s.r != nil {
		return nilIfEmpty(s.r.description)
	}
	return nilIfEmpty(s.cfg.AMIDescription)
}

// imageMappings are the block device mappings CreateImage gives the AMI:
// each launch_block_device_mappings volume with the delete_on_termination
// asked for (the build instance's own always go with it), then
// ami_block_device_mappings, which win for the same device.
func imageMappings(c *Config) []types.BlockDeviceMapping {
	byDev := map[string]types.BlockDeviceMapping{}
	var order []string
	add := func(m types.BlockDeviceMapping) {
		d := aws.ToString(m.DeviceName)
		if _, ok := byDev[d]; !ok {
			order = append(order, d)
		}
		byDev[d] = m
	}
	for _, bd := range c.LaunchBlockDeviceMappings {
		if bd.NoDevice || bd.VirtualName != "" {
			continue
		}
		add(types.BlockDeviceMapping{DeviceName: aws.String(bd.DeviceName),
			Ebs: &types.EbsBlockDevice{DeleteOnTermination: aws.Bool(bd.DeleteOnTermination != nil && *bd.DeleteOnTermination)}})
	}
	for _, bd := range c.AMIBlockDeviceMappings {
		add(bd.sdk())
	}
	var out []types.BlockDeviceMapping
	for _, d := range order {
		out = append(out, byDev[d])
	}
	return out
}

// imageName is the name CreateImage gives: with encrypt_boot the AMI is
// an intermediate one that the encrypt step copies, encrypted, to
// ami_name and deregisters.
func (s *state) imageName() string {
	if s.cfg.EncryptBoot {
		return truncate(s.cfg.AMIName, 110) + "-unencrypted-" + s.bakeID
	}
	return s.cfg.AMIName
}

// createImage makes the AMI from the instance. EC2 shuts the instance
// down for a consistent snapshot (NoReboot false).
func createImage(ctx context.Context, s *state) error {
	c := s.cfg
	out, err := s.api.CreateImage(ctx, &ec2.CreateImageInput{
		InstanceId:          aws.String(s.instanceID),
		Name:                aws.String(s.imageName()),
		Description:         s.description(),
		BlockDeviceMappings: imageMappings(c),
		TagSpecifications: []types.TagSpecification{
			tagSpec(types.ResourceTypeImage, s.imageTags()),
			tagSpec(types.ResourceTypeSnapshot, s.snapshotTags()),
		},
	})
	if err != nil {
		return fmt.Errorf("create image %s from %s: %w", s.imageName(), s.instanceID, err)
	}
	s.amiID = aws.ToString(out.ImageId)
	s.log.Info(fmt.Sprintf("image %s (%s) being made from %s", s.amiID, s.imageName(), s.instanceID))
	return nil
}

// waitImage waits for the AMI, reporting its snapshots' progress.
func waitImage(ctx context.Context, s *state) error {
	snaps, err := waitAvailable(ctx, s, s.api, s.cl.region(), s.amiID)
	if err != nil {
		return err
	}
	s.snapshots = snaps
	s.log.Info(fmt.Sprintf("image %s is available (snapshots %s)", s.amiID, strings.Join(snaps, ", ")))
	return nil
}

// waitAvailable waits for ami in region and returns its snapshots.
func waitAvailable(ctx context.Context, s *state, api images, region, ami string) ([]string, error) {
	var snaps []string
	err := poll(ctx, s.log, "image "+ami+" in "+region, s.cfg.imageTO, func(ctx context.Context) (bool, string, error) {
		out, err := api.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{ami}})
		if awserr.NotFound(err) {
			return false, "not visible yet", nil
		}
		if err != nil {
			return false, "", fmt.Errorf("describe image %s in %s: %w", ami, region, err)
		}
		if len(out.Images) == 0 {
			return false, "not visible yet", nil
		}
		im := out.Images[0]
		snaps = snapshotsOf(im)
		switch im.State {
		case types.ImageStateAvailable:
			return true, "", nil
		case types.ImageStatePending:
		default:
			reason := ""
			if im.StateReason != nil {
				reason = ": " + aws.ToString(im.StateReason.Message)
			}
			return false, "", fmt.Errorf("image %s in %s is %s%s", ami, region, im.State, reason)
		}
		progress := string(im.State)
		if len(snaps) > 0 {
			so, err := api.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: snaps})
			if err == nil {
				var ps []string
				for _, sn := range so.Snapshots {
					ps = append(ps, aws.ToString(sn.SnapshotId)+" "+aws.ToString(sn.Progress))
				}
				progress += ", snapshots " + strings.Join(ps, ", ")
			}
		}
		return false, progress, nil
	})
	return snaps, err
}

func snapshotsOf(im types.Image) []string {
	var snaps []string
	for _, b := range im.BlockDeviceMappings {
		if b.Ebs != nil && b.Ebs.SnapshotId != nil {
			snaps = append(snaps, *b.Ebs.SnapshotId)
		}
	}
	return snaps
}

// encryptImage copies the intermediate AMI, encrypted with kms_key_id (or
// the account's default EBS key), to ami_name, and removes the
// intermediate one. Without encrypt_boot it does nothing.
func encryptImage(ctx context.Context, s *state) error {
	c := s.cfg
	if !c.EncryptBoot {
		return nil
	}
	plain, plainSnaps := s.amiID, s.snapshots
	out, err := s.api.CopyImage(ctx, &ec2.CopyImageInput{
		SourceImageId: aws.String(plain), SourceRegion: aws.String(s.cl.region()), Name: aws.String(c.AMIName),
		Description: s.description(), Encrypted: aws.Bool(true), KmsKeyId: nilIfEmpty(c.KMSKeyID),
		ClientToken:       aws.String(s.cfg.runUUID + "-" + s.bakeID + "-encrypt"),
		TagSpecifications: []types.TagSpecification{tagSpec(types.ResourceTypeImage, s.imageTags())},
	})
	if err != nil {
		return fmt.Errorf("copy image %s encrypted as %s: %w", plain, c.AMIName, err)
	}
	s.amiID = aws.ToString(out.ImageId)
	if err := tagImage(ctx, s.api, s.amiID, s.imageTags()); err != nil {
		return err
	}
	snaps, err := waitAvailable(ctx, s, s.api, s.cl.region(), s.amiID)
	if err != nil {
		return err
	}
	s.snapshots = snaps
	if err := tagSnapshots(ctx, s.api, snaps, s.snapshotTags()); err != nil {
		return err
	}
	if err := deregister(ctx, s, s.api, plain, plainSnaps); err != nil {
		return fmt.Errorf("remove the unencrypted image: %w", err)
	}
	s.log.Info(fmt.Sprintf("image %s is the encrypted copy of %s, which is removed", s.amiID, plain))
	return nil
}

// tagImage tags a copied AMI. CopyImage takes TagSpecifications on AWS
// (so a copy whose answer is lost is still found by its tags), but not
// every EC2 API does; CreateTags makes sure.
func tagImage(ctx context.Context, api images, ami string, tags map[string]string) error {
	if _, err := api.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{ami}, Tags: tagList(tags)}); err != nil {
		return fmt.Errorf("tag image %s: %w", ami, err)
	}
	return nil
}

func tagSnapshots(ctx context.Context, api images, snaps []string, tags map[string]string) error {
	if len(snaps) == 0 {
		return nil
	}
	if _, err := api.CreateTags(ctx, &ec2.CreateTagsInput{Resources: snaps, Tags: tagList(tags)}); err != nil {
		return fmt.Errorf("tag snapshots %s: %w", strings.Join(snaps, ", "), err)
	}
	return nil
}

// releaseOwner drops the owner tags from the finished AMIs and their
// snapshots: they are the product now, which bake gc must never take for
// a dead run's leftovers.
func releaseOwner(ctx context.Context, s *state) error {
	var keys []types.Tag
	for _, k := range bake.OwnerKeys {
		keys = append(keys, types.Tag{Key: aws.String(k)})
	}
	drop := func(api images, ids []string) error {
		if len(ids) == 0 || ids[0] == "" {
			return nil
		}
		if _, err := api.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: ids, Tags: keys}); err != nil {
			return fmt.Errorf("drop the owner tags of finished %s: %w", strings.Join(ids, ", "), err)
		}
		return nil
	}
	if err := drop(s.api, append([]string{s.amiID}, s.snapshots...)); err != nil {
		return err
	}
	for _, r := range slices.Sorted(maps.Keys(s.copies)) {
		c := s.copies[r]
		if err := drop(s.cl.in(r), append([]string{c.ami}, c.snapshots...)); err != nil {
			return fmt.Errorf("in %s: %w", r, err)
		}
	}
	return nil
}

// deregister removes an AMI and then its snapshots; missing ones are done.
func deregister(ctx context.Context, s *state, api images, ami string, snaps []string) error {
	if ami != "" {
		if _, err := api.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(ami)}); err != nil && !awserr.NotFound(err) {
			return fmt.Errorf("deregister image %s: %w", ami, err)
		}
		s.log.Info("image " + ami + " deregistered")
	}
	var errs []error
	for _, sn := range snaps {
		if _, err := api.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(sn)}); err != nil && !awserr.NotFound(err) {
			errs = append(errs, fmt.Errorf("delete snapshot %s: %w", sn, err))
		}
	}
	return errors.Join(errs...)
}

// deregisterImages removes this bake's unfinished AMIs in the build
// region, found by id and by tag (a CreateImage cut off by Ctrl-C may
// have made one), waiting for pending ones so that their snapshots can go
// too.
func deregisterImages(ctx context.Context, s *state) error {
	err := sweepImages(ctx, s, s.api, s.cl.region(), s.amiID)
	if err == nil {
		s.amiID, s.snapshots = "", nil
	}
	return err
}

// sweepImages removes every AMI of this bake in region, and its snapshots.
func sweepImages(ctx context.Context, s *state, api images, region, known string) error {
	found := map[string][]string{}
	if known != "" {
		found[known] = nil
	}
	out, err := api.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: s.runFilters()})
	if err != nil {
		return fmt.Errorf("find this bake's images in %s: %w", region, err)
	}
	for _, im := range out.Images {
		found[aws.ToString(im.ImageId)] = nil
	}
	var errs []error
	for _, ami := range slices.Sorted(maps.Keys(found)) {
		// A pending image's snapshot cannot be deleted until it is done.
		snaps, err := waitSettled(ctx, s, api, region, ami)
		if err != nil {
			errs = append(errs, err)
		}
		if err := deregister(ctx, s, api, ami, snaps); err != nil {
			errs = append(errs, fmt.Errorf("in %s: %w", region, err))
		}
	}
	// Snapshots tagged by a CreateImage whose image is gone.
	so, err := api.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, Filters: s.runFilters()})
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("find this bake's snapshots in %s: %w", region, err))...)
	}
	for _, sn := range so.Snapshots {
		if err := deregister(ctx, s, api, "", []string{aws.ToString(sn.SnapshotId)}); err != nil {
			errs = append(errs, fmt.Errorf("in %s: %w", region, err))
		}
	}
	return errors.Join(errs...)
}

// waitSettled waits (briefly) until an AMI is no longer pending and
// returns its snapshots.
func waitSettled(ctx context.Context, s *state, api images, region, ami string) ([]string, error) {
	var snaps []string
	err := poll(ctx, s.log, "image "+ami+" to settle before removal", 5*time.Minute, func(ctx context.Context) (bool, string, error) {
		out, err := api.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{ami}})
		if awserr.NotFound(err) {
			return true, "", nil
		}
		if err != nil {
			return false, "", err
		}
		if len(out.Images) == 0 {
			return true, "", nil
		}
		snaps = snapshotsOf(out.Images[0])
		return out.Images[0].State != types.ImageStatePending, string(out.Images[0].State), nil
	})
	if err != nil {
		return snaps, fmt.Errorf("image %s in %s: %w", ami, region, err)
	}
	return snaps, nil
}

// copyImages copies the AMI to every region of ami_regions at once and
// waits for each copy, tagging the copies and their snapshots.
func copyImages(ctx context.Context, s *state) error {
	c := s.cfg
	s.copies = map[string]*regionCopy{}
	var regions []string
	for _, r := range c.AMIRegions {
		if r != s.cl.region() {
			regions = append(regions, r)
			s.copies[r] = &regionCopy{}
		}
	}
	if len(regions) == 0 {
		return nil
	}
	var wg sync.WaitGroup
	errs := make([]error, len(regions))
	for i, r := range regions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = copyTo(ctx, s, r, s.copies[r])
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func copyTo(ctx context.Context, s *state, region string, rc *regionCopy) error {
	c := s.cfg
	api := s.cl.in(region)
	in := &ec2.CopyImageInput{
		SourceImageId: aws.String(s.amiID), SourceRegion: aws.String(s.cl.region()), Name: aws.String(c.AMIName),
		Description: s.description(), ClientToken: aws.String(s.cfg.runUUID + "-" + s.bakeID + "-" + region),
		TagSpecifications: []types.TagSpecification{tagSpec(types.ResourceTypeImage, s.imageTags())},
	}
	if c.EncryptBoot {
		// kms_key_id names a key of the build region; the copies use
		// each region's default EBS key.
		in.Encrypted = aws.Bool(true)
		if c.pc != nil {
			in.KmsKeyId = nilIfEmpty(c.pc.AMIRegionKMSKeyIDs[region])
		}
	}
	out, err := api.CopyImage(ctx, in)
	if err != nil {
		return fmt.Errorf("copy image %s to %s: %w", s.amiID, region, err)
	}
	rc.ami = aws.ToString(out.ImageId)
	if err := tagImage(ctx, api, rc.ami, s.imageTags()); err != nil {
		return fmt.Errorf("copy to %s: %w", region, err)
	}
	s.log.Info(fmt.Sprintf("copying image %s to %s as %s", s.amiID, region, rc.ami))
	snaps, err := waitAvailable(ctx, s, api, region, rc.ami)
	rc.snapshots = snaps
	if err != nil {
		return fmt.Errorf("copy image %s to %s: %w", s.amiID, region, err)
	}
	if err := tagSnapshots(ctx, api, snaps, s.snapshotTags()); err != nil {
		return fmt.Errorf("copy to %s: %w", region, err)
	}
	s.log.Info(fmt.Sprintf("image %s is available in %s", rc.ami, region))
	return nil
}

// deregisterCopies removes this bake's AMIs in every ami_regions region.
func deregisterCopies(ctx context.Context, s *state) error {
	var errs []error
	for _, r := range s.cfg.AMIRegions {
		if r == s.cl.region() {
			continue
		}
		known := ""
		if rc := s.copies[r]; rc != nil {
			known = rc.ami
		}
		if err := sweepImages(ctx, s, s.cl.in(r), r, known); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// deprecateImages sets deprecate_at on the AMI and its copies.
func deprecateImages(ctx context.Context, s *state) error {
	if s.cfg.DeprecateAt == "" {
		return nil
	}
	set := func(api images, region, ami string) error {
		if _, err := api.EnableImageDeprecation(ctx, &ec2.EnableImageDeprecationInput{ImageId: aws.String(ami), DeprecateAt: aws.Time(s.cfg.deprecate)}); err != nil {
			return fmt.Errorf("set deprecate_at %s on %s in %s: %w", s.cfg.DeprecateAt, ami, region, err)
		}
		return nil
	}
	if err := set(s.api, s.cl.region(), s.amiID); err != nil {
		return err
	}
	for _, r := range slices.Sorted(maps.Keys(s.copies)) {
		if err := set(s.cl.in(r), r, s.copies[r].ami); err != nil {
			return err
		}
	}
	s.log.Info("images deprecate at " + s.cfg.DeprecateAt)
	return nil
}
