package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/docker/docker/api/types/network"

	simec2 "github.com/bakehq/bake/sim/ec2"
)

// TestAMIUpdatesAndNewerBase runs the nightly's two reasons to rebake an
// unchanged amazon-ebs source on one local cloud, with the real builder:
//
//   - pending updates: bake outdated starts the newest AMI (as a bake
//     starts its instance) and counts apt's pending updates, and rebuild
//     --nightly --check-updates rebakes it for them;
//   - a newer base: an AMI registered later that matches the source's
//     source_ami_filter (most_recent) makes outdated say "newer base" with
//     both AMI ids, and a nightly rebakes exactly that source, naming the
//     newer base; the next nightly skips it.
//
// Afterwards no instance runs and no key pair or security group of bake's
// is left.
func TestAMIUpdatesAndNewerBase(t *testing.T) {
	startSim(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e := ec2.NewFromConfig(cfg)

	// The bases are AMIs of this account named base-N, registered from the
	// Debian AMI's snapshot; the newest is the source.
	deb, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{simec2.DebianOwnerID}, Filters: []ec2types.Filter{{Name: aws.String("name"), Values: []string{"debian-12-amd64-*"}}}})
	if err != nil || len(deb.Images) != 1 {
		t.Fatalf("find the debian ami: %v %v", err, deb)
	}
	snap := aws.ToString(deb.Images[0].BlockDeviceMappings[0].Ebs.SnapshotId)
	register := func(name string) string {
		t.Helper()
		out, err := e.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String(name), RootDeviceName: aws.String("/dev/xvda"),
			BlockDeviceMappings: []ec2types.BlockDeviceMapping{{DeviceName: aws.String("/dev/xvda"), Ebs: &ec2types.EbsBlockDevice{SnapshotId: aws.String(snap)}}}})
		if err != nil {
			t.Fatalf("register %s: %v", name, err)
		}
		return aws.ToString(out.ImageId)
	}
	base1 := register("bake-test-base-1")

	// The baked AMI fetches through the test's apt proxy, when there is
	// one, so that the check on it does too.
	inline := []string{`"echo baked | sudo tee /etc/bake-test"`}
	if p := aptProxy(t); p != "" {
		inline = append(inline, fmt.Sprintf(`"echo 'Acquire::http::Proxy \"%s\";' | sudo tee /etc/apt/apt.conf.d/01bake-test-proxy"`, p))
	}
	dir := t.TempDir()
	src := fmt.Sprintf(`source "amazon-ebs" "web" {
  instance_type = "t3.micro"
  source_ami_filter {
    filters     = { name = "bake-test-base-*" }
    owners      = ["self"]
    most_recent = true
  }
  ssh_username = "admin"
  ami_name     = "upd-${bake.version}"
}
build {
  name    = "upd"
  sources = ["source.amazon-ebs.web"]
  provisioner "shell" { inline = [%s] }
}
`, strings.Join(inline, ", "))
	if err := os.MkdirAll(filepath.Join(dir, "web"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "web", "web.bake.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	nightly := func(args ...string) row {
		t.Helper()
		r := bake(t, append([]string{"rebuild", dir, "--nightly"}, args...)...)
		t.Log(r.stdout)
		rows := table(r.stdout)
		if r.code != 0 || len(rows) != 1 {
			t.Fatalf("rebuild --nightly %s: %s", strings.Join(args, " "), r)
		}
		return rows[0]
	}
	// outdated checks the updates in ami, the newest AMI.
	outdated := func(ami string) row {
		t.Helper()
		r := bake(t, "outdated", dir)
		t.Log(r.stdout)
		rows := table(r.stdout)
		if r.code != 0 || len(rows) != 1 {
			t.Fatalf("outdated: %s", r)
		}
		if !strings.Contains(r.stderr, "starting an instance of "+ami) {
			t.Errorf("outdated did not say it started %s for the check:\n%s", ami, r.stderr)
		}
		return rows[0]
	}
	newest := func(name string) string {
		t.Helper()
		out, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"},
			Filters: []ec2types.Filter{{Name: aws.String("name"), Values: []string{name}}}})
		if err != nil || len(out.Images) != 1 {
			t.Fatalf("find the AMI %s: %v %+v", name, err, out)
		}
		return aws.ToString(out.Images[0].ImageId)
	}

	if got := nightly("--version", "u1"); got[2] != "rebuilt" || got[len(got)-1] != "never baked" {
		t.Fatalf("first nightly: %q", got)
	}

	// Pending updates: the base is debootstrapped from bookworm's main
	// suite, and its -security suite is always ahead.
	pending := regexp.MustCompile(`^([1-9][0-9]*) \(([0-9]+) security\)$`)
	got := outdated(newest("upd-u1"))
	if got[2] != "u1" || got[3] != "no" || !pending.MatchString(got[4]) || got[5] != "rebuild: updates pending" {
		t.Fatalf("outdated of an AMI with pending updates: %q", got)
	}
	n := pending.FindStringSubmatch(got[4])[1]
	got = nightly("--check-updates", "--version", "u2")
	if got[2] != "rebuilt" || !strings.HasPrefix(got[len(got)-1], n+" updates pending (") || !strings.Contains(got[len(got)-1], "upd-u1") {
		t.Fatalf("nightly --check-updates of an AMI with %s updates pending: %q", n, got)
	}

	// A newer base.
	time.Sleep(10 * time.Millisecond) // creation dates have milliseconds
	base2 := register("bake-test-base-2")
	got = outdated(newest("upd-u2"))
	if got[2] != "u2" || got[3] != "yes: "+base1+"→"+base2 || !strings.HasPrefix(got[5], "rebuild: newer base") {
		t.Fatalf("outdated after a newer base (%s, was %s): %q", base2, base1, got)
	}
	want := fmt.Sprintf("newer base: bake-test-base-2 is %s, u2 was baked on %s", base2, base1)
	if got := nightly("--version", "u3"); got[2] != "rebuilt" || got[len(got)-1] != want {
		t.Fatalf("nightly after a newer base: %q, want reason %q", got, want)
	}
	if got := nightly("--version", "u4"); got[2] != "skipped" || !strings.HasPrefix(got[len(got)-1], "unchanged: upd-u3 has fingerprint") {
		t.Fatalf("nightly right after: %q", got)
	}
	imgs, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"},
		Filters: []ec2types.Filter{{Name: aws.String("name"), Values: []string{"upd-*"}}}})
	if err != nil || len(imgs.Images) != 3 {
		t.Errorf("want the AMIs upd-u1, upd-u2 and upd-u3 (the checks make none): %v %+v", err, imgs)
	}

	// Nothing of the bakes or the three checks is left.
	insts, err := e.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	launched := 0
	for _, r := range insts.Reservations {
		for _, i := range r.Instances {
			launched++
			if i.State.Name != ec2types.InstanceStateNameTerminated {
				t.Errorf("instance %s (%s, from %s) left %s", aws.ToString(i.InstanceId), tagValue(i.Tags, "Name"), aws.ToString(i.ImageId), i.State.Name)
			}
		}
	}
	if launched != 6 {
		t.Errorf("%d instances were launched, want 6 (3 bakes, 3 update checks)", launched)
	}
	keys, err := e.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys.KeyPairs {
		t.Errorf("key pair %s left", aws.ToString(k.KeyName))
	}
	groups, err := e.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups.SecurityGroups {
		if aws.ToString(g.GroupName) != "default" {
			t.Errorf("security group %s (%s) left", aws.ToString(g.GroupId), aws.ToString(g.GroupName))
		}
	}
}

func tagValue(tags []ec2types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

// aptProxy is the apt-cacher-ng hack/setup-recipes.sh runs, as the sim's
// instances (containers on the docker bridge) reach it, or "" to fetch
// from Debian's mirror. BAKE_TEST_APT_PROXY overrides it.
func aptProxy(t *testing.T) string {
	if p, ok := os.LookupEnv("BAKE_TEST_APT_PROXY"); ok {
		return p
	}
	conn, err := net.DialTimeout("tcp", "127.0.0.1:3142", time.Second)
	if err != nil {
		t.Logf("no apt-cacher-ng on 127.0.0.1:3142 (hack/setup-recipes.sh starts one): apt fetches from Debian's mirror")
		return ""
	}
	conn.Close()
	c := engine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nw, err := c.NetworkInspect(ctx, "bridge", network.InspectOptions{})
	if err != nil || len(nw.IPAM.Config) == 0 {
		return ""
	}
	if gw := nw.IPAM.Config[0].Gateway; gw != "" {
		return "http://" + gw + ":3142"
	}
	_, subnet, err := net.ParseCIDR(nw.IPAM.Config[0].Subnet)
	if err != nil {
		return ""
	}
	ip := subnet.IP.To4()
	if ip == nil {
		return ""
	}
	gw := net.IPv4(ip[0], ip[1], ip[2], ip[3]+1)
	return "http://" + gw.String() + ":3142"
}
