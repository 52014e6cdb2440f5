package roll

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/bake/config"
)

// FileSuffix is how a service definition file is named.
const FileSuffix = ".roll.hcl"

// Service is one `service "NAME" {...}` block: where the service runs,
// how its groups are sized, how traffic reaches them and what healthy
// means. Durations are parsed; defaults are filled in by Load.
type Service struct {
	Name           string
	Region         string
	LaunchTemplate string // name of the launch template roll versions
	// Image is the bake (BUILD.TYPE.NAME) whose images the service runs:
	// --channel C reads bake promote's SSM parameter /bake/IMAGE/C.
	Image        string
	InstanceType string   // set in each new template version when not ""
	Subnets      []string // "" = the default VPC's subnets
	Min, Max     int32
	Desired      int32         // capacity of the first group; later groups copy blue's
	Grace        time.Duration // health check grace of the groups
	Traffic      Traffic
	Health       Health
	Strategy     Strategy
	LockTTL      time.Duration // a lock not renewed for this long is stale
}

// Traffic is how clients reach the service: an ALB listener forwarding to
// two target groups (Listener, TargetGroups), a rule of a shared ALB
// listener forwarding to two target groups (ListenerRule, TargetGroups),
// Route53 weighted records
// over one load balancer per colour (Route53), or one target group that
// each colour's group is attached to in turn (TargetGroup).
type Traffic struct {
	Listener     string
	ListenerRule string   // a non-default rule of a listener shared with other services
	TargetGroups []string // exactly two for a listener or a listener rule
	Route53      *Route53Traffic
	TargetGroup  string // the single target group; no weights, so no canary or route53
}

// Route53Traffic is a weighted record set, one record per slot, each
// pointing at that slot's load balancer.
type Route53Traffic struct {
	ZoneID string
	Record string
	TTL    int64
	Slots  []DNSSlot // exactly two
}

// DNSSlot is one colour of a Route53 service: the load balancer's DNS
// name the weighted record points at, and its target group.
type DNSSlot struct {
	Name        string // set identifier of the record
	DNSName     string
	TargetGroup string
}

// Health gates a new group: every target healthy in the load balancer
// for Consecutive checks Interval apart, and, with Path set, the same
// number of direct HTTP checks of each instance.
type Health struct {
	Path        string // direct checks against each instance; "" for none
	Port        int
	Status      int
	Consecutive int
	Interval    time.Duration
	Timeout     time.Duration // one direct check
	WaitTimeout time.Duration // how long a new group may take to become healthy
}

// Strategy holds the settings of every strategy; the one used is chosen
// on the command line.
type Strategy struct {
	ScaleDownDelay      time.Duration // blue kept at full size after the switch
	PostPromotionWindow time.Duration // green watched after the switch
	Steps               []int         // canary and route53 weights of green, ending at 100
	StepPause           time.Duration // held at each step (route53: plus the TTL)
	ManualPromote       bool          // pause = "manual": each step waits for `roll promote`
	MaxErrorRate        float64       // canary analysis: green's error rate above blue's
	MaxLatencyRatio     float64       // canary analysis: green's p99 over blue's
	AnalysisRequests    int           // probes per side per analysis
	BatchSize           int           // rolling
	MinHealthyPercent   int           // rolling
}

// hcl shapes.
type fileSchema struct {
	Services []serviceBlock `hcl:"service,block"`
	Remain   hcl.Body       `hcl:",remain"`
}

type serviceBlock struct {
	Name           string         `hcl:"name,label"`
	Region         string         `hcl:"region,optional"`
	LaunchTemplate string         `hcl:"launch_template"`
	Image          string         `hcl:"image,optional"`
	InstanceType   string         `hcl:"instance_type,optional"`
	Subnets        []string       `hcl:"subnets,optional"`
	HealthGrace    string         `hcl:"health_check_grace,optional"`
	LockTTL        string         `hcl:"lock_ttl,optional"`
	Capacity       *capacityBlock `hcl:"capacity,block"`
	Traffic        *trafficBlock  `hcl:"traffic,block"`
	Health         *healthBlock   `hcl:"health,block"`
	BlueGreen      *bgBlock       `hcl:"bluegreen,block"`
	Canary         *canaryBlock   `hcl:"canary,block"`
	Rolling        *rollingBlock  `hcl:"rolling,block"`
	DefRange       hcl.Range      `hcl:",def_range"`
}

type capacityBlock struct {
	Min     int32 `hcl:"min"`
	Max     int32 `hcl:"max"`
	Desired int32 `hcl:"desired"`
}

type trafficBlock struct {
	Listener     string        `hcl:"listener,optional"`
	ListenerRule string        `hcl:"listener_rule,optional"`
	TargetGroups []string      `hcl:"target_groups,optional"`
	TargetGroup  string        `hcl:"target_group,optional"`
	Route53      *route53Block `hcl:"route53,block"`
	DefRange     hcl.Range     `hcl:",def_range"`
}

type route53Block struct {
	ZoneID   string      `hcl:"zone_id"`
	Record   string      `hcl:"record"`
	TTL      int64       `hcl:"ttl,optional"`
	Slots    []slotBlock `hcl:"load_balancer,block"`
	DefRange hcl.Range   `hcl:",def_range"`
}

type slotBlock struct {
	Name        string `hcl:"name,label"`
	DNSName     string `hcl:"dns_name"`
	TargetGroup string `hcl:"target_group"`
}

type healthBlock struct {
	Path        string `hcl:"path,optional"`
	Port        int    `hcl:"port,optional"`
	Status      int    `hcl:"status,optional"`
	Consecutive int    `hcl:"consecutive,optional"`
	Interval    string `hcl:"interval,optional"`
	Timeout     string `hcl:"timeout,optional"`
	WaitTimeout string `hcl:"wait_timeout,optional"`
}

type bgBlock struct {
	ScaleDownDelay      string `hcl:"scale_down_delay,optional"`
	PostPromotionWindow string `hcl:"post_promotion_window,optional"`
}

type canaryBlock struct {
	Steps            []int   `hcl:"steps,optional"`
	Pause            string  `hcl:"pause,optional"`
	MaxErrorRate     float64 `hcl:"max_error_rate,optional"`
	MaxLatencyRatio  float64 `hcl:"max_latency_ratio,optional"`
	AnalysisRequests int     `hcl:"analysis_requests,optional"`
}

type rollingBlock struct {
	BatchSize         int `hcl:"batch_size,optional"`
	MinHealthyPercent int `hcl:"min_healthy_percent,optional"`
}

// Load reads the service named name from path (a .roll.hcl file). With
// name "" the file must hold exactly one service. Every mistake is a
// bad-input error with file:line:col.
func Load(path, name string) (*Service, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, bake.BadInputf("read service file %s: %w", path, err)
	}
	return Parse(path, src, name)
}

// Parse is Load of src, read from a file called filename.
func Parse(filename string, src []byte, name string) (*Service, error) {
	p := hclparse.NewParser()
	f, diags := p.ParseHCL(src, filename)
	if diags.HasErrors() {
		return nil, config.DiagErr(diags, p.Files())
	}
	var fs fileSchema
	if diags := gohcl.DecodeBody(f.Body, nil, &fs); diags.HasErrors() {
		return nil, config.DiagErr(diags, p.Files())
	}
	if attrs, _ := fs.Remain.JustAttributes(); len(attrs) > 0 {
		for _, a := range attrs {
			r := a.NameRange
			return nil, config.DiagErr(hcl.Diagnostics{config.Errorf(&r, "Unsupported argument", "%q is not expected at the top level; a .roll.hcl file holds service blocks", a.Name)}, p.Files())
		}
	}
	var names []string
	var pick *serviceBlock
	for i := range fs.Services {
		names = append(names, fs.Services[i].Name)
		if fs.Services[i].Name == name || (name == "" && len(fs.Services) == 1) {
			pick = &fs.Services[i]
		}
	}
	sort.Strings(names)
	switch {
	case len(names) == 0:
		return nil, bake.BadInputf("%s defines no service: add a service \"NAME\" { ... } block", filename)
	case pick == nil && name == "":
		return nil, bake.BadInputf("%s defines services %s: choose one with --name", filename, strings.Join(names, ", "))
	case pick == nil:
		return nil, bake.BadInputf("unknown service %q: %s defines %s", name, filename, strings.Join(names, ", "))
	}
	s, diags := pick.service()
	if diags.HasErrors() {
		return nil, config.DiagErr(diags, p.Files())
	}
	return s, nil
}

func (b *serviceBlock) service() (*Service, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	bad := func(summary, format string, args ...any) {
		r := b.DefRange
		diags = append(diags, config.Errorf(&r, summary, format, args...))
	}
	dur := func(field, v string, def time.Duration) time.Duration {
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			bad("Invalid duration", "%s = %q is not a duration such as 500ms, 30s or 5m", field, v)
		}
		return d
	}
	s := &Service{
		Name:           b.Name,
		Region:         b.Region,
		LaunchTemplate: b.LaunchTemplate,
		Image:          b.Image,
		InstanceType:   b.InstanceType,
		Subnets:        b.Subnets,
		Grace:          dur("health_check_grace", b.HealthGrace, 30*time.Second),
		LockTTL:        dur("lock_ttl", b.LockTTL, 30*time.Second),
		Min:            1, Max: 1, Desired: 1,
	}
	if b.Capacity != nil {
		s.Min, s.Max, s.Desired = b.Capacity.Min, b.Capacity.Max, b.Capacity.Desired
		if s.Min < 0 || s.Max < 1 || s.Desired < s.Min || s.Desired > s.Max {
			bad("Invalid capacity", "want 0 <= min <= desired <= max and max >= 1, have min %d, desired %d, max %d", s.Min, s.Desired, s.Max)
		}
	}
	if !validName(b.Name) {
		bad("Invalid service name", "%q: use letters, digits and dashes (it names the Auto Scaling groups)", b.Name)
	}
	if b.LaunchTemplate == "" {
		bad("Missing launch template", "launch_template names the launch template roll makes new versions of")
	}
	if b.Traffic == nil {
		bad("Missing traffic block", "say how clients reach the service: traffic { listener = ARN, target_groups = [A, B] }, traffic { listener_rule = ARN, target_groups = [A, B] }, traffic { target_group = ARN } or traffic { route53 { ... } }")
	} else {
		t := b.Traffic
		badT := func(summary, format string, args ...any) {
			r := t.DefRange
			diags = append(diags, config.Errorf(&r, summary, format, args...))
		}
		switch {
		case t.ListenerRule != "" && (t.Listener != "" || t.TargetGroup != "" || t.Route53 != nil):
			badT("Conflicting traffic", "listener_rule (a rule of a listener shared with other services) goes with target_groups alone: remove listener, target_group and route53, or remove listener_rule")
		case t.ListenerRule != "" && (len(t.TargetGroups) != 2 || t.TargetGroups[0] == t.TargetGroups[1]):
			badT("Two target groups needed", "target_groups must list two different target groups the listener rule forwards to, one per colour; have %d", len(t.TargetGroups))
		case t.ListenerRule != "":
			s.Traffic.ListenerRule, s.Traffic.TargetGroups = t.ListenerRule, t.TargetGroups
		case t.TargetGroup != "" && (t.Route53 != nil || t.Listener != "" || len(t.TargetGroups) > 0):
			bad("Conflicting traffic", "target_group (one target group the colours are attached to in turn) goes alone: remove listener, target_groups and route53, or remove target_group")
		case t.TargetGroup != "":
			s.Traffic.TargetGroup = t.TargetGroup
		case t.Route53 != nil && (t.Listener != "" || len(t.TargetGroups) > 0):
			bad("Conflicting traffic", "use either listener and target_groups, or route53, not both")
		case t.Route53 != nil:
			r := t.Route53
			rt := &Route53Traffic{ZoneID: r.ZoneID, Record: strings.TrimSuffix(r.Record, "."), TTL: r.TTL}
			if rt.TTL == 0 {
				rt.TTL = 60
			}
			for _, sl := range r.Slots {
				rt.Slots = append(rt.Slots, DNSSlot{Name: sl.Name, DNSName: sl.DNSName, TargetGroup: sl.TargetGroup})
			}
			if len(rt.Slots) != 2 || rt.Slots[0].Name == rt.Slots[1].Name {
				bad("Route53 needs two load balancers", "give two load_balancer \"NAME\" { dns_name, target_group } blocks with different names, one per colour")
			}
			s.Traffic.Route53 = rt
		case t.Listener == "":
			bad("Missing listener", "traffic needs listener = the ALB listener's ARN, with target_groups = [A, B] (or target_group = ARN alone)")
		case len(t.TargetGroups) != 2 || t.TargetGroups[0] == t.TargetGroups[1]:
			bad("Two target groups needed", "target_groups must list two different target groups of the listener, one per colour; have %d", len(t.TargetGroups))
		default:
			s.Traffic.Listener, s.Traffic.TargetGroups = t.Listener, t.TargetGroups
		}
	}
	h := healthBlock{}
	if b.Health != nil {
		h = *b.Health
	}
	s.Health = Health{Path: h.Path, Port: h.Port, Status: h.Status, Consecutive: h.Consecutive,
		Interval:    dur("health.interval", h.Interval, 5*time.Second),
		Timeout:     dur("health.timeout", h.Timeout, 2*time.Second),
		WaitTimeout: dur("health.wait_timeout", h.WaitTimeout, 10*time.Minute)}
	if s.Health.Port == 0 {
		s.Health.Port = 80
	}
	if s.Health.Status == 0 {
		s.Health.Status = 200
	}
	if s.Health.Consecutive == 0 {
		s.Health.Consecutive = 3
	}
	if s.Health.Path != "" && !strings.HasPrefix(s.Health.Path, "/") {
		bad("Invalid health path", "health.path %q must start with /", s.Health.Path)
	}
	if s.Traffic.TargetGroup != "" && s.Health.Path == "" {
		bad("Missing health path", "with traffic.target_group, green is checked directly before it is attached to the target group, so health.path is required: set it to a path that answers %d on port %d (health { path = \"/health\" })", s.Health.Status, s.Health.Port)
	}
	if s.Health.Interval <= 0 {
		bad("Invalid health interval", "health.interval must be positive")
	}
	bg := bgBlock{}
	if b.BlueGreen != nil {
		bg = *b.BlueGreen
	}
	s.Strategy.ScaleDownDelay = dur("bluegreen.scale_down_delay", bg.ScaleDownDelay, 5*time.Minute)
	s.Strategy.PostPromotionWindow = dur("bluegreen.post_promotion_window", bg.PostPromotionWindow, time.Minute)
	c := canaryBlock{}
	if b.Canary != nil {
		c = *b.Canary
	}
	s.Strategy.Steps = c.Steps
	if len(s.Strategy.Steps) == 0 {
		s.Strategy.Steps = []int{10, 50, 100}
	}
	prev := 0
	for _, w := range s.Strategy.Steps {
		if w <= prev || w > 100 {
			bad("Invalid canary steps", "steps %v must rise strictly, each between 1 and 100", s.Strategy.Steps)
			break
		}
		prev = w
	}
	if prev != 100 {
		s.Strategy.Steps = append(s.Strategy.Steps, 100)
	}
	if c.Pause == "manual" {
		s.Strategy.ManualPromote = true
	} else {
		s.Strategy.StepPause = dur("canary.pause", c.Pause, 30*time.Second)
	}
	s.Strategy.MaxErrorRate = c.MaxErrorRate
	if s.Strategy.MaxErrorRate == 0 {
		s.Strategy.MaxErrorRate = 0.01
	}
	s.Strategy.MaxLatencyRatio = c.MaxLatencyRatio
	if s.Strategy.MaxLatencyRatio == 0 {
		s.Strategy.MaxLatencyRatio = 3
	}
	s.Strategy.AnalysisRequests = c.AnalysisRequests
	if s.Strategy.AnalysisRequests == 0 {
		s.Strategy.AnalysisRequests = 20
	}
	r := rollingBlock{}
	if b.Rolling != nil {
		r = *b.Rolling
	}
	s.Strategy.BatchSize, s.Strategy.MinHealthyPercent = r.BatchSize, r.MinHealthyPercent
	if s.Strategy.BatchSize == 0 {
		s.Strategy.BatchSize = 1
	}
	if s.Strategy.MinHealthyPercent == 0 {
		s.Strategy.MinHealthyPercent = 100
	}
	if s.Strategy.MinHealthyPercent < 0 || s.Strategy.MinHealthyPercent > 100 {
		bad("Invalid min_healthy_percent", "rolling.min_healthy_percent %d must be between 0 and 100", s.Strategy.MinHealthyPercent)
	}
	return s, diags
}

func validName(n string) bool {
	if n == "" || len(n) > 40 {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// slots are the two colours' names and target groups, in file order.
func (s *Service) slots() [2]slot {
	if r := s.Traffic.Route53; r != nil {
		return [2]slot{{r.Slots[0].Name, r.Slots[0].TargetGroup}, {r.Slots[1].Name, r.Slots[1].TargetGroup}}
	}
	if tg := s.Traffic.TargetGroup; tg != "" {
		return [2]slot{{"a", tg}, {"b", tg}}
	}
	return [2]slot{{"a", s.Traffic.TargetGroups[0]}, {"b", s.Traffic.TargetGroups[1]}}
}

// slot is one colour: where a group of that colour registers.
type slot struct {
	Name        string
	TargetGroup string
}

func (s slot) String() string { return fmt.Sprintf("slot %s", s.Name) }
