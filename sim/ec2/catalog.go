package ec2

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/bakehq/bake/sim/core"
)

// The accounts that publish the public AMIs real templates filter on.
const (
	CanonicalOwnerID = "099720109477"
	AmazonOwnerID    = "137112412989"
)

// publicAMI is one public AMI of the catalog, named, owned and described
// as its publisher names them. Every one is backed by the sim's Debian
// image: the OS underneath is Debian bookworm whatever the name says.
type publicAMI struct {
	owner, alias string
	name         string // with %s for the stamp
	stamp        string // Go layout of the stamp in the name
	desc         string // with %s for the stamp (as stampDesc)
	stampDesc    string
	user         string // login user (cloud-init's default user)
	arch         types.ArchitectureValues
	root         string
	volume       types.VolumeType
	bootMode     types.BootModeValues
}

// catalog is the public AMIs: Canonical's Ubuntu releases (hvm-ssd, and
// hvm-ssd-gp3 where Canonical publishes it), Debian's 10 to 12 and Amazon
// Linux 2023, 2 and 1, each for x86_64 and arm64 where its publisher has
// one.
func catalog() []publicAMI {
	var out []publicAMI
	ubuntu := []struct{ code, version, lts string }{
		{"xenial", "16.04", " LTS"}, {"bionic", "18.04", " LTS"}, {"focal", "20.04", " LTS"},
		{"jammy", "22.04", " LTS"}, {"noble", "24.04", " LTS"},
	}
	for _, u := range ubuntu {
		volumes := []string{"hvm-ssd"}
		switch u.code {
		case "jammy":
			volumes = append(volumes, "hvm-ssd-gp3")
		case "noble":
			volumes = []string{"hvm-ssd-gp3"}
		}
		for _, v := range volumes {
			for _, a := range []struct {
				deb  string
				arch types.ArchitectureValues
			}{{"amd64", types.ArchitectureValuesX8664}, {"arm64", types.ArchitectureValuesArm64}} {
				vt := types.VolumeTypeGp2
				if v == "hvm-ssd-gp3" {
					vt = types.VolumeTypeGp3
				}
				out = append(out, publicAMI{
					owner: CanonicalOwnerID,
					name:  "ubuntu/images/" + v + "/ubuntu-" + u.code + "-" + u.version + "-" + a.deb + "-server-%s", stamp: "20060102",
					desc: "Canonical, Ubuntu, " + u.version + u.lts + ", " + a.deb + " " + u.code + " image build on %s", stampDesc: "2006-01-02",
					user: "ubuntu", arch: a.arch, root: "/dev/sda1", volume: vt, bootMode: types.BootModeValuesUefi,
				})
			}
		}
	}
	for _, d := range []struct{ version, code string }{{"10", "buster"}, {"11", "bullseye"}, {"12", "bookworm"}} {
		for _, a := range []struct {
			deb  string
			arch types.ArchitectureValues
		}{{"amd64", types.ArchitectureValuesX8664}, {"arm64", types.ArchitectureValuesArm64}} {
			out = append(out, publicAMI{
				owner: DebianOwnerID,
				name:  "debian-" + d.version + "-" + a.deb + "-%s", stamp: "20060102-1504",
				desc: "Debian " + d.version + " (%s)", stampDesc: "20060102-1504",
				user: "admin", arch: a.arch, root: "/dev/xvda", volume: types.VolumeTypeGp2, bootMode: types.BootModeValuesUefi,
			})
		}
	}
	for _, a := range []struct {
		name string
		arch types.ArchitectureValues
	}{{"x86_64", types.ArchitectureValuesX8664}, {"arm64", types.ArchitectureValuesArm64}} {
		out = append(out,
			publicAMI{
				owner: AmazonOwnerID, alias: "amazon",
				name: "al2023-ami-2023.6.%s.0-kernel-6.1-" + a.name, stamp: "20060102",
				desc: "Amazon Linux 2023 AMI 2023.6.%s.0 " + a.name + " HVM kernel-6.1", stampDesc: "20060102",
				user: "ec2-user", arch: a.arch, root: "/dev/xvda", volume: types.VolumeTypeGp3, bootMode: types.BootModeValuesUefi,
			},
			publicAMI{
				owner: AmazonOwnerID, alias: "amazon",
				name: "amzn2-ami-hvm-2.0.%s.0-" + a.name + "-gp2", stamp: "20060102",
				desc: "Amazon Linux 2 AMI 2.0.%s.0 " + a.name + " HVM gp2", stampDesc: "20060102",
				user: "ec2-user", arch: a.arch, root: "/dev/xvda", volume: types.VolumeTypeGp2,
			},
			publicAMI{
				owner: AmazonOwnerID, alias: "amazon",
				name: "amzn2-ami-kernel-5.10-hvm-2.0.%s.0-" + a.name + "-gp2", stamp: "20060102",
				desc: "Amazon Linux 2 Kernel 5.10 AMI 2.0.%s.0 " + a.name + " HVM gp2", stampDesc: "20060102",
				user: "ec2-user", arch: a.arch, root: "/dev/xvda", volume: types.VolumeTypeGp2,
			})
	}
	out = append(out, publicAMI{
		owner: AmazonOwnerID, alias: "amazon",
		name: "amzn-ami-hvm-2018.03.0.%s.0-x86_64-gp2", stamp: "20060102",
		desc: "Amazon Linux AMI 2018.03.0.%s.0 x86_64 HVM gp2", stampDesc: "20060102",
		user: "ec2-user", arch: types.ArchitectureValuesX8664, root: "/dev/xvda", volume: types.VolumeTypeGp2,
	})
	return out
}

// seedPublic registers the catalog's public AMIs, all backed by the
// systemd image ref and stamped with its build time.
func (e *EC2) seedPublic(ctx context.Context, ref string) error {
	info, err := e.rt.Image(ctx, ref)
	if err != nil {
		return fmt.Errorf("seed the public amis: %w (run hack/setup-sim.sh to make it)", err)
	}
	at := info.Created.UTC()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range catalog() {
		name := fmt.Sprintf(p.name, at.Format(p.stamp))
		im := e.seed(name, ref, info, p.owner, true)
		im.Description = strPtr(fmt.Sprintf(p.desc, at.Format(p.stampDesc)))
		loc := p.owner
		if p.alias != "" {
			loc = p.alias
			im.ImageOwnerAlias = strPtr(p.alias)
		}
		im.ImageLocation = strPtr(loc + "/" + name)
		im.Architecture = p.arch
		im.RootDeviceName = strPtr(p.root)
		im.BootMode = p.bootMode
		im.BlockDeviceMappings[0].DeviceName = strPtr(p.root)
		im.BlockDeviceMappings[0].Ebs.VolumeType = p.volume
		im.DeprecationTime = strPtr(at.AddDate(2, 0, 0).Format(core.TimeFormat))
		im.LoginUser = p.user
	}
	return nil
}

// snapshotUser is the login user of the AMI whose root snapshot is snap,
// for an AMI registered from it. Call with e.mu held.
func (e *EC2) snapshotUser(snap string) string {
	for _, id := range slices.Sorted(maps.Keys(e.st.Images)) {
		im := e.st.Images[id]
		if len(im.BlockDeviceMappings) > 0 && im.BlockDeviceMappings[0].Ebs != nil &&
			deref(im.BlockDeviceMappings[0].Ebs.SnapshotId) == snap && im.LoginUser != "" {
			return im.LoginUser
		}
	}
	return ""
}
