package ec2

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func TestWildcard(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"debian-12-amd64-*", "debian-12-amd64-20240717-1811", true},
		{"debian-12-*", "debian-11-amd64-20240717-1811", false},
		{"web-?", "web-1", true},
		{"web-?", "web-10", false},
		{"exact", "exact", true},
		{"a[1]", "a[1]", true},
		{"*/app", "team/x/app", true},
		{"*", "", true},
	} {
		if got := wildcard(tc.pattern, tc.s); got != tc.want {
			t.Errorf("wildcard(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func TestFilterSet(t *testing.T) {
	t.Parallel()
	fs := filterSet{
		{Name: aws.String("name"), Values: []string{"a-*", "b-*"}},
		{Name: aws.String("tag:env"), Values: []string{"prod"}},
	}
	values := func(name, env string) func(string) []string {
		return func(n string) []string {
			if v, ok := tagValues(map[string]string{"env": env}, n); ok {
				return v
			}
			return map[string][]string{"name": {name}}[n]
		}
	}
	if !fs.match(values("b-1", "prod")) {
		t.Error("b-1/prod should match: values OR within a filter")
	}
	if fs.match(values("b-1", "dev")) {
		t.Error("b-1/dev should not match: filters AND")
	}
	if err := fs.known("name"); err != nil {
		t.Errorf("known: %v", err)
	}
	if err := (filterSet{{Name: aws.String("colour")}}).known("name"); err == nil {
		t.Error("an unknown filter was accepted")
	}
}

// A new launch template version keeps what its source version set and
// replaces what it sets itself.
func TestResponseDataInherits(t *testing.T) {
	t.Parallel()
	v1, err := responseData(&types.RequestLaunchTemplateData{ImageId: aws.String("ami-1"), InstanceType: types.InstanceTypeT3Micro,
		SecurityGroupIds: []string{"sg-1"}, TagSpecifications: []types.LaunchTemplateTagSpecificationRequest{{ResourceType: types.ResourceTypeInstance,
			Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	v2, err := responseData(&types.RequestLaunchTemplateData{InstanceType: types.InstanceTypeT3Small}, v1)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(v2.ImageId) != "ami-1" || v2.InstanceType != types.InstanceTypeT3Small || len(v2.SecurityGroupIds) != 1 ||
		len(v2.TagSpecifications) != 1 || aws.ToString(v2.TagSpecifications[0].Tags[0].Value) != "b" {
		t.Fatalf("v2 = %+v", v2)
	}
}

func TestPage(t *testing.T) {
	t.Parallel()
	ids := []string{"a", "b", "c", "d"}
	got, next := page(ids, nil, aws.Int32(2))
	if len(got) != 2 || aws.ToString(next) != "c" {
		t.Fatalf("first page %v %v", got, next)
	}
	got, next = page(ids, next, aws.Int32(2))
	if len(got) != 2 || got[0] != "c" || next != nil {
		t.Fatalf("second page %v %v", got, next)
	}
}
