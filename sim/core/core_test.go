package core_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/bakehq/bake/sim/core"
	simsts "github.com/bakehq/bake/sim/sts"
)

// fakeServer serves small fake handlers on the real models of four
// protocols (query, JSON, REST-XML) so the codecs are checked against the
// AWS SDK's own deserializers.
func fakeServer(t *testing.T) (*core.Server, aws.Config) {
	t.Helper()
	srv := core.NewServer(core.Config{Region: "eu-west-1"})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(srv.Add(simsts.New()))

	as := core.MustService("autoscaling")
	core.Handle(as, "DescribeAutoScalingGroups", func(_ context.Context, req *core.Request, in *autoscaling.DescribeAutoScalingGroupsInput) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
		var out autoscaling.DescribeAutoScalingGroupsOutput
		for _, name := range in.AutoScalingGroupNames {
			if name == "missing" {
				return nil, core.Errorf("ValidationError", "AutoScalingGroup name not found - %s", name)
			}
			out.AutoScalingGroups = append(out.AutoScalingGroups, astypes.AutoScalingGroup{
				AutoScalingGroupName: aws.String(name),
				AvailabilityZones:    []string{req.Region + "a", req.Region + "b"},
				CreatedTime:          aws.Time(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)),
				DesiredCapacity:      aws.Int32(2),
				Tags:                 []astypes.TagDescription{{Key: aws.String("k"), Value: aws.String("v <&>")}},
				Instances:            []astypes.Instance{{InstanceId: aws.String("i-1"), LifecycleState: astypes.LifecycleStateInService}},
			})
		}
		return &out, nil
	})
	must(srv.Add(as))

	ps := core.MustService("ssm")
	core.Handle(ps, "GetParameter", func(_ context.Context, _ *core.Request, in *ssm.GetParameterInput) (*ssm.GetParameterOutput, error) {
		if *in.Name != "/a" {
			return nil, core.Errorf("ParameterNotFound", "")
		}
		return &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{
			Name: in.Name, Value: aws.String("x"), Version: 3, Type: ssmtypes.ParameterTypeString,
			LastModifiedDate: aws.Time(time.Unix(1700000000, 500e6)),
		}}, nil
	})
	must(srv.Add(ps))

	rs := core.MustService("route53")
	core.Handle(rs, "ChangeResourceRecordSets", func(_ context.Context, _ *core.Request, in *route53.ChangeResourceRecordSetsInput) (*route53.ChangeResourceRecordSetsOutput, error) {
		if *in.HostedZoneId != "Z1" {
			return nil, core.Errorf("NoSuchHostedZone", "No hosted zone found with ID: %s", *in.HostedZoneId)
		}
		c := in.ChangeBatch.Changes[0]
		return &route53.ChangeResourceRecordSetsOutput{ChangeInfo: &r53types.ChangeInfo{
			Id: aws.String("/change/C1"), Status: r53types.ChangeStatusPending, SubmittedAt: aws.Time(time.Now()),
			Comment: aws.String(string(c.Action) + " " + *c.ResourceRecordSet.Name + " " + *c.ResourceRecordSet.ResourceRecords[1].Value),
		}}, nil
	})
	must(srv.Add(rs))

	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	cfg := aws.Config{
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(hs.URL),
	}
	return srv, cfg
}

func TestSDKRoundTrips(t *testing.T) {
	t.Parallel()
	_, cfg := fakeServer(t)
	ctx := context.Background()

	t.Run("sts query", func(t *testing.T) {
		t.Parallel()
		out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatal(err)
		}
		if *out.Account != core.DefaultAccountID || *out.UserId != "AKIDTEST" {
			t.Fatalf("identity = %s %s", *out.Account, *out.UserId)
		}
	})
	t.Run("autoscaling lists and timestamps", func(t *testing.T) {
		t.Parallel()
		out, err := autoscaling.NewFromConfig(cfg).DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"a", "b"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.AutoScalingGroups) != 2 || *out.AutoScalingGroups[1].AutoScalingGroupName != "b" {
			t.Fatalf("groups = %+v", out.AutoScalingGroups)
		}
		g := out.AutoScalingGroups[0]
		if g.AvailabilityZones[1] != "eu-west-1b" || *g.Tags[0].Value != "v <&>" || g.Instances[0].LifecycleState != astypes.LifecycleStateInService || g.CreatedTime.Year() != 2024 {
			t.Fatalf("group = %+v", g)
		}
	})
	t.Run("autoscaling error", func(t *testing.T) {
		t.Parallel()
		_, err := autoscaling.NewFromConfig(cfg).DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"missing"}})
		assertCode(t, err, "ValidationError")
	})
	t.Run("ssm json", func(t *testing.T) {
		t.Parallel()
		out, err := ssm.NewFromConfig(cfg).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/a")})
		if err != nil {
			t.Fatal(err)
		}
		if *out.Parameter.Value != "x" || out.Parameter.Version != 3 || out.Parameter.LastModifiedDate.Unix() != 1700000000 {
			t.Fatalf("parameter = %+v", out.Parameter)
		}
		_, err = ssm.NewFromConfig(cfg).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/b")})
		var nf *ssmtypes.ParameterNotFound
		if !errors.As(err, &nf) {
			t.Fatalf("err = %v, want ParameterNotFound", err)
		}
	})
	t.Run("route53 rest-xml", func(t *testing.T) {
		t.Parallel()
		c := route53.NewFromConfig(cfg)
		in := &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String("Z1"), ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{
			Action: r53types.ChangeActionUpsert,
			ResourceRecordSet: &r53types.ResourceRecordSet{Name: aws.String("a.example."), Type: r53types.RRTypeA, TTL: aws.Int64(60),
				ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("127.0.0.1")}, {Value: aws.String("127.0.0.2")}}},
		}}}}
		out, err := c.ChangeResourceRecordSets(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if *out.ChangeInfo.Comment != "UPSERT a.example. 127.0.0.2" || out.ChangeInfo.Status != r53types.ChangeStatusPending {
			t.Fatalf("change = %+v", out.ChangeInfo)
		}
		in.HostedZoneId = aws.String("Z2")
		_, err = c.ChangeResourceRecordSets(ctx, in)
		var nz *r53types.NoSuchHostedZone
		if !errors.As(err, &nz) {
			t.Fatalf("err = %v, want NoSuchHostedZone", err)
		}
	})
}

func assertCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("err = %v, want %s", err, code)
	}
}

// TestBadInput checks the protocol's error codes and statuses for requests
// an SDK would refuse to send.
func TestBadInput(t *testing.T) {
	t.Parallel()
	srv, _ := fakeServer(t)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	post := func(body, target string) (int, string) {
		req, _ := http.NewRequest("POST", hs.URL+"/", strings.NewReader(body))
		if target != "" {
			req.Header.Set("X-Amz-Target", target)
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		} else {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		name, body, target string
		status             int
		want               string
	}{
		{"unknown query action", url.Values{"Action": {"Nope"}, "Version": {"2011-01-01"}}.Encode(), "", 400, "<Code>InvalidAction</Code>"},
		{"missing required query", url.Values{"Action": {"GetParameter"}}.Encode(), "", 400, "InvalidAction"},
		{"unknown json target", `{}`, "AmazonSSM.Nope", 400, "UnknownOperationException"},
		{"missing required json", `{}`, "AmazonSSM.GetParameter", 400, "ValidationException"},
		{"malformed json", `{"Name":`, "AmazonSSM.GetParameter", 400, "SerializationException"},
		{"wrong json type", `{"Name":3}`, "AmazonSSM.GetParameter", 400, "SerializationException"},
		{"no service", "Action=Foo", "", 400, "InvalidAction"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(tc.body, tc.target)
			if status != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("got %d %s, want %d with %s", status, body, tc.status, tc.want)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	srv, cfg := fakeServer(t)
	key, code, err := core.ParseFail("sts:GetCallerIdentity=Throttling")
	if err != nil {
		t.Fatal(err)
	}
	srv.Faults().SetFail(key, code)
	_, err = sts.NewFromConfig(cfg, func(o *sts.Options) { o.RetryMaxAttempts = 1 }).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	assertCode(t, err, "Throttling")
	srv.Faults().Clear()
	key, d, err := core.ParseLatency("sts:*=150ms")
	if err != nil {
		t.Fatal(err)
	}
	srv.Faults().SetLatency(key, d)
	start := time.Now()
	if _, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	if e := time.Since(start); e < 150*time.Millisecond {
		t.Fatalf("call took %s, want the injected 150ms", e)
	}
	for _, bad := range []string{"ec2", "ec2:Op=xx", ":Op=1s"} {
		if _, _, err := core.ParseLatency(bad); err == nil {
			t.Errorf("ParseLatency(%q) accepted", bad)
		}
	}
}

func TestLoopback(t *testing.T) {
	t.Parallel()
	l := core.NewLoopback(netip.MustParseAddr("127.0.5.254"), netip.MustParseAddr("127.0.6.2"))
	var got []string
	for i := 0; i < 3; i++ {
		a, err := l.Next()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, a.String())
	}
	if want := "127.0.5.254 127.0.6.1 127.0.6.2"; strings.Join(got, " ") != want {
		t.Fatalf("got %v, want %s", got, want)
	}
	if a, err := l.Next(); err == nil {
		t.Fatalf("got %s from a full range", a)
	}
	d := core.NewLoopback(netip.Addr{}, netip.Addr{})
	a, err := d.Next()
	if err != nil || !strings.HasPrefix(a.String(), "127.0.") || a.As4()[2] < 16 {
		t.Fatalf("default range gave %s, %v", a, err)
	}
}

// A required boolean the SDK keeps as a plain value is given when false.
func TestRequiredFalseBool(t *testing.T) {
	t.Parallel()
	_, cfg := fakeServer(t)
	in := &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String("Z1"), ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{
		Action: r53types.ChangeActionUpsert,
		ResourceRecordSet: &r53types.ResourceRecordSet{Name: aws.String("a.example."), Type: r53types.RRTypeA,
			AliasTarget:     &r53types.AliasTarget{DNSName: aws.String("lb."), HostedZoneId: aws.String("Z2"), EvaluateTargetHealth: false},
			ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("127.0.0.1")}, {Value: aws.String("127.0.0.2")}}},
	}}}}
	if _, err := route53.NewFromConfig(cfg).ChangeResourceRecordSets(context.Background(), in); err != nil {
		t.Fatalf("EvaluateTargetHealth=false refused: %v", err)
	}
}
