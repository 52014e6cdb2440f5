package images

import (
	"strings"
	"testing"
	"time"

	"github.com/bakehq/bake/bake"
)

func TestPlan(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	v := func(name string, daysAgo int, channels []string, uses []string) Version {
		return Version{Version: name, Repository: "r", Created: now.Add(-time.Duration(daysAgo) * 24 * time.Hour), Channels: channels, InUse: uses}
	}
	six := []Version{
		v("v1", 6, nil, nil), v("v2", 5, []string{"prod"}, nil), v("v3", 4, nil, []string{"Auto Scaling group web"}),
		v("v4", 3, nil, nil), v("v5", 2, nil, nil), v("v6", 1, nil, nil),
	}
	cases := []struct {
		name   string
		vs     []Version
		p      Policy
		remove string // versions removed, newest first
	}{
		{"keep 2, pinned and used survive", six, Policy{Keep: 2, Now: now}, "v4,v1"},
		{"keep 0 still spares pinned", six, Policy{Keep: 0, Now: now}, "v6,v5,v4,v1"},
		{"keep more than there are", six, Policy{Keep: 10, Now: now}, ""},
		{"older than spares the young", six, Policy{Keep: 1, OlderThan: 4*24*time.Hour - time.Hour, Now: now}, "v1"},
		{"older than, all young", six, Policy{Keep: 0, OlderThan: 30 * 24 * time.Hour, Now: now}, ""},
		{"counted per repository", []Version{
			{Version: "a1", Repository: "eu", Created: now.Add(-2 * time.Hour)}, {Version: "a2", Repository: "eu", Created: now.Add(-time.Hour)},
			{Version: "a1", Repository: "us", Created: now.Add(-2 * time.Hour)},
		}, Policy{Keep: 1, Now: now}, "a1"},
		{"nothing", nil, Policy{Keep: 1, Now: now}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var removed []string
			for _, d := range Plan(tc.vs, tc.p) {
				if d.Remove {
					removed = append(removed, d.Version.Version)
					if !strings.HasPrefix(d.Why, "removed:") {
						t.Errorf("%s: why = %q", d.Version.Version, d.Why)
					}
				} else if !strings.HasPrefix(d.Why, "kept: ") {
					t.Errorf("%s is kept without saying why: %q", d.Version.Version, d.Why)
				}
			}
			if got := strings.Join(removed, ","); got != tc.remove {
				t.Errorf("removed %q, want %q", got, tc.remove)
			}
		})
	}
	d := Plan(six, Policy{Keep: 2, Now: now})
	for _, want := range []struct{ v, why string }{
		{"v6", "kept: one of the 2 newest"}, {"v2", "kept: channel prod"}, {"v3", "kept: in use by Auto Scaling group web"},
	} {
		for _, x := range d {
			if x.Version.Version == want.v && x.Why != want.why {
				t.Errorf("%s: why = %q, want %q", want.v, x.Why, want.why)
			}
		}
	}
}

func TestFindAndChannel(t *testing.T) {
	t.Parallel()
	vs := []Version{
		{Name: "a.docker.web", Repository: "reg/web", Version: "v2", Channels: []string{"prod"}},
		{Name: "a.docker.web", Repository: "reg/web", Version: "v1"},
		{Name: "b.amazon-ebs.web", Repository: "us-east-1", Version: "v7", ID: "ami-1"},
		{Name: "b.amazon-ebs.web", Repository: "eu-west-1", Version: "v7", ID: "ami-2"},
		{Name: "c.docker.api", Repository: "reg/api", Version: "v1"},
	}
	if got, err := Find(vs, "web", "v2"); err != nil || len(got) != 1 || got[0].Repository != "reg/web" {
		t.Errorf("Find v2 = %v, %v", got, err)
	}
	if got, err := Find(vs, "web", "v7"); err != nil || len(got) != 2 {
		t.Errorf("Find v7 (one AMI per region) = %v, %v", got, err)
	}
	for _, tc := range []struct{ version, want string }{
		{"v9", `has no version "v9"; it has v2, v1, v7, v7, v1`},
		{"v1", "is ambiguous"},
	} {
		if _, err := Find(vs, "web", tc.version); err == nil || !bake.IsBadInput(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Find %s: %v, want bad input saying %q", tc.version, err, tc.want)
		}
	}
	if _, err := Find(nil, "web", "v1"); err == nil || !strings.Contains(err.Error(), "has no versions") {
		t.Errorf("Find in nothing: %v", err)
	}
	if v, err := ByChannel(vs, "web", "prod"); err != nil || v.Version != "v2" {
		t.Errorf("ByChannel prod = %v, %v", v, err)
	}
	if _, err := ByChannel(vs, "web", "staging"); err == nil || !bake.IsBadInput(err) || !strings.Contains(err.Error(), "it has prod") {
		t.Errorf("ByChannel staging: %v", err)
	}
	if _, err := ByChannel(nil, "web", "staging"); err == nil || !strings.Contains(err.Error(), "bake promote web VERSION --channel staging") {
		t.Errorf("ByChannel with no channels: %v", err)
	}
}

func TestMatches(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, job, repo string
		want            bool
	}{
		{"web", "app.docker.web", "bake/web", true},
		{"docker.web", "app.docker.web", "", true},
		{"app.docker.web", "app.docker.web", "", true},
		{"bake/web", "app.docker.web", "bake/web", true},
		{"eb", "app.docker.web", "bake/web", false},
		{"", "", "", false},
		{"api", "app.docker.web", "bake/web", false},
	} {
		if got := Matches(tc.name, tc.job, tc.repo); got != tc.want {
			t.Errorf("Matches(%q, %q, %q) = %v", tc.name, tc.job, tc.repo, got)
		}
	}
}

func TestCheckChannel(t *testing.T) {
	t.Parallel()
	for c, ok := range map[string]bool{"prod": true, "canary-1": true, "eu_prod": true, "": false, "Prod": false, "1prod": false, "a/b": false, "prod!": false, strings.Repeat("a", 64): false} {
		if err := CheckChannel(c); (err == nil) != ok {
			t.Errorf("CheckChannel(%q) = %v", c, err)
		}
	}
}

func TestParseUpdates(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		out  string
		want Updates
		bad  bool
	}{
		{"bake-updates: 9 7\n", Updates{Pending: 9, Security: 7}, false},
		{"noise\nbake-updates: 0 0\n", Updates{}, false},
		{"bake-updates: unsupported\n", Updates{Unsupported: true}, false},
		{"E: could not resolve deb.debian.org\n", Updates{}, true},
		{"", Updates{}, true},
	} {
		got, err := ParseUpdates(tc.out)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("ParseUpdates(%q) = %+v, %v", tc.out, got, err)
		}
	}
}

func FuzzParseUpdates(f *testing.F) {
	f.Add("bake-updates: 3 1\n")
	f.Add("bake-updates: unsupported")
	f.Add("bake-updates: 99999999999999999999 1")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseUpdates(s)
		if err == nil && (u.Pending < 0 || u.Security < 0) {
			t.Errorf("negative counts from %q: %+v", s, u)
		}
	})
}

func TestSplitRepository(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ repo, host, path string }{
		{"127.0.0.1:5000/bake/app", "127.0.0.1:5000", "bake/app"},
		{"bake/app", "", "bake/app"},
		{"registry.example.com/team/app", "registry.example.com", "team/app"},
		{"localhost:5000/app", "localhost:5000", "app"},
	} {
		h, p, err := SplitRepository(tc.repo)
		if err != nil || h != tc.host || p != tc.path {
			t.Errorf("SplitRepository(%q) = %q, %q, %v", tc.repo, h, p, err)
		}
	}
	if _, _, err := SplitRepository("Bad Name"); err == nil {
		t.Error("SplitRepository accepted a bad name")
	}
}
