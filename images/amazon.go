package images

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/internal/awserr"
)

// The AWS calls the AMI store makes, by service.
type (
	// AmazonEC2 finds, describes and removes AMIs and what uses them.
	AmazonEC2 interface {
		DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, opts ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error)
		DeregisterImage(ctx context.Context, in *ec2.DeregisterImageInput, opts ...func(*ec2.Options)) (*ec2.DeregisterImageOutput, error)
		DeleteSnapshot(ctx context.Context, in *ec2.DeleteSnapshotInput, opts ...func(*ec2.Options)) (*ec2.DeleteSnapshotOutput, error)
		DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, opts ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
		DescribeLaunchTemplates(ctx context.Context, in *ec2.DescribeLaunchTemplatesInput, opts ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplatesOutput, error)
		DescribeLaunchTemplateVersions(ctx context.Context, in *ec2.DescribeLaunchTemplateVersionsInput, opts ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplateVersionsOutput, error)
	}
	// AmazonSSM holds channels: /bake/NAME/CHANNEL, an aws:ec2:image
	// parameter that launch templates can resolve.
	AmazonSSM interface {
		PutParameter(ctx context.Context, in *ssm.PutParameterInput, opts ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
		GetParametersByPath(ctx context.Context, in *ssm.GetParametersByPathInput, opts ...func(*ssm.Options)) (*ssm.GetParametersByPathOutput, error)
	}
	// AmazonGroups finds the Auto Scaling groups that use an AMI.
	AmazonGroups interface {
		DescribeAutoScalingGroups(ctx context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, opts ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error)
	}
)

// AmazonRegion is one region's clients.
type AmazonRegion struct {
	Name   string
	EC2    AmazonEC2
	SSM    AmazonSSM
	Groups AmazonGroups
}

// Amazon is the store of AMIs bake made (tagged dev.bake.name) in one or
// more regions; a version's Repository is its region. A channel is the
// SSM parameter /bake/NAME/CHANNEL of each region, NAME being the bake's
// BUILD.TYPE.NAME.
type Amazon struct {
	Regions []AmazonRegion
}

// ChannelParameter is the SSM parameter of a channel.
func ChannelParameter(job, channel string) string { return "/bake/" + job + "/" + channel }

func (a *Amazon) region(name string) (AmazonRegion, error) {
	for _, r := range a.Regions {
		if r.Name == name {
			return r, nil
		}
	}
	return AmazonRegion{}, fmt.Errorf("region %s is not one of this command's regions", name)
}

// List returns the AMIs of name in every region, newest first.
func (a *Amazon) List(ctx context.Context, name string) ([]Version, error) {
	var out []Version
	for _, r := range a.Regions {
		vs, err := a.list(ctx, r, name)
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
	}
	Sort(out)
	return out, nil
}

func (a *Amazon) list(ctx context.Context, r AmazonRegion, name string) ([]Version, error) {
	in := &ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: []ec2types.Filter{
		{Name: aws.String("tag-key"), Values: []string{bake.LabelName}},
	}}
	var vs []Version
	for {
		out, err := r.EC2.DescribeImages(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list bake's images in %s: %w", r.Name, err)
		}
		for _, im := range out.Images {
			l := tagMap(im.Tags)
			job, ver := l[bake.LabelName], l[bake.LabelVersion]
			if ver == "" || !Matches(name, job, "") {
				continue
			}
			v := Version{Repository: r.Name, Version: ver, ID: aws.ToString(im.ImageId), Where: r.Name}
			created, _ := time.Parse(time.RFC3339, aws.ToString(im.CreationDate))
			fill(&v, l, created)
			for _, m := range im.BlockDeviceMappings {
				if m.Ebs != nil && aws.ToString(m.Ebs.SnapshotId) != "" {
					v.Snapshots = append(v.Snapshots, aws.ToString(m.Ebs.SnapshotId))
				}
			}
			vs = append(vs, v)
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	if len(vs) == 0 {
		return nil, nil
	}
	channels := map[string][]string{} // AMI → channels
	jobs := map[string]bool{}
	for _, v := range vs {
		if jobs[v.Name] {
			continue
		}
		jobs[v.Name] = true
		if err := a.channels(ctx, r, v.Name, channels); err != nil {
			return nil, err
		}
	}
	users, err := a.users(ctx, r)
	if err != nil {
		return nil, err
	}
	for i := range vs {
		vs[i].Channels = channels[vs[i].ID]
		sort.Strings(vs[i].Channels)
		vs[i].InUse = users[vs[i].ID]
	}
	return vs, nil
}

// channels adds the channels of job (the parameters under /bake/JOB/)
// to byAMI.
func (a *Amazon) channels(ctx context.Context, r AmazonRegion, job string, byAMI map[string][]string) error {
	in := &ssm.GetParametersByPathInput{Path: aws.String("/bake/" + job)}
	for {
		out, err := r.SSM.GetParametersByPath(ctx, in)
		if err != nil {
			return fmt.Errorf("read the channels of %s in %s (parameters /bake/%s/): %w", job, r.Name, job, err)
		}
		for _, p := range out.Parameters {
			ami := aws.ToString(p.Value)
			byAMI[ami] = append(byAMI[ami], path.Base(aws.ToString(p.Name)))
		}
		if aws.ToString(out.NextToken) == "" {
			return nil
		}
		in.NextToken = out.NextToken
	}
}

// users maps AMIs to what uses them in r: instances that are not
// terminated, launch template versions and Auto Scaling groups.
func (a *Amazon) users(ctx context.Context, r AmazonRegion) (map[string][]string, error) {
	m := map[string][]string{}
	add := func(ami, who string) {
		m[ami] = appendNew(m[ami], who)
	}
	inst := &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{{Name: aws.String("instance-state-name"),
		Values: []string{"pending", "running", "stopping", "stopped"}}}}
	for {
		out, err := r.EC2.DescribeInstances(ctx, inst)
		if err != nil {
			return nil, fmt.Errorf("list instances in %s: %w", r.Name, err)
		}
		for _, res := range out.Reservations {
			for _, i := range res.Instances {
				state := ""
				if i.State != nil {
					state = string(i.State.Name)
				}
				add(aws.ToString(i.ImageId), fmt.Sprintf("instance %s (%s)", aws.ToString(i.InstanceId), state))
			}
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		inst.NextToken = out.NextToken
	}
	// Every version of every template: any of them can be rolled back to.
	byTemplate := map[string]map[string]string{} // template id → version → AMI
	lts := &ec2.DescribeLaunchTemplatesInput{}
	for {
		out, err := r.EC2.DescribeLaunchTemplates(ctx, lts)
		if err != nil {
			return nil, fmt.Errorf("list launch templates in %s: %w", r.Name, err)
		}
		for _, lt := range out.LaunchTemplates {
			id, name := aws.ToString(lt.LaunchTemplateId), aws.ToString(lt.LaunchTemplateName)
			versions := map[string]string{}
			byTemplate[id] = versions
			vin := &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: lt.LaunchTemplateId}
			for {
				vout, err := r.EC2.DescribeLaunchTemplateVersions(ctx, vin)
				if err != nil {
					return nil, fmt.Errorf("list the versions of launch template %s in %s: %w", name, r.Name, err)
				}
				for _, v := range vout.LaunchTemplateVersions {
					if v.LaunchTemplateData == nil || v.LaunchTemplateData.ImageId == nil {
						continue
					}
					ami, n := aws.ToString(v.LaunchTemplateData.ImageId), fmt.Sprint(aws.ToInt64(v.VersionNumber))
					versions[n] = ami
					if aws.ToBool(v.DefaultVersion) {
						versions["$Default"] = ami
					}
					add(ami, fmt.Sprintf("launch template %s v%s", name, n))
				}
				if aws.ToString(vout.NextToken) == "" {
					break
				}
				vin.NextToken = vout.NextToken
			}
			versions["$Latest"] = versions[fmt.Sprint(aws.ToInt64(lt.LatestVersionNumber))]
			byTemplate[name] = versions
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		lts.NextToken = out.NextToken
	}
	if r.Groups == nil {
		return m, nil
	}
	gin := &autoscaling.DescribeAutoScalingGroupsInput{}
	for {
		out, err := r.Groups.DescribeAutoScalingGroups(ctx, gin)
		if err != nil {
			return nil, fmt.Errorf("list Auto Scaling groups in %s: %w", r.Name, err)
		}
		for _, g := range out.AutoScalingGroups {
			spec := g.LaunchTemplate
			if spec == nil && g.MixedInstancesPolicy != nil && g.MixedInstancesPolicy.LaunchTemplate != nil {
				spec = g.MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification
			}
			if spec == nil {
				continue
			}
			versions := byTemplate[aws.ToString(spec.LaunchTemplateId)]
			if versions == nil {
				versions = byTemplate[aws.ToString(spec.LaunchTemplateName)]
			}
			v := aws.ToString(spec.Version)
			if v == "" {
				v = "$Default"
			}
			if ami := versions[v]; ami != "" {
				add(ami, "Auto Scaling group "+aws.ToString(g.AutoScalingGroupName))
			}
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		gin.NextToken = out.NextToken
	}
	return m, nil
}

// SetChannel writes /bake/NAME/CHANNEL in v's region, as an aws:ec2:image
// parameter.
func (a *Amazon) SetChannel(ctx context.Context, v Version, channel string) error {
	if err := CheckChannel(channel); err != nil {
		return err
	}
	r, err := a.region(v.Repository)
	if err != nil {
		return err
	}
	name := ChannelParameter(v.Name, channel)
	_, err = r.SSM.PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String(name), Value: aws.String(v.ID), Type: ssmtypes.ParameterTypeString,
		DataType: aws.String("aws:ec2:image"), Overwrite: aws.Bool(true),
		Description: aws.String(fmt.Sprintf("bake channel %s of %s: version %s", channel, v.Name, v.Version)),
	})
	if err != nil {
		return fmt.Errorf("point channel %s (parameter %s in %s) at %s: %w", channel, name, r.Name, v.ID, err)
	}
	return nil
}

// Remove deregisters the AMI and deletes its snapshots.
func (a *Amazon) Remove(ctx context.Context, v Version) ([]string, error) {
	if len(v.Channels) > 0 || len(v.InUse) > 0 {
		return nil, fmt.Errorf("remove %s (%s): refused, it is pinned (channels %v, in use by %v)", v.ID, v.Version, v.Channels, v.InUse)
	}
	r, err := a.region(v.Repository)
	if err != nil {
		return nil, err
	}
	var done []string
	if _, err := r.EC2.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(v.ID)}); err != nil && !strings.HasPrefix(awserr.Code(err), "InvalidAMIID") {
		return nil, fmt.Errorf("deregister %s (%s) in %s: %w", v.ID, v.Version, r.Name, err)
	}
	done = append(done, fmt.Sprintf("image %s (%s) in %s", v.ID, v.Version, r.Name))
	var errs []error
	for _, s := range v.Snapshots {
		if _, err := r.EC2.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(s)}); err != nil && !awserr.Is(err, "InvalidSnapshot.NotFound") {
			errs = append(errs, fmt.Errorf("delete snapshot %s of %s in %s: %w (delete it by hand: aws ec2 delete-snapshot --snapshot-id %s)", s, v.ID, r.Name, err, s))
			continue
		}
		done = append(done, fmt.Sprintf("snapshot %s of %s", s, v.ID))
	}
	return done, errors.Join(errs...)
}

// FindAMI finds an available AMI of this account tagged with fingerprint
// fp in r.
func FindAMI(ctx context.Context, api interface {
	DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, opts ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error)
}, fp string) (*bake.Artifact, error) {
	out, err := api.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + bake.LabelFingerprint), Values: []string{fp}},
		{Name: aws.String("state"), Values: []string{"available"}},
	}})
	if err != nil {
		return nil, fmt.Errorf("look for an image with fingerprint %s: %w", fp, err)
	}
	var newest *ec2types.Image
	for i, im := range out.Images {
		if newest == nil || aws.ToString(im.CreationDate) > aws.ToString(newest.CreationDate) {
			newest = &out.Images[i]
		}
	}
	if newest == nil {
		return nil, nil
	}
	l := tagMap(newest.Tags)
	return &bake.Artifact{BuilderType: "amazon-ebs", ID: aws.ToString(newest.ImageId), Names: []string{aws.ToString(newest.Name)},
		Version: l[bake.LabelVersion], Fingerprint: fp}, nil
}

func tagMap(tags []ec2types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// LatestAMI returns the newest AMI of this account that job made, nil
// when there is none.
func LatestAMI(ctx context.Context, api interface {
	DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, opts ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error)
}, region, job string) (*Version, error) {
	out, err := api.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + bake.LabelName), Values: []string{job}},
	}})
	if err != nil {
		return nil, fmt.Errorf("list the images of %s in %s: %w", job, region, err)
	}
	var newest *Version
	for _, im := range out.Images {
		l := tagMap(im.Tags)
		v := Version{Repository: region, Version: l[bake.LabelVersion], ID: aws.ToString(im.ImageId), Where: region}
		created, _ := time.Parse(time.RFC3339, aws.ToString(im.CreationDate))
		fill(&v, l, created)
		if newest == nil || v.Created.After(newest.Created) {
			newest = &v
		}
	}
	return newest, nil
}
