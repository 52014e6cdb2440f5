package sim_test

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"golang.org/x/crypto/ssh"

	"github.com/bakehq/bake/sim"
)

func sdkConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDSIMTEST", "secret", ""),
		BaseEndpoint: aws.String(endpoint),
	}
}

// TestSDKInstanceSSHAndImage runs an instance from the Debian AMI with the
// Go SDK, logs in over SSH with the key pair, trusting only the host key
// printed on the console, installs a service, images the instance and
// boots the image: the service is up at boot, as on EC2.
func TestSDKInstanceSSHAndImage(t *testing.T) {
	t.Parallel()
	s := startSim(t, sim.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c := ec2.NewFromConfig(sdkConfig(s.Endpoint()))

	imgs, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{
		Owners:  []string{"136693071363"},
		Filters: []types.Filter{{Name: aws.String("name"), Values: []string{"debian-12-amd64-*"}}},
	})
	if err != nil || len(imgs.Images) != 1 {
		t.Fatalf("find the debian ami: %v %v", err, imgs)
	}
	kp, err := c.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("sdk-key")})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey([]byte(*kp.KeyMaterial))
	if err != nil {
		t.Fatalf("parse the rsa key material: %v", err)
	}

	boot := func(ami string) (id, ip string, hostKey ssh.HostKeyCallback) {
		t.Helper()
		run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{
			ImageId: aws.String(ami), InstanceType: types.InstanceTypeT3Micro, KeyName: aws.String("sdk-key"),
			MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		})
		if err != nil {
			t.Fatal(err)
		}
		id = *run.Instances[0].InstanceId
		w := ec2.NewInstanceRunningWaiter(c, func(o *ec2.InstanceRunningWaiterOptions) {
			o.MinDelay, o.MaxDelay = 100*time.Millisecond, 500*time.Millisecond
		})
		out, err := w.WaitForOutput(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}}, time.Minute)
		if err != nil {
			t.Fatalf("wait for %s to run: %v", id, err)
		}
		ip = *out.Reservations[0].Instances[0].PublicIpAddress
		var console string
		waitFor(t, "host key fingerprints on the console of "+id, time.Minute, func() bool {
			co, err := c.GetConsoleOutput(ctx, &ec2.GetConsoleOutputInput{InstanceId: &id})
			if err != nil || co.Output == nil {
				return false
			}
			b, _ := base64.StdEncoding.DecodeString(*co.Output)
			console = string(b)
			return strings.Contains(console, "END SSH HOST KEY FINGERPRINTS")
		})
		return id, ip, sshHostKeyCallback(t, console)
	}
	// login runs cmd once a login works: while the machine boots, sshd may
	// accept the key and still refuse the session (pam_nologin), as on EC2.
	login := func(ip string, hostKey ssh.HostKeyCallback, cmd string) string {
		t.Helper()
		var out string
		var err error
		waitFor(t, "ssh to "+ip, time.Minute, func() bool {
			_, err = sshRun(ip+":22", "admin", signer, hostKey, "echo LOGIN-OK")
			return err == nil
		})
		out, err = sshRun(ip+":22", "admin", signer, hostKey, cmd)
		if err != nil {
			t.Fatalf("ssh %s %q: %v\n%s", ip, cmd, err, out)
		}
		return out
	}

	id, ip, hostKey := boot(*imgs.Images[0].ImageId)
	// A service enabled in the image starts at boot: a small HTTP server
	// (perl-base is in every Debian) as a systemd unit stands in for nginx,
	// so no package mirror is needed.
	out := login(ip, hostKey, "whoami && sudo -n true && echo SUDO-OK && systemctl is-system-running --wait >/dev/null; "+installHello)
	if !strings.HasPrefix(out, "admin\nSUDO-OK\n") {
		t.Fatalf("login output (%d bytes):\n%q", len(out), out)
	}

	ci, err := c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: &id, Name: aws.String("sdk-image")})
	if err != nil {
		t.Fatal(err)
	}
	w := ec2.NewImageAvailableWaiter(c, func(o *ec2.ImageAvailableWaiterOptions) { o.MinDelay, o.MaxDelay = 200*time.Millisecond, time.Second })
	if err := w.Wait(ctx, &ec2.DescribeImagesInput{ImageIds: []string{*ci.ImageId}}, 2*time.Minute); err != nil {
		t.Fatalf("wait for %s: %v", *ci.ImageId, err)
	}

	id2, ip2, hostKey2 := boot(*ci.ImageId)
	out = login(ip2, hostKey2, "systemctl is-active hello.service; hostname")
	if !strings.HasPrefix(out, "active\n"+id2) {
		t.Fatalf("on the instance from the image:\n%s", out)
	}
	if body := httpGet(t, "http://"+ip2+"/"); body != "hello from "+id2+"\n" {
		t.Fatalf("GET %s:80 = %q", ip2, body)
	}
	// The new instance made its own host keys: the first one's are refused.
	if _, err := sshRun(ip2+":22", "admin", signer, hostKey, "true"); err == nil {
		t.Fatal("the instance from the image kept the host keys of the instance it was made from")
	}

	if _, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id, id2}}); err != nil {
		t.Fatal(err)
	}
	tw := ec2.NewInstanceTerminatedWaiter(c, func(o *ec2.InstanceTerminatedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 500*time.Millisecond
	})
	if err := tw.Wait(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id, id2}}, time.Minute); err != nil {
		t.Fatal(err)
	}
}

// installHello installs and enables hello.service, an HTTP server on port
// 80 that answers "hello from <hostname>".
var installHello = "printf '%s' " + shellQuote(helloServer) + " | sudo tee /usr/local/bin/hello >/dev/null && sudo chmod 755 /usr/local/bin/hello && " +
	"printf '%s' " + shellQuote(helloUnit) + " | sudo tee /etc/systemd/system/hello.service >/dev/null && sudo systemctl enable --now hello.service 2>/dev/null"

const helloServer = `#!/usr/bin/perl
use IO::Socket::INET;
my $name = ` + "`hostname`" + `;
my $s = IO::Socket::INET->new(LocalPort => 80, Listen => 16, ReuseAddr => 1) or die "listen: $!";
while (my $c = $s->accept) {
	while (my $l = <$c>) { last if $l =~ /^\r?$/ }
	print $c "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello from $name";
	close $c;
}
`

const helloUnit = `[Unit]
Description=hello, an HTTP server on port 80
After=network.target
[Service]
ExecStart=/usr/local/bin/hello
Restart=always
RestartSec=1
[Install]
WantedBy=multi-user.target
`

func httpGet(t *testing.T, url string) string {
	t.Helper()
	var body string
	waitFor(t, "GET "+url, 30*time.Second, func() bool {
		c := &http.Client{Timeout: 2 * time.Second}
		resp, err := c.Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == 200
	})
	return body
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// TestSDKPlainImageAMI: an AMI from an image without systemd (--ami
// NAME=IMAGE) boots the sim's small init: sshd with the key pair for root
// and the host key fingerprints on the console.
func TestSDKPlainImageAMI(t *testing.T) {
	t.Parallel()
	s := startSim(t, sim.Options{DebianImage: "-", AMIs: map[string]string{"plain-debian": "localbase/debian:bookworm"}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := ec2.NewFromConfig(sdkConfig(s.Endpoint()))
	imgs, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: []types.Filter{{Name: aws.String("name"), Values: []string{"plain-*"}}}})
	if err != nil || len(imgs.Images) != 1 {
		t.Fatalf("find the plain ami: %v %+v", err, imgs)
	}
	kp, err := c.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("plain"), KeyType: types.KeyTypeEd25519})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey([]byte(*kp.KeyMaterial))
	if err != nil {
		t.Fatal(err)
	}
	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: imgs.Images[0].ImageId, KeyName: aws.String("plain"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	id := *run.Instances[0].InstanceId
	var console string
	waitFor(t, "fingerprints on the console", time.Minute, func() bool {
		co, err := c.GetConsoleOutput(ctx, &ec2.GetConsoleOutputInput{InstanceId: &id})
		if err != nil || co.Output == nil {
			return false
		}
		b, _ := base64.StdEncoding.DecodeString(*co.Output)
		console = string(b)
		return strings.Contains(console, "END SSH HOST KEY FINGERPRINTS")
	})
	info, _ := s.EC2.Instance(id)
	var out string
	waitFor(t, "ssh as root", time.Minute, func() bool {
		out, err = sshRun(info.PublicIP+":22", "root", signer, sshHostKeyCallback(t, console), "hostname")
		return err == nil
	})
	if strings.TrimSpace(out) != id {
		t.Fatalf("hostname = %q, want %s", out, id)
	}
}
