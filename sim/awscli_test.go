package sim_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/bakehq/bake/internal/testenv"
	"github.com/bakehq/bake/sim"
)

// TestAWSCLI drives every operation of EC2, SSM and STS with Debian's
// awscli v2 — an implementation nobody here wrote — and checks its parsed
// output; then it checks every captured response under botocore's models.
func TestAWSCLI(t *testing.T) {
	t.Parallel()
	s := startSim(t, sim.Options{})
	rec := &recorder{h: s.Server}
	hs := httptest.NewServer(rec)
	t.Cleanup(hs.Close)
	newAWSCLI(t, hs.URL) // skips without the CLI

	t.Run("services", func(t *testing.T) {
		t.Run("ssm", func(t *testing.T) {
			t.Parallel()
			testSSMWithCLI(t, newAWSCLI(t, hs.URL))
		})
		t.Run("ec2", func(t *testing.T) {
			t.Parallel()
			testEC2WithCLI(t, s, newAWSCLI(t, hs.URL))
		})
	})
	if t.Failed() {
		return
	}
	// Every response, success or error, parses under botocore's models.
	calls := filepath.Join(t.TempDir(), "calls.jsonl")
	rec.write(t, calls)
	validateWithBotocore(t, calls)
}

// testEC2WithCLI drives EC2 (and STS) through an instance's life.
func testEC2WithCLI(t *testing.T, s *sim.Sim, aws *awsCLI) {
	dir := t.TempDir()

	// STS, regions, zones, the default VPC.
	if got := str(aws.ok("sts", "get-caller-identity"), "Account"); got != "123456789012" {
		t.Fatalf("account = %q", got)
	}
	if n := length(aws.ok("ec2", "describe-regions"), "Regions"); n < 10 {
		t.Fatalf("%d regions", n)
	}
	if got := str(aws.ok("ec2", "describe-regions", "--region-names", "eu-west-1"), "Regions", 0, "Endpoint"); got != "ec2.eu-west-1.amazonaws.com" {
		t.Fatalf("endpoint = %q", got)
	}
	azs := aws.ok("ec2", "describe-availability-zones")
	if length(azs, "AvailabilityZones") != 3 || str(azs, "AvailabilityZones", 0, "ZoneName") != "us-east-1a" {
		t.Fatalf("zones = %v", azs)
	}
	vpcs := aws.ok("ec2", "describe-vpcs", "--filters", "Name=is-default,Values=true")
	vpc := str(vpcs, "Vpcs", 0, "VpcId")
	if !strings.HasPrefix(vpc, "vpc-") || get(vpcs, "Vpcs", 0, "IsDefault") != true {
		t.Fatalf("vpcs = %v", vpcs)
	}
	subnets := aws.ok("ec2", "describe-subnets", "--filters", "Name=vpc-id,Values="+vpc, "Name=availability-zone,Values=us-east-1b")
	subnet := str(subnets, "Subnets", 0, "SubnetId")
	if length(subnets, "Subnets") != 1 || str(subnets, "Subnets", 0, "CidrBlock") != "172.31.16.0/20" {
		t.Fatalf("subnets = %v", subnets)
	}

	// The Debian AMI, found as packer's source_ami_filter finds it.
	imgs := aws.ok("ec2", "describe-images", "--owners", "136693071363",
		"--filters", "Name=name,Values=debian-12-amd64-*", "Name=architecture,Values=x86_64", "Name=root-device-type,Values=ebs")
	if length(imgs, "Images") != 1 {
		t.Fatalf("debian images = %v", imgs)
	}
	debian := str(imgs, "Images", 0, "ImageId")
	if d := str(imgs, "Images", 0, "Description"); !strings.HasPrefix(d, "Debian 12 (") {
		t.Fatalf("description = %q", d)
	}
	if n := length(aws.ok("ec2", "describe-images", "--owners", "self"), "Images"); n != 0 {
		t.Fatalf("%d images owned by self, want 0", n)
	}

	// Key pairs: create (the private key comes back), import, describe, delete.
	kp := aws.ok("ec2", "create-key-pair", "--key-name", "cli-key", "--key-type", "ed25519",
		"--tag-specifications", "ResourceType=key-pair,Tags=[{Key=team,Value=sre}]")
	keyPEM := str(kp, "KeyMaterial")
	signer, err := ssh.ParsePrivateKey([]byte(keyPEM))
	if err != nil {
		t.Fatalf("the key material does not parse: %v", err)
	}

	// Security groups.
	sg := str(aws.ok("ec2", "create-security-group", "--group-name", "web", "--description", "web servers", "--vpc-id", vpc), "GroupId")
	rules := aws.ok("ec2", "authorize-security-group-ingress", "--group-id", sg, "--protocol", "tcp", "--port", "8080", "--cidr", "0.0.0.0/0")
	if get(rules, "Return") != true || length(rules, "SecurityGroupRules") != 1 {
		t.Fatalf("authorize = %v", rules)
	}

	// The catalog (images, key pairs, groups, launch templates) is driven
	// while the instance boots and is imaged.
	t.Run("catalog", func(t *testing.T) {
		t.Parallel()
		aws := newAWSCLI(t, aws.endpoint)
		aws.fails("InvalidAMIID.NotFound", "ec2", "describe-images", "--image-ids", "ami-00000000000000000")
		aws.fails("InvalidAMIID.Malformed", "ec2", "describe-images", "--image-ids", "bogus")

		aws.fails("InvalidKeyPair.Duplicate", "ec2", "create-key-pair", "--key-name", "cli-key")
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		spub, _ := ssh.NewPublicKey(pub)
		pubFile := filepath.Join(dir, "imported.pub")
		if err := os.WriteFile(pubFile, ssh.MarshalAuthorizedKey(spub), 0o600); err != nil {
			t.Fatal(err)
		}
		imp := aws.ok("ec2", "import-key-pair", "--key-name", "imported", "--public-key-material", "fileb://"+pubFile)
		if !strings.HasPrefix(str(imp, "KeyPairId"), "key-") {
			t.Fatalf("import = %v", imp)
		}
		keys := aws.ok("ec2", "describe-key-pairs", "--filters", "Name=tag:team,Values=sre", "--include-public-key")
		if length(keys, "KeyPairs") != 1 || str(keys, "KeyPairs", 0, "KeyName") != "cli-key" || !strings.HasPrefix(str(keys, "KeyPairs", 0, "PublicKey"), "ssh-ed25519 ") {
			t.Fatalf("key pairs = %v", keys)
		}
		aws.ok("ec2", "delete-key-pair", "--key-name", "imported")
		aws.fails("InvalidKeyPair.NotFound", "ec2", "describe-key-pairs", "--key-names", "imported")

		aws.fails("InvalidGroup.Duplicate", "ec2", "create-security-group", "--group-name", "web", "--description", "again")
		aws.fails("InvalidPermission.Duplicate", "ec2", "authorize-security-group-ingress", "--group-id", sg, "--protocol", "tcp", "--port", "8080", "--cidr", "0.0.0.0/0")
		sgs := aws.ok("ec2", "describe-security-groups", "--group-ids", sg)
		if p := get(sgs, "SecurityGroups", 0, "IpPermissions", 0, "FromPort"); p != float64(8080) {
			t.Fatalf("security group = %v", sgs)
		}
		scratch := str(aws.ok("ec2", "create-security-group", "--group-name", "scratch", "--description", "to delete"), "GroupId")
		aws.ok("ec2", "delete-security-group", "--group-id", scratch)
		aws.fails("InvalidGroup.NotFound", "ec2", "delete-security-group", "--group-id", scratch)

		// Launch templates: versions inherit from their source version.
		lt := aws.ok("ec2", "create-launch-template", "--launch-template-name", "cli-lt", "--version-description", "v1",
			"--launch-template-data", `{"ImageId":"`+debian+`","InstanceType":"t3.micro","KeyName":"cli-key","SecurityGroupIds":["`+sg+`"]}`)
		ltID := str(lt, "LaunchTemplate", "LaunchTemplateId")
		aws.fails("InvalidLaunchTemplateName.AlreadyExistsException", "ec2", "create-launch-template", "--launch-template-name", "cli-lt",
			"--launch-template-data", `{"InstanceType":"t3.micro"}`)
		v2 := aws.ok("ec2", "create-launch-template-version", "--launch-template-id", ltID, "--source-version", "1",
			"--version-description", "v2", "--launch-template-data", `{"InstanceType":"t3.small"}`)
		if get(v2, "LaunchTemplateVersion", "VersionNumber") != float64(2) {
			t.Fatalf("version = %v", v2)
		}
		vers := aws.ok("ec2", "describe-launch-template-versions", "--launch-template-id", ltID, "--versions", "$Latest")
		data := get(vers, "LaunchTemplateVersions", 0, "LaunchTemplateData")
		if str(data, "InstanceType") != "t3.small" || str(data, "ImageId") != debian || str(data, "KeyName") != "cli-key" {
			t.Fatalf("version 2 did not inherit version 1: %v", data)
		}
		if n := length(aws.ok("ec2", "describe-launch-template-versions", "--launch-template-name", "cli-lt"), "LaunchTemplateVersions"); n != 2 {
			t.Fatalf("%d versions", n)
		}
		aws.fails("InvalidLaunchTemplateId.VersionNotFound", "ec2", "describe-launch-template-versions", "--launch-template-id", ltID, "--versions", "7")
		mod := aws.ok("ec2", "modify-launch-template", "--launch-template-id", ltID, "--default-version", "2")
		if get(mod, "LaunchTemplate", "DefaultVersionNumber") != float64(2) {
			t.Fatalf("modify = %v", mod)
		}
		lts := aws.ok("ec2", "describe-launch-templates", "--launch-template-names", "cli-lt")
		if get(lts, "LaunchTemplates", 0, "LatestVersionNumber") != float64(2) {
			t.Fatalf("templates = %v", lts)
		}
		aws.fails("InvalidLaunchTemplateName.NotFoundException", "ec2", "describe-launch-templates", "--launch-template-names", "nope")

		aws.ok("ec2", "delete-launch-template", "--launch-template-id", ltID)
		aws.fails("InvalidLaunchTemplateId.NotFound", "ec2", "delete-launch-template", "--launch-template-id", ltID)
	})
	t.Run("instance", func(t *testing.T) {
		t.Parallel()
		aws := newAWSCLI(t, aws.endpoint)
		// An instance from the Debian AMI.
		run := aws.ok("ec2", "run-instances", "--image-id", debian, "--instance-type", "t3.micro", "--key-name", "cli-key",
			"--security-group-ids", sg, "--subnet-id", subnet, "--count", "1",
			"--tag-specifications", "ResourceType=instance,Tags=[{Key=Name,Value=cli-box},{Key=env,Value=test}]")
		iid := str(run, "Instances", 0, "InstanceId")
		if str(run, "Instances", 0, "State", "Name") != "pending" || str(run, "Instances", 0, "SubnetId") != subnet {
			t.Fatalf("run = %v", run)
		}
		waitFor(t, "the instance to run", 60*time.Second, func() bool {
			in, _ := s.EC2.Instance(iid)
			return in.State == "running"
		})
		desc := aws.ok("ec2", "describe-instances", "--filters", "Name=tag:Name,Values=cli-*", "Name=instance-state-name,Values=running")
		inst := get(desc, "Reservations", 0, "Instances", 0)
		ip := str(inst, "PublicIpAddress")
		if str(inst, "InstanceId") != iid || !strings.HasPrefix(ip, "127.0.") || str(inst, "KeyName") != "cli-key" || str(inst, "Placement", "AvailabilityZone") != "us-east-1b" {
			t.Fatalf("instance = %v", inst)
		}
		if n := length(aws.ok("ec2", "describe-instances", "--filters", "Name=tag:env,Values=prod"), "Reservations"); n != 0 {
			t.Fatalf("%d reservations for env=prod", n)
		}
		aws.fails("InvalidInstanceID.NotFound", "ec2", "describe-instances", "--instance-ids", "i-00000000000000000")
		aws.fails("InvalidInstanceID.Malformed", "ec2", "describe-instances", "--instance-ids", "x-1")
		aws.fails("InvalidParameterValue", "ec2", "describe-instances", "--filters", "Name=no-such-filter,Values=1")

		// The console carries the host key fingerprints; sshd on PublicIpAddress:22 accepts the key pair.
		waitFor(t, "the host key fingerprints on the console", 30*time.Second, func() bool {
			out, _, err := s.EC2.Exec(context.Background(), iid, "systemctl", "is-active", "ssh")
			return err == nil && strings.TrimSpace(out) == "active"
		})
		console := str(aws.ok("ec2", "get-console-output", "--instance-id", iid), "Output")
		hostKey := sshHostKeyCallback(t, console)
		waitFor(t, "sshd", 30*time.Second, func() bool {
			out, err := sshRun(ip+":22", "admin", signer, hostKey, "sudo -n true && echo ok")
			return err == nil && strings.TrimSpace(out) == "ok"
		})

		// Tags.
		aws.ok("ec2", "create-tags", "--resources", iid, sg, "--tags", "Key=owner,Value=cli", "Key=tmp,Value=1")
		tags := aws.ok("ec2", "describe-tags", "--filters", "Name=resource-id,Values="+iid, "Name=key,Values=owner,tmp")
		if length(tags, "Tags") != 2 || str(tags, "Tags", 0, "ResourceType") != "instance" {
			t.Fatalf("tags = %v", tags)
		}
		aws.ok("ec2", "delete-tags", "--resources", iid, "--tags", "Key=tmp")
		if n := length(aws.ok("ec2", "describe-tags", "--filters", "Name=key,Values=tmp"), "Tags"); n != 1 {
			t.Fatalf("%d tmp tags left, want 1 (on the group)", n)
		}
		aws.fails("InvalidInstanceID.NotFound", "ec2", "create-tags", "--resources", "i-00000000000000000", "--tags", "Key=a,Value=b")

		// Images: create from the instance (pending, then available, with a
		// snapshot), copy, register from the snapshot, the most recent by name.
		ami := str(aws.ok("ec2", "create-image", "--instance-id", iid, "--name", "cli-image-1", "--description", "from cli",
			"--tag-specifications", "ResourceType=image,Tags=[{Key=app,Value=web}]"), "ImageId")
		aws.fails("InvalidAMIName.Duplicate", "ec2", "create-image", "--instance-id", iid, "--name", "cli-image-1")
		waitFor(t, "the image to be available", 120*time.Second, func() bool {
			return s.EC2.Wait(context.Background()) == nil
		})
		img := aws.ok("ec2", "describe-images", "--owners", "self", "--filters", "Name=tag:app,Values=web")
		snap := str(img, "Images", 0, "BlockDeviceMappings", 0, "Ebs", "SnapshotId")
		if str(img, "Images", 0, "ImageId") != ami || !strings.HasPrefix(snap, "snap-") {
			t.Fatalf("created image = %v", img)
		}
		snaps := aws.ok("ec2", "describe-snapshots", "--owner-ids", "self", "--snapshot-ids", snap)
		if str(snaps, "Snapshots", 0, "State") != "completed" || !strings.Contains(str(snaps, "Snapshots", 0, "Description"), ami) {
			t.Fatalf("snapshots = %v", snaps)
		}
		time.Sleep(1100 * time.Millisecond) // CreationDate has millisecond precision; keep the order unambiguous
		cp := str(aws.ok("ec2", "copy-image", "--source-image-id", ami, "--source-region", "us-east-1", "--name", "cli-image-2"), "ImageId")
		waitFor(t, "the copy to be available", 60*time.Second, func() bool {
			return s.EC2.Wait(context.Background()) == nil
		})
		latest := aws.ok("ec2", "describe-images", "--owners", "self", "--filters", "Name=name,Values=cli-image-?", "Name=state,Values=available")
		if length(latest, "Images") != 2 {
			t.Fatalf("images = %v", latest)
		}
		newest := ""
		newestDate := ""
		for _, im := range get(latest, "Images").([]any) {
			if d := str(im, "CreationDate"); d > newestDate {
				newest, newestDate = str(im, "ImageId"), d
			}
		}
		if newest != cp {
			t.Fatalf("most recent of cli-image-? = %s, want the copy %s", newest, cp)
		}
		reg := str(aws.ok("ec2", "register-image", "--name", "cli-registered", "--root-device-name", "/dev/xvda",
			"--block-device-mappings", "DeviceName=/dev/xvda,Ebs={SnapshotId="+snap+"}", "--architecture", "x86_64"), "ImageId")
		aws.fails("InvalidSnapshot.InUse", "ec2", "delete-snapshot", "--snapshot-id", snap)
		aws.ok("ec2", "deregister-image", "--image-id", reg)
		aws.ok("ec2", "deregister-image", "--image-id", ami)
		aws.fails("InvalidAMIID.NotFound", "ec2", "deregister-image", "--image-id", ami)
		aws.ok("ec2", "delete-snapshot", "--snapshot-id", snap)
		aws.fails("InvalidSnapshot.NotFound", "ec2", "delete-snapshot", "--snapshot-id", snap)

		// Stop and terminate.
		stop := aws.ok("ec2", "stop-instances", "--instance-ids", iid)
		if str(stop, "StoppingInstances", 0, "CurrentState", "Name") != "stopping" || str(stop, "StoppingInstances", 0, "PreviousState", "Name") != "running" {
			t.Fatalf("stop = %v", stop)
		}
		waitFor(t, "the instance to stop", 60*time.Second, func() bool {
			in, _ := s.EC2.Instance(iid)
			return in.State == "stopped"
		})
		aws.fails("DependencyViolation", "ec2", "delete-security-group", "--group-id", sg)
		term := aws.ok("ec2", "terminate-instances", "--instance-ids", iid)
		if str(term, "TerminatingInstances", 0, "CurrentState", "Name") != "shutting-down" {
			t.Fatalf("terminate = %v", term)
		}
		waitFor(t, "the instance to terminate", 60*time.Second, func() bool {
			in, _ := s.EC2.Instance(iid)
			return in.State == "terminated"
		})
		if got := str(aws.ok("ec2", "describe-instances", "--instance-ids", iid), "Reservations", 0, "Instances", 0, "State", "Name"); got != "terminated" {
			t.Fatalf("state = %q, want terminated", got)
		}
		aws.ok("ec2", "delete-security-group", "--group-id", sg)
	})
}

// testSSMWithCLI drives SSM parameters, with versions and paths.
func testSSMWithCLI(t *testing.T, aws *awsCLI) {
	if v := get(aws.ok("ssm", "put-parameter", "--name", "/app/db/host", "--value", "db1", "--type", "String"), "Version"); v != float64(1) {
		t.Fatalf("version = %v", v)
	}
	aws.fails("ParameterAlreadyExists", "ssm", "put-parameter", "--name", "/app/db/host", "--value", "db2", "--type", "String")
	aws.ok("ssm", "put-parameter", "--name", "/app/db/host", "--value", "db2", "--overwrite")
	aws.ok("ssm", "put-parameter", "--name", "/app/db/password", "--value", "s3cret", "--type", "SecureString")
	aws.ok("ssm", "put-parameter", "--name", "/app/name", "--value", "web", "--type", "String")
	p := aws.ok("ssm", "get-parameter", "--name", "/app/db/host")
	if str(p, "Parameter", "Value") != "db2" || get(p, "Parameter", "Version") != float64(2) {
		t.Fatalf("parameter = %v", p)
	}
	if v := str(aws.ok("ssm", "get-parameter", "--name", "/app/db/host:1"), "Parameter", "Value"); v != "db1" {
		t.Fatalf("version 1 = %q", v)
	}
	if v := str(aws.ok("ssm", "get-parameter", "--name", "/app/db/password", "--with-decryption"), "Parameter", "Value"); v != "s3cret" {
		t.Fatalf("decrypted = %q", v)
	}
	if n := length(aws.ok("ssm", "get-parameters-by-path", "--path", "/app"), "Parameters"); n != 1 {
		t.Fatalf("%d parameters directly under /app, want 1", n)
	}
	if n := length(aws.ok("ssm", "get-parameters-by-path", "--path", "/app", "--recursive"), "Parameters"); n != 3 {
		t.Fatalf("%d parameters under /app recursively, want 3", n)
	}
	aws.ok("ssm", "delete-parameter", "--name", "/app/name")
	aws.fails("ParameterNotFound", "ssm", "get-parameter", "--name", "/app/name")
	aws.fails("ParameterNotFound", "ssm", "delete-parameter", "--name", "/app/name")

}

func validateWithBotocore(t *testing.T, calls string) {
	t.Helper()
	if _, err := os.Stat("/usr/lib/python3/dist-packages/botocore"); err != nil {
		testenv.SkipOrFail(t, "Debian's python3-botocore is not installed: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/usr/bin/python3", "testdata/validate_responses.py", calls).CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("responses do not parse under botocore's models: %v", err)
	}
}

// sshHostKeyCallback accepts exactly the host keys whose fingerprints the
// console printed between cloud-init's markers.
func sshHostKeyCallback(t *testing.T, console string) ssh.HostKeyCallback {
	t.Helper()
	if b, err := base64.StdEncoding.DecodeString(console); err == nil {
		console = string(b)
	}
	_, rest, ok := strings.Cut(console, "-----BEGIN SSH HOST KEY FINGERPRINTS-----")
	block, _, ok2 := strings.Cut(rest, "-----END SSH HOST KEY FINGERPRINTS-----")
	if !ok || !ok2 {
		t.Fatalf("no host key fingerprints on the console:\n%s", console)
	}
	want := map[string]bool{}
	for _, f := range strings.Fields(block) {
		if strings.HasPrefix(f, "SHA256:") {
			want[f] = true
		}
	}
	if len(want) == 0 {
		t.Fatalf("no SHA256 fingerprints between the markers:\n%s", block)
	}
	return func(_ string, _ net_Addr, key ssh.PublicKey) error {
		if !want[ssh.FingerprintSHA256(key)] {
			return errHostKey(ssh.FingerprintSHA256(key))
		}
		return nil
	}
}
