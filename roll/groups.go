package roll

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/internal/awserr"
)

// groups lists the service's live Auto Scaling groups (not being
// deleted), by the roll:service tag.
func (r *Roller) groups(ctx context.Context) ([]astypes.AutoScalingGroup, error) {
	return serviceGroups(ctx, r.c.Groups, r.svc.Name)
}

func serviceGroups(ctx context.Context, api GroupsAPI, service string) ([]astypes.AutoScalingGroup, error) {
	var out []astypes.AutoScalingGroup
	in := &autoscaling.DescribeAutoScalingGroupsInput{Filters: []astypes.Filter{{Name: aws.String("tag:" + TagService), Values: []string{service}}}}
	for i := 0; i < 100; i++ {
		page, err := api.DescribeAutoScalingGroups(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list the auto scaling groups of service %s: %w", service, err)
		}
		for _, g := range page.AutoScalingGroups {
			if g.Status == nil { // "Delete in progress" otherwise
				out = append(out, g)
			}
		}
		if page.NextToken == nil {
			break
		}
		in.NextToken = page.NextToken
	}
	return out, nil
}

func (r *Roller) group(ctx context.Context, name string) (*astypes.AutoScalingGroup, error) {
	out, err := r.c.Groups.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil {
		return nil, fmt.Errorf("describe auto scaling group %s: %w", name, err)
	}
	for _, g := range out.AutoScalingGroups {
		if aws.ToString(g.AutoScalingGroupName) == name && g.Status == nil {
			return &g, nil
		}
	}
	return nil, nil
}

func tagOf(g astypes.AutoScalingGroup, key string) string {
	for _, t := range g.Tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

func sideOf(g astypes.AutoScalingGroup) *Side {
	s := &Side{Group: aws.ToString(g.AutoScalingGroupName), Slot: tagOf(g, TagSlot), Image: tagOf(g, TagImage), CreatedBy: tagOf(g, TagCreatedBy)}
	if g.LaunchTemplate != nil {
		s.Template = aws.ToString(g.LaunchTemplate.Version)
	}
	return s
}

// resolveImage finds the AMI to roll to: an image id, the newest of the
// account's images bake tagged with version V, or the image a channel
// parameter names.
func (r *Roller) resolveImage(ctx context.Context, o Options) (string, error) {
	n := 0
	for _, v := range []string{o.Image, o.Version, o.Channel} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return "", bake.BadInputf("say what to roll to with exactly one of --image AMI, --version V or --channel C")
	}
	in := &ec2.DescribeImagesInput{}
	what := ""
	switch {
	case o.Image != "":
		in.ImageIds, what = []string{o.Image}, "image "+o.Image
	case o.Version != "":
		in.Owners = []string{"self"}
		in.Filters = []ec2types.Filter{{Name: aws.String("tag:" + bake.LabelVersion), Values: []string{o.Version}}}
		what = "an image tagged " + bake.LabelVersion + "=" + o.Version
	case o.Channel != "":
		// bake promote NAME VERSION --channel C writes /bake/NAME/C;
		// --channel NAME/C names the bake itself.
		param := ""
		switch {
		case strings.Contains(o.Channel, "/"):
			param = "/bake/" + strings.TrimPrefix(o.Channel, "/")
		case r.svc.Image != "":
			param = "/bake/" + r.svc.Image + "/" + o.Channel
		default:
			return "", bake.BadInputf("--channel %s: service %q does not say whose channel: add image = \"BUILD.TYPE.NAME\" (the bake that bake promote names) to it, or write --channel NAME/%s", o.Channel, r.svc.Name, o.Channel)
		}
		var ami string
		ok, err := (store{api: r.c.Parameters, service: r.svc.Name}).getRaw(ctx, param, &ami)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", bake.BadInputf("channel %q does not exist: no SSM parameter %s in %s (bake promote NAME VERSION --channel %s makes it)", o.Channel, param, r.region(), o.Channel)
		}
		in.ImageIds, what = []string{ami}, "image "+ami+" (channel "+o.Channel+")"
	}
	out, err := r.c.Machines.DescribeImages(ctx, in)
	if err != nil {
		if c := awserr.Code(err); strings.HasPrefix(c, "InvalidAMIID") {
			return "", bake.BadInputf("%s does not exist in %s (%s): bake it first, or check the id", what, r.region(), c)
		}
		return "", fmt.Errorf("look up %s: %w", what, err)
	}
	var ok []ec2types.Image
	for _, im := range out.Images {
		if im.State == ec2types.ImageStateAvailable {
			ok = append(ok, im)
		}
	}
	if len(ok) == 0 {
		return "", bake.BadInputf("%s does not exist or is not available in %s: bake it first, or check the id", what, r.region())
	}
	sort.Slice(ok, func(i, j int) bool { return aws.ToString(ok[i].CreationDate) > aws.ToString(ok[j].CreationDate) })
	return aws.ToString(ok[0].ImageId), nil
}

func (r *Roller) region() string {
	if r.svc.Region != "" {
		return r.svc.Region
	}
	return "the region"
}

// checkTemplate makes sure the launch template exists.
func (r *Roller) checkTemplate(ctx context.Context) (string, error) {
	out, err := r.c.Machines.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{r.svc.LaunchTemplate}})
	if err != nil || len(out.LaunchTemplates) == 0 {
		if err == nil || strings.Contains(awserr.Code(err), "NotFound") || strings.Contains(awserr.Code(err), "InvalidLaunchTemplateName") {
			return "", bake.BadInputf("launch template %q of service %s does not exist: create it, or fix launch_template", r.svc.LaunchTemplate, r.svc.Name)
		}
		return "", fmt.Errorf("describe launch template %s: %w", r.svc.LaunchTemplate, err)
	}
	return aws.ToString(out.LaunchTemplates[0].LaunchTemplateId), nil
}

// newTemplateVersion makes a version of the launch template with image.
func (r *Roller) newTemplateVersion(ctx context.Context, image, rollID string) (string, error) {
	data := &ec2types.RequestLaunchTemplateData{ImageId: aws.String(image)}
	if r.svc.InstanceType != "" {
		data.InstanceType = ec2types.InstanceType(r.svc.InstanceType)
	}
	out, err := r.c.Machines.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateName: aws.String(r.svc.LaunchTemplate), SourceVersion: aws.String("$Default"),
		VersionDescription: aws.String("roll " + rollID + ": " + image), LaunchTemplateData: data,
	})
	if err != nil {
		return "", fmt.Errorf("create a version of launch template %s with %s: %w", r.svc.LaunchTemplate, image, err)
	}
	return strconv.FormatInt(aws.ToInt64(out.LaunchTemplateVersion.VersionNumber), 10), nil
}

func (r *Roller) subnets(ctx context.Context) ([]string, error) {
	if len(r.svc.Subnets) > 0 {
		return r.svc.Subnets, nil
	}
	out, err := r.c.Machines.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("default-for-az"), Values: []string{"true"}}}})
	if err != nil {
		return nil, fmt.Errorf("find the default subnets: %w", err)
	}
	var ids []string
	for _, s := range out.Subnets {
		ids = append(ids, aws.ToString(s.SubnetId))
	}
	if len(ids) == 0 {
		return nil, bake.BadInputf("no default subnets in %s: set subnets in service %s", r.region(), r.svc.Name)
	}
	sort.Strings(ids)
	return ids, nil
}

// createGroup creates side's group (if it does not exist yet) at the
// given capacity, in the target groups the router starts a group of tg's
// slot in (with a single target group: none; the switch attaches it).
func (r *Roller) createGroup(ctx context.Context, st *State, side *Side, tg string, min, max, desired int32) error {
	if g, err := r.group(ctx, side.Group); err != nil || g != nil {
		return err // already made by the killed roll this one resumes
	}
	subnets, err := r.subnets(ctx)
	if err != nil {
		return err
	}
	tag := func(k, v string) astypes.Tag {
		return astypes.Tag{Key: aws.String(k), Value: aws.String(v), PropagateAtLaunch: aws.Bool(true),
			ResourceId: aws.String(side.Group), ResourceType: aws.String("auto-scaling-group")}
	}
	tgs := r.rt.CreateIn(tg)
	_, err = r.c.Groups.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(side.Group),
		LaunchTemplate:       &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String(r.svc.LaunchTemplate), Version: aws.String(side.Template)},
		MinSize:              aws.Int32(min), MaxSize: aws.Int32(max), DesiredCapacity: aws.Int32(desired),
		VPCZoneIdentifier:      aws.String(strings.Join(subnets, ",")),
		TargetGroupARNs:        tgs,
		HealthCheckType:        aws.String("ELB"),
		HealthCheckGracePeriod: aws.Int32(int32(r.svc.Grace / time.Second)),
		Tags: []astypes.Tag{tag(TagService, r.svc.Name), tag(TagSlot, side.Slot), tag(TagRollID, st.ID),
			tag(TagImage, side.Image), tag(TagCreatedBy, "roll"), tag("Name", side.Group)},
	})
	if err != nil {
		return fmt.Errorf("create auto scaling group %s: %w", side.Group, err)
	}
	return nil
}

// deleteGroup deletes a group roll created (instances drain from the
// target group first) and waits, bounded, until it is gone. A group roll
// did not create is only scaled to zero.
func (r *Roller) deleteGroup(ctx context.Context, side *Side) error {
	g, err := r.group(ctx, side.Group)
	if err != nil || g == nil {
		return err
	}
	if tagOf(*g, TagCreatedBy) != "roll" {
		r.log.Info(fmt.Sprintf("group %s was not created by roll: scaling it to 0 instead of deleting it", side.Group))
		_, err := r.c.Groups.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String(side.Group),
			MinSize: aws.Int32(0), DesiredCapacity: aws.Int32(0)})
		if err != nil {
			return fmt.Errorf("scale auto scaling group %s to 0: %w", side.Group, err)
		}
		return nil
	}
	_, err = r.c.Groups.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String(side.Group), ForceDelete: aws.Bool(true)})
	if err != nil && awserr.Code(err) != "ValidationError" {
		return fmt.Errorf("delete auto scaling group %s: %w", side.Group, err)
	}
	deadline := time.Now().Add(r.deleteWait)
	for time.Now().Before(deadline) {
		out, err := r.c.Groups.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{side.Group}})
		if err != nil {
			return fmt.Errorf("wait for auto scaling group %s to be deleted: %w", side.Group, err)
		}
		if len(out.AutoScalingGroups) == 0 {
			return nil
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
	r.log.Warn(fmt.Sprintf("group %s is still deleting after %s (its instances are draining); it will go on its own", side.Group, r.deleteWait))
	return nil
}

// health is one look at a group: how many instances are in service and
// healthy behind the load balancer (and, with a health path, answering
// it directly), and why the others are not.
type health struct {
	Want, Healthy int
	Why           []string
	Addrs         []string // direct addresses of the in-service instances
}

func (h health) OK() bool { return h.Want > 0 && h.Healthy == h.Want && len(h.Why) == 0 }

func (h health) String() string {
	s := fmt.Sprintf("%d/%d healthy", h.Healthy, h.Want)
	if len(h.Why) > 0 {
		s += ": " + strings.Join(h.Why, "; ")
	}
	return s
}

// inService lists the group's instances that are in service.
func inService(g astypes.AutoScalingGroup) []string {
	var ids []string
	for _, in := range g.Instances {
		if in.LifecycleState == astypes.LifecycleStateInService {
			ids = append(ids, aws.ToString(in.InstanceId))
		}
	}
	return ids
}

// targetHealth asks the load balancer about the instances ids of group in
// target group tg: which are healthy, and the state of the others.
func targetHealth(ctx context.Context, api LoadBalancerAPI, group, tg string, ids []string) (map[string]bool, []string, error) {
	var targets []elbtypes.TargetDescription
	for _, id := range ids {
		targets = append(targets, elbtypes.TargetDescription{Id: aws.String(id)})
	}
	th, err := api.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg), Targets: targets})
	if err != nil {
		return nil, nil, fmt.Errorf("describe target health of %s in %s: %w", group, tg, err)
	}
	healthy := map[string]bool{}
	var why []string
	for _, d := range th.TargetHealthDescriptions {
		id := aws.ToString(d.Target.Id)
		if d.TargetHealth != nil && d.TargetHealth.State == elbtypes.TargetHealthStateEnumHealthy {
			healthy[id] = true
		} else if d.TargetHealth != nil {
			why = append(why, fmt.Sprintf("%s %s", id, d.TargetHealth.State))
		}
	}
	return healthy, why, nil
}

func (r *Roller) checkHealth(ctx context.Context, side *Side, tg string) (health, error) {
	g, err := r.group(ctx, side.Group)
	if err != nil {
		return health{}, err
	}
	if g == nil {
		return health{Why: []string{"group " + side.Group + " does not exist"}}, nil
	}
	h := health{Want: int(aws.ToInt32(g.DesiredCapacity))}
	ids := inService(*g)
	if len(ids) == 0 {
		h.Why = append(h.Why, "no instance in service yet")
		return h, nil
	}
	healthy := map[string]bool{}
	if len(r.rt.CreateIn(tg)) == 0 && !slices.Contains(g.TargetGroupARNs, tg) {
		// Not attached yet to a target group the router attaches groups to
		// only at the switch (the single target group): the load balancer
		// has no view of it, so the instance state (and the direct checks
		// below, which that mode requires) decide.
		for _, in := range g.Instances {
			id := aws.ToString(in.InstanceId)
			if in.LifecycleState != astypes.LifecycleStateInService {
				continue
			}
			if hs := aws.ToString(in.HealthStatus); hs == "Healthy" {
				healthy[id] = true
			} else {
				h.Why = append(h.Why, fmt.Sprintf("%s %s", id, hs))
			}
		}
	} else {
		var why []string
		if healthy, why, err = targetHealth(ctx, r.c.LoadBalancers, side.Group, tg, ids); err != nil {
			return h, err
		}
		h.Why = append(h.Why, why...)
	}
	if r.svc.Health.Path != "" {
		out, err := r.c.Machines.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids})
		if err != nil {
			return h, fmt.Errorf("describe instances of %s: %w", side.Group, err)
		}
		for _, res := range out.Reservations {
			for _, in := range res.Instances {
				id := aws.ToString(in.InstanceId)
				addr := aws.ToString(in.PublicIpAddress)
				if addr == "" {
					addr = aws.ToString(in.PrivateIpAddress)
				}
				addr = net.JoinHostPort(addr, strconv.Itoa(r.svc.Health.Port))
				h.Addrs = append(h.Addrs, addr)
				if code, err := r.probe(ctx, addr); err != nil || code != r.svc.Health.Status {
					healthy[id] = false
					if err != nil {
						h.Why = append(h.Why, fmt.Sprintf("%s http://%s%s: %v", id, addr, r.svc.Health.Path, err))
					} else {
						h.Why = append(h.Why, fmt.Sprintf("%s http://%s%s answered %d, want %d", id, addr, r.svc.Health.Path, code, r.svc.Health.Status))
					}
				}
			}
		}
	}
	for _, id := range ids {
		if healthy[id] {
			h.Healthy++
		}
	}
	if len(ids) < h.Want {
		h.Why = append(h.Why, fmt.Sprintf("%d of %d instances in service", len(ids), h.Want))
	}
	return h, nil
}

// probe GETs the health path of one instance.
func (r *Roller) probe(ctx context.Context, addr string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, r.svc.Health.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+r.svc.Health.Path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
