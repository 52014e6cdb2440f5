package amazon_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/bake/config"
	"github.com/bakehq/bake/builders/amazon"
	"github.com/bakehq/bake/provisioners/shell"
)

// source returns a bake file with one amazon-ebs source whose body is
// the defaults with fields replaced (a value of "" removes the field).
func source(fields map[string]string) string {
	f := map[string]string{
		"instance_type": `"t3.micro"`,
		"source_ami_filter": `{
    filters     = { name = "debian-12-amd64-*" }
    owners      = ["136693071363"]
    most_recent = true
  }`,
		"ami_name": `"in-${bake.version}"`,
	}
	for k, v := range fields {
		f[k] = v
	}
	var b strings.Builder
	b.WriteString("source \"amazon-ebs\" \"in\" {\n")
	for _, k := range []string{"region", "instance_type", "source_ami", "source_ami_filter", "ami_name", "ami_regions", "kms_key_id", "encrypt_boot", "ssh_interface", "deprecate_at", "host_key_timeout", "subnet_id"} {
		v, ok := f[k]
		if !ok || v == "" {
			continue
		}
		if strings.HasPrefix(v, "{") {
			fmt.Fprintf(&b, "  %s %s\n", k, v)
		} else {
			fmt.Fprintf(&b, "  %s = %s\n", k, v)
		}
	}
	b.WriteString("}\nbuild {\n  sources = [\"source.amazon-ebs.in\"]\n  provisioner \"shell\" { inline = [\"true\"] }\n}\n")
	return b.String()
}

func decodeErr(t *testing.T, text string) error {
	t.Helper()
	cfg, err := config.Load(config.Options{Path: writeBake(t, text), Env: os.Environ()})
	if err != nil {
		return err
	}
	_, err = cfg.Jobs(config.ExpandOptions{
		Plugins: bake.Plugins{
			Builders:     map[string]func(bake.DecodeContext) (bake.Builder, hcl.Diagnostics){amazon.Type: amazon.New},
			Provisioners: map[string]func(bake.DecodeContext) (bake.Provisioner, hcl.Diagnostics){"shell": shell.New},
		},
		Version: "1.2.3", BuildTime: time.Now(), RunUUID: "00000000-0000-0000-0000-000000000000",
	})
	return err
}

// TestDecodeNamesTheField: bad fields are refused before anything runs,
// each error naming its field.
func TestDecodeNamesTheField(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		fields map[string]string
		want   string
	}{
		{"region that is no region name", map[string]string{"region": `"nowhere"`}, "invalid region"},
		{"no instance_type", map[string]string{"instance_type": ""}, "instance_type"},
		{"no source", map[string]string{"source_ami_filter": ""}, "invalid source_ami"},
		{"filter without owners", map[string]string{"source_ami_filter": `{
    filters = { name = "x" }
    owners  = []
  }`}, "must declare an owner"},
		{"bad ami_name", map[string]string{"ami_name": `"x"`}, "invalid ami_name"},
		{"bad ami_regions", map[string]string{"ami_regions": `["mars"]`}, "invalid ami_regions"},
		{"bad ssh_interface", map[string]string{"ssh_interface": `"ipv9"`}, "Unknown interface type"},
		{"bad deprecate_at", map[string]string{"deprecate_at": `"tomorrow"`}, "invalid deprecate_at"},
		{"bad host_key_timeout", map[string]string{"host_key_timeout": `"soon"`}, "invalid host_key_timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := decodeErr(t, source(tc.fields))
			if err == nil {
				t.Fatalf("accepted:\n%s", source(tc.fields))
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error does not say %q:\n%v", tc.want, err)
			}
		})
	}
	if err := decodeErr(t, source(nil)); err != nil {
		t.Errorf("the default source is refused: %v", err)
	}
}

// TestBadInputNamesTheField: input that only EC2 can judge is refused
// when the bake resolves its base, before anything is made, as bad input
// (exit 2) whose message names the field.
func TestBadInputNamesTheField(t *testing.T) {
	c := startCloud(t)
	for _, tc := range []struct {
		name   string
		fields map[string]string
		env    map[string]string
		want   []string
	}{
		{"unknown region", map[string]string{"region": `"xx-nowhere-1"`}, nil,
			[]string{`region "xx-nowhere-1" is not an EC2 region`}},
		{"unknown ami_regions", map[string]string{"ami_regions": `["xx-nowhere-2"]`}, nil,
			[]string{`ami_regions: "xx-nowhere-2" is not an EC2 region`}},
		{"no AMI matches the filter", map[string]string{"source_ami_filter": `{
    filters = { name = "ubuntu-99-*", architecture = "arm64" }
    owners  = ["099720109477"]
  }`}, nil, []string{"source_ami_filter matches no available AMI", `architecture="arm64"`, `name="ubuntu-99-*"`, "owners [099720109477]"}},
		{"missing source_ami", map[string]string{"source_ami_filter": "", "source_ami": `"ami-0000000000000dead"`}, nil,
			[]string{"source_ami ami-0000000000000dead does not exist"}},
		{"invalid instance type", map[string]string{"instance_type": `"t3.gigantic"`}, nil,
			[]string{`instance_type "t3.gigantic" is not an EC2 instance type`}},
		{"unknown subnet", map[string]string{"subnet_id": `"subnet-0000000000000dead"`}, nil,
			[]string{"subnet_id subnet-0000000000000dead does not exist"}},
		{"missing credentials", nil, map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""},
			[]string{"credentials: no AWS credentials found", "AWS_PROFILE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			r := plan(t, writeBake(t, source(tc.fields)), nil, "")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res := r.run(ctx, t)
			if res.Err == nil {
				t.Fatal("the bake ran")
			}
			if !bake.IsBadInput(res.Err) {
				t.Errorf("not reported as bad input (exit 2): %v", res.Err)
			}
			for _, w := range tc.want {
				if !strings.Contains(res.Err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, res.Err)
				}
			}
			if left := c.leftovers(t, r.UUID, "us-east-1"); len(left) > 0 {
				t.Errorf("bad input made something: %v", left)
			}
			t.Log(res.Err)
		})
	}
}
