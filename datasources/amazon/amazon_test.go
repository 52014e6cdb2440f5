package amazon_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/zclconf/go-cty/cty"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/datasources/amazon"
	"github.com/bakehq/bake/datasources/internal/dstest"
	"github.com/bakehq/bake/internal/testenv"
	"github.com/bakehq/bake/sim"
	simec2 "github.com/bakehq/bake/sim/ec2"
)

// TestAmazon reads each amazon data source from bake sim through the
// standard credential chain (AWS_ENDPOINT_URL), as bake build does.
// Not parallel: it sets the environment.
func TestAmazon(t *testing.T) {
	s := testenv.StartSim(t, sim.Options{AMIs: map[string]string{
		"bake-ds-web-1": simec2.DefaultDebianImage,
		"bake-ds-web-2": simec2.DefaultDebianImage,
		"bake-ds-db-1":  simec2.DefaultDebianImage,
	}})
	testenv.UseSim(t, s.Endpoint())
	ctx := context.Background()
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}

	run := func(t *testing.T, src string) (cty.Value, error) {
		t.Helper()
		dc := dstest.Context(t, src, nil)
		var ds bake.DataSource
		var diags = make([]error, 0)
		typ := strings.Fields(src)[1]
		switch strings.Trim(typ, `"`) {
		case amazon.AMIType:
			d, dg := amazon.NewAMI(dc)
			ds = d
			if dg.HasErrors() {
				diags = append(diags, dg)
			}
		case amazon.ParameterStoreType:
			d, dg := amazon.NewParameterStore(dc)
			ds = d
			if dg.HasErrors() {
				diags = append(diags, dg)
			}
		case amazon.SecretsManagerType:
			d, dg := amazon.NewSecretsManager(dc)
			ds = d
			if dg.HasErrors() {
				diags = append(diags, dg)
			}
		}
		if len(diags) > 0 {
			t.Fatal(diags[0])
		}
		v, err := ds.Execute(ctx)
		if err == nil && !v.Type().Equals(ds.OutputType()) {
			t.Fatalf("type %#v, OutputType %#v", v.Type(), ds.OutputType())
		}
		return v, err
	}
	str := func(v cty.Value, k string) string { return v.GetAttr(k).AsString() }

	t.Run("amazon-ami", func(t *testing.T) {
		out, err := ec2.NewFromConfig(cfg).DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}, ImageIds: nil})
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]string{}
		for _, im := range out.Images {
			byName[aws.ToString(im.Name)] = aws.ToString(im.ImageId)
		}
		v, err := run(t, `data "amazon-ami" "db" {
  filters = { name = "bake-ds-db-*", root-device-type = "ebs" }
  owners  = ["self"]
}`)
		if err != nil {
			t.Fatal(err)
		}
		if str(v, "id") != byName["bake-ds-db-1"] || str(v, "name") != "bake-ds-db-1" || str(v, "owner") != "123456789012" || str(v, "creation_date") == "" {
			t.Fatalf("got %#v (self's AMIs %v)", v, byName)
		}
		v, err = run(t, `data "amazon-ami" "web" {
  filters     = { name = "bake-ds-web-*" }
  owners      = ["self"]
  most_recent = true
}`)
		if err != nil {
			t.Fatal(err)
		}
		if n := str(v, "name"); n != "bake-ds-web-1" && n != "bake-ds-web-2" {
			t.Fatalf("most_recent picked %q", n)
		}
		_, err = run(t, `data "amazon-ami" "web" {
  filters = { name = "bake-ds-web-*" }
  owners  = ["self"]
}`)
		if err == nil || !strings.Contains(err.Error(), "data.amazon-ami.web at t.pkr.hcl:1: 2 AMIs match") || !strings.Contains(err.Error(), "set most_recent = true") {
			t.Fatalf("two matches: %v", err)
		}
		_, err = run(t, `data "amazon-ami" "none" {
  filters = { name = "no-such-ami-*" }
  owners  = ["self"]
}`)
		if err == nil || !strings.Contains(err.Error(), "data.amazon-ami.none at t.pkr.hcl:1: no AMI matches") || !bake.IsBadInput(err) {
			t.Fatalf("no match: %v", err)
		}
	})

	t.Run("amazon-parameterstore", func(t *testing.T) {
		api := ssm.NewFromConfig(cfg)
		for i, v := range []string{"one", "two"} {
			_, err := api.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/bake-ds/app/v"), Value: aws.String(v), Type: ssmtypes.ParameterTypeSecureString, Overwrite: aws.Bool(i > 0)})
			if err != nil {
				t.Fatal(err)
			}
		}
		v, err := run(t, `data "amazon-parameterstore" "p" {
  name            = "/bake-ds/app/v"
  with_decryption = true
}`)
		if err != nil {
			t.Fatal(err)
		}
		if str(v, "value") != "two" || str(v, "version") != "2" || !strings.HasSuffix(str(v, "arn"), ":parameter/bake-ds/app/v") {
			t.Fatalf("got %#v", v)
		}
		v, err = run(t, `data "amazon-parameterstore" "p" {
  name            = "/bake-ds/app/v:1"
  with_decryption = true
}`)
		if err != nil || str(v, "value") != "one" {
			t.Fatalf("version 1: %#v %v", v, err)
		}
		_, err = run(t, `data "amazon-parameterstore" "missing" { name = "/bake-ds/nope" }`)
		if err == nil || !strings.Contains(err.Error(), `data.amazon-parameterstore.missing at t.pkr.hcl:1: parameter "/bake-ds/nope" not found`) {
			t.Fatalf("missing: %v", err)
		}
	})

	t.Run("amazon-secretsmanager", func(t *testing.T) {
		api := sm.NewFromConfig(cfg)
		created, err := api.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("bake-ds/db"), SecretString: aws.String(`{"user":"app","port":5432}`)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := api.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: aws.String("bake-ds/db"), SecretString: aws.String(`{"user":"app2","port":5433}`)}); err != nil {
			t.Fatal(err)
		}
		v, err := run(t, `data "amazon-secretsmanager" "db" {
  name = "bake-ds/db"
  key  = "port"
}`)
		if err != nil {
			t.Fatal(err)
		}
		if str(v, "value") != "5433" || str(v, "secret_string") != `{"user":"app2","port":5433}` || str(v, "version_id") == aws.ToString(created.VersionId) {
			t.Fatalf("got %#v", v)
		}
		v, err = run(t, `data "amazon-secretsmanager" "db" {
  name          = "bake-ds/db"
  key           = "user"
  version_stage = "AWSPREVIOUS"
}`)
		if err != nil || str(v, "value") != "app" || str(v, "version_id") != aws.ToString(created.VersionId) {
			t.Fatalf("previous: %#v %v", v, err)
		}
		v, err = run(t, fmt.Sprintf(`data "amazon-secretsmanager" "db" {
  name       = %q
  version_id = %q
}`, aws.ToString(created.ARN), aws.ToString(created.VersionId)))
		// No key: the first key in sorted order.
		if err != nil || str(v, "value") != "5432" {
			t.Fatalf("by version id: %#v %v", v, err)
		}
		_, err = run(t, `data "amazon-secretsmanager" "gone" { name = "bake-ds/nope" }`)
		if err == nil || !strings.Contains(err.Error(), `data.amazon-secretsmanager.gone at t.pkr.hcl:1: secret "bake-ds/nope" version "AWSCURRENT" not found`) {
			t.Fatalf("missing: %v", err)
		}
	})
}

// TestDecode checks the blocks as Packer's Configure does, without a
// cloud: every diagnostic names the block and has a subject.
func TestDecode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ src, want string }{
		{`data "amazon-ami" "a" { owners = ["self"] }`, ""},
		{`data "amazon-ami" "a" {}`, "data.amazon-ami.a: filters must be specified"},
		{`data "amazon-ami" "a" { filters = { name = "x" } }`, "data.amazon-ami.a: owners are required"},
		{`data "amazon-parameterstore" "p" {}`, "data.amazon-parameterstore.p: name is required"},
		{`data "amazon-secretsmanager" "s" {}`, "data.amazon-secretsmanager.s: name is required"},
		{"data \"amazon-secretsmanager\" \"s\" {\n name = \"x\"\n access_key = \"AKID\"\n}", "access_key and secret_key go together"},
		{"data \"amazon-ami\" \"a\" {\n owners = [\"self\"]\n most_recnt = true\n}", "Unsupported argument"},
		{"data \"amazon-ami\" \"a\" {\n owners = [\"self\"]\n most_recent = \"maybe\"\n}", "Incorrect attribute value type"},
	} {
		dc := dstest.Context(t, tc.src, nil)
		var err error
		var diagsErr string
		switch {
		case strings.Contains(tc.src, amazon.AMIType):
			_, d := amazon.NewAMI(dc)
			if d.HasErrors() {
				diagsErr = d.Error()
				err = d
			}
			for _, x := range d {
				if x.Subject == nil {
					t.Errorf("%s: no subject: %v", tc.src, x)
				}
			}
		case strings.Contains(tc.src, amazon.ParameterStoreType):
			_, d := amazon.NewParameterStore(dc)
			if d.HasErrors() {
				diagsErr, err = d.Error(), d
			}
		default:
			_, d := amazon.NewSecretsManager(dc)
			if d.HasErrors() {
				diagsErr, err = d.Error(), d
			}
		}
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.src, err)
		case tc.want != "" && !strings.Contains(diagsErr, tc.want):
			t.Errorf("%s: %q, want %q", tc.src, diagsErr, tc.want)
		}
	}

	// Unknown in validate: decodes, and says what it will hold.
	dc := dstest.Context(t, `data "amazon-secretsmanager" "s" { name = var.n }`, map[string]cty.Value{"n": cty.UnknownVal(cty.String)})
	ds, diags := amazon.NewSecretsManager(dc)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if s, ok := ds.(bake.SensitiveData); !ok || !s.Sensitive() {
		t.Fatal("amazon-secretsmanager must be sensitive")
	}
	if _, ok := ds.(bake.LocalData); ok {
		t.Fatal("amazon-secretsmanager must not be local")
	}
	if !ds.OutputType().Equals(cty.Object(map[string]cty.Type{"value": cty.String, "secret_string": cty.String, "secret_binary": cty.String, "version_id": cty.String})) {
		t.Fatalf("OutputType %#v", ds.OutputType())
	}

	// Accepted with no effect: one info line, not silence.
	dc = dstest.Context(t, "data \"amazon-parameterstore\" \"p\" {\n name = \"/x\"\n assume_role {\n  role_arn = \"arn:aws:iam::1:role/r\"\n }\n}", nil)
	_, diags = amazon.NewParameterStore(dc)
	if diags.HasErrors() || len(diags) != 1 || !strings.Contains(diags[0].Summary, "assume_role has no effect") || diags[0].Subject == nil {
		t.Fatalf("assume_role: %v", diags)
	}
}
