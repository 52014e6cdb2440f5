package sim_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bakehq/bake/sim"
)

// startFakeSim runs a sim whose instances are in-memory machines.
func startFakeSim(t *testing.T, opts sim.Options) (*sim.Sim, *fakeRuntime) {
	t.Helper()
	rt := newFakeRuntime()
	opts.Runtime = rt
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.DNSAddr == "" {
		opts.DNSAddr = "127.0.0.1:0"
	}
	s, err := sim.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer ccancel()
		if err := s.Close(cctx); err != nil {
			t.Errorf("close the sim: %v", err)
		}
	})
	return s, rt
}

// TestBadInput sends what an SDK would refuse to send and checks the AWS
// error code and HTTP status the real service returns.
func TestBadInput(t *testing.T) {
	t.Parallel()
	s, _ := startFakeSim(t, sim.Options{})
	ec2Form := func(kv ...string) string {
		v := url.Values{"Version": {"2016-11-15"}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	for _, tc := range []struct {
		name, target, body string
		status             int
		code               string
	}{
		{"ec2 unknown action", "", ec2Form("Action", "LaunchRocket"), 400, "InvalidAction"},
		{"ec2 no action", "", ec2Form(), 400, "MissingParameter"},
		{"ec2 missing required", "", ec2Form("Action", "RunInstances", "ImageId", "ami-1"), 400, "MissingParameter"},
		{"ec2 malformed number", "", ec2Form("Action", "RunInstances", "ImageId", "ami-1", "MinCount", "one", "MaxCount", "1"), 400, "InvalidParameterValue"},
		{"ec2 malformed boolean", "", ec2Form("Action", "DescribeImages", "IncludeDeprecated", "maybe"), 400, "InvalidParameterValue"},
		{"ec2 unknown instance", "", ec2Form("Action", "DescribeInstances", "InstanceId.1", "i-0123456789abcdef0"), 400, "InvalidInstanceID.NotFound"},
		{"ec2 malformed instance id", "", ec2Form("Action", "TerminateInstances", "InstanceId.1", "web-1"), 400, "InvalidInstanceID.Malformed"},
		{"ec2 unknown ami", "", ec2Form("Action", "RunInstances", "ImageId", "ami-0123456789abcdef0", "MinCount", "1", "MaxCount", "1"), 400, "InvalidAMIID.NotFound"},
		{"ec2 unknown key pair", "", ec2Form("Action", "DescribeKeyPairs", "KeyName.1", "nope"), 400, "InvalidKeyPair.NotFound"},
		{"ec2 unknown group", "", ec2Form("Action", "DeleteSecurityGroup", "GroupId", "sg-0123456789abcdef0"), 400, "InvalidGroup.NotFound"},
		{"ec2 unknown launch template", "", ec2Form("Action", "DeleteLaunchTemplate", "LaunchTemplateId", "lt-0123456789abcdef0"), 400, "InvalidLaunchTemplateId.NotFound"},
		{"ec2 unknown filter", "", ec2Form("Action", "DescribeImages", "Filter.1.Name", "colour", "Filter.1.Value.1", "red"), 400, "InvalidParameterValue"},
		{"ec2 bad counts", "", ec2Form("Action", "RunInstances", "ImageId", "ami-1", "MinCount", "3", "MaxCount", "1"), 400, "InvalidParameterValue"},
		{"sts unknown action", "", url.Values{"Action": {"AssumeNothing"}, "Version": {"2011-06-15"}}.Encode(), 400, "InvalidAction"},
		{"ssm unknown operation", "AmazonSSM.LaunchRocket", `{}`, 400, "UnknownOperationException"},
		{"ssm missing required", "AmazonSSM.GetParameter", `{}`, 400, "ValidationException"},
		{"ssm malformed json", "AmazonSSM.GetParameter", `{"Name":`, 400, "SerializationException"},
		{"ssm wrong type", "AmazonSSM.PutParameter", `{"Name":"/a","Value":"x","Type":"String","Overwrite":"yes"}`, 400, "SerializationException"},
		{"ssm unknown parameter", "AmazonSSM.GetParameter", `{"Name":"/nope"}`, 400, "ParameterNotFound"},
		{"ssm bad path", "AmazonSSM.GetParametersByPath", `{"Path":"nope"}`, 400, "ValidationException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest("POST", s.Endpoint()+"/", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.target != "" {
				req.Header.Set("X-Amz-Target", tc.target)
				req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			} else {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/x/aws4_request, SignedHeaders=host, Signature=00")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			want := "<Code>" + tc.code + "</Code>"
			if tc.target != "" {
				want = `"__type":"` + tc.code + `"`
			}
			if !strings.Contains(string(body), want) {
				t.Errorf("body %s, want %s", body, want)
			}
		})
	}
}
