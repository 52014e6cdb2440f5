package roll_test

import (
	"strings"
	"testing"
	"time"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/roll"
)

// TestLoadTestdata reads the example service definition.
func TestLoadTestdata(t *testing.T) {
	t.Parallel()
	s, err := roll.Load("testdata/web.roll.hcl", "")
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "web" || s.LaunchTemplate != "web" || s.Desired != 2 || s.Max != 4 || len(s.Traffic.TargetGroups) != 2 ||
		s.Health.Consecutive != 3 || s.Health.Interval != 5*time.Second || s.Strategy.ScaleDownDelay != 5*time.Minute ||
		len(s.Strategy.Steps) != 4 || s.Strategy.StepPause != time.Minute || s.Grace != 30*time.Second {
		t.Errorf("loaded %+v", s)
	}
}

// TestParseErrors: each mistake names the file, line and column and what
// to do.
func TestParseErrors(t *testing.T) {
	t.Parallel()
	const lt = `  launch_template = "web"
  traffic {
    listener      = "l"
    target_groups = ["a", "b"]
  }
`
	tests := []struct {
		name, src, pick string
		wants           []string
	}{
		{"syntax", "service \"web\" {\n  launch_template = \n}\n", "", []string{"web.roll.hcl:2:"}},
		{"unknown argument", "service \"web\" {\n" + lt + "  colour = \"blue\"\n}\n", "", []string{"web.roll.hcl:7:3", "colour"}},
		{"no service", "# nothing\n", "", []string{"defines no service"}},
		{"unknown service", "service \"web\" {\n" + lt + "}\n", "api", []string{`unknown service "api"`, "defines web"}},
		{"two services, no name", "service \"web\" {\n" + lt + "}\nservice \"api\" {\n" + lt + "}\n", "", []string{"choose one with --name", "api, web"}},
		{"no traffic", "service \"web\" {\n  launch_template = \"web\"\n}\n", "", []string{"web.roll.hcl:1:1", "Missing traffic block"}},
		{"one target group", "service \"web\" {\n  launch_template = \"web\"\n  traffic {\n    listener = \"l\"\n    target_groups = [\"a\"]\n  }\n}\n", "", []string{"Two target groups needed"}},
		{"bad duration", "service \"web\" {\n" + lt + "  health {\n    interval = \"soon\"\n  }\n}\n", "", []string{`health.interval = "soon" is not a duration`}},
		{"bad steps", "service \"web\" {\n" + lt + "  canary {\n    steps = [50, 10]\n  }\n}\n", "", []string{"must rise strictly"}},
		{"bad capacity", "service \"web\" {\n" + lt + "  capacity {\n    min = 3\n    max = 2\n    desired = 2\n  }\n}\n", "", []string{"Invalid capacity"}},
		{"bad name", "service \"web_1\" {\n" + lt + "}\n", "", []string{"Invalid service name"}},
		{"target group and listener", "service \"web\" {\n" + strings.Replace(lt, "  traffic {\n", "  traffic {\n    target_group = \"t\"\n", 1) + "}\n", "", []string{"web.roll.hcl:1:1", "Conflicting traffic", "target_group", "goes alone"}},
		{"target group and route53", "service \"web\" {\n  launch_template = \"web\"\n  traffic {\n    target_group = \"t\"\n    route53 {\n      zone_id = \"Z1\"\n      record = \"www.example.com\"\n    }\n  }\n  health {\n    path = \"/health\"\n  }\n}\n", "", []string{"Conflicting traffic"}},
		{"target group without health path", "service \"web\" {\n  launch_template = \"web\"\n  traffic {\n    target_group = \"t\"\n  }\n}\n", "", []string{"web.roll.hcl:1:1", "Missing health path", "health.path is required", "traffic.target_group"}},
		{"listener rule and listener", "service \"web\" {\n" + strings.Replace(lt, "  traffic {\n", "  traffic {\n    listener_rule = \"r\"\n", 1) + "}\n", "", []string{"web.roll.hcl:3:3", "Conflicting traffic", "listener_rule", "remove listener"}},
		{"listener rule and target group", "service \"web\" {\n  launch_template = \"web\"\n  traffic {\n    listener_rule = \"r\"\n    target_group = \"t\"\n  }\n}\n", "", []string{"web.roll.hcl:3:3", "Conflicting traffic"}},
		{"listener rule one target group", "service \"web\" {\n  launch_template = \"web\"\n  traffic {\n    listener_rule = \"r\"\n    target_groups = [\"a\"]\n  }\n}\n", "", []string{"web.roll.hcl:3:3", "Two target groups needed", "listener rule"}},
		{"route53 one lb", "service \"web\" {\n  launch_template = \"web\"\n  traffic {\n    route53 {\n      zone_id = \"Z1\"\n      record = \"www.example.com\"\n      load_balancer \"a\" {\n        dns_name = \"x\"\n        target_group = \"t\"\n      }\n    }\n  }\n}\n", "", []string{"Route53 needs two load balancers"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := roll.Parse("web.roll.hcl", []byte(tt.src), tt.pick)
			if err == nil {
				t.Fatal("no error")
			}
			if !bake.IsBadInput(err) {
				t.Errorf("not bad input: %v", err)
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestDefaults: a minimal service gets safe defaults.
func TestDefaults(t *testing.T) {
	t.Parallel()
	s, err := roll.Parse("x.roll.hcl", []byte("service \"web\" {\n  launch_template = \"web\"\n  traffic {\n    listener = \"l\"\n    target_groups = [\"a\", \"b\"]\n  }\n  canary {\n    steps = [20, 60]\n    pause = \"manual\"\n  }\n}\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if s.Desired != 1 || s.Health.Status != 200 || s.Health.Port != 80 || s.Strategy.ScaleDownDelay != 5*time.Minute ||
		!s.Strategy.ManualPromote || len(s.Strategy.Steps) != 3 || s.Strategy.Steps[2] != 100 || s.LockTTL != 30*time.Second {
		t.Errorf("defaults %+v", s)
	}
}

// TestParseSingleTargetGroup: traffic { target_group } alone is a service
// whose two colours share that target group.
func TestParseSingleTargetGroup(t *testing.T) {
	t.Parallel()
	s, err := roll.Parse("x.roll.hcl", []byte("service \"web\" {\n  launch_template = \"web\"\n  traffic {\n    target_group = \"tg-1\"\n  }\n  health {\n    path = \"/health\"\n  }\n}\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if s.Traffic.TargetGroup != "tg-1" || s.Traffic.Listener != "" || len(s.Traffic.TargetGroups) != 0 || s.Traffic.Route53 != nil {
		t.Errorf("traffic %+v", s.Traffic)
	}
}

// TestParseListenerRule: traffic { listener_rule, target_groups } is a
// service behind one rule of a shared listener.
func TestParseListenerRule(t *testing.T) {
	t.Parallel()
	s, err := roll.Parse("x.roll.hcl", []byte("service \"web\" {\n  launch_template = \"web\"\n  traffic {\n    listener_rule = \"r-1\"\n    target_groups = [\"a\", \"b\"]\n  }\n}\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if s.Traffic.ListenerRule != "r-1" || s.Traffic.Listener != "" || len(s.Traffic.TargetGroups) != 2 || s.Traffic.TargetGroup != "" || s.Traffic.Route53 != nil {
		t.Errorf("traffic %+v", s.Traffic)
	}
}

// FuzzParse: no input makes the parser panic, and every error is bad
// input.
func FuzzParse(f *testing.F) {
	f.Add([]byte("service \"web\" {\n  launch_template = \"web\"\n  traffic {\n    listener = \"l\"\n    target_groups = [\"a\", \"b\"]\n  }\n}\n"))
	f.Add([]byte("service \"web\" {\n  canary {\n    steps = [0, 200]\n  }\n}\n"))
	f.Add([]byte("service {\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		_, err := roll.Parse("f.roll.hcl", src, "")
		if err != nil && !bake.IsBadInput(err) {
			t.Errorf("error is not bad input: %v", err)
		}
	})
}
