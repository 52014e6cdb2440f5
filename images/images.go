// Package images is what bake knows about the artifacts it made after
// the bake: their versions and lineage, the channels that point at them,
// where they are in use, and which of them a retention policy removes.
// Each kind of artifact (Docker images, AMIs) is a Store; listing,
// channels and retention planning are shared.
package images

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/bakehq/bake/bake"
)

// Version is one artifact of a bake.
type Version struct {
	Name        string // the job that made it: BUILD.TYPE.NAME (dev.bake.name)
	Repository  string // docker: the repository; amazon: the region
	Version     string
	ID          string // image ID or AMI id
	Digest      string // the registry's manifest digest, when pushed
	Created     time.Time
	BaseName    string
	BaseDigest  string
	Fingerprint string
	// Took is how long its bake ran before the capture (dev.bake.took);
	// zero when it was not recorded.
	Took time.Duration
	// Channels point at this version.
	Channels []string
	// InUse says what uses it: containers, instances, groups, templates.
	InUse []string
	// Where the version is: "local", "registry", "local, registry", a region.
	Where string
	// Snapshots are an AMI's EBS snapshots.
	Snapshots []string
}

// Store is one kind of artifact.
type Store interface {
	// List returns the versions of name, with channels and uses. name
	// is a repository, a job name (BUILD.TYPE.NAME) or a source name.
	List(ctx context.Context, name string) ([]Version, error)
	// SetChannel points channel at v.
	SetChannel(ctx context.Context, v Version, channel string) error
	// Remove removes v (and what belongs to it, e.g. snapshots) and
	// says what it removed.
	Remove(ctx context.Context, v Version) ([]string, error)
}

// Matches reports whether a version's job name or repository is name:
// the repository, the full job name, TYPE.NAME or the source's NAME.
func Matches(name, job, repository string) bool {
	if name == "" {
		return false
	}
	if name == repository || name == job {
		return true
	}
	return job != "" && (strings.HasSuffix(job, "."+name))
}

var channelRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

// CheckChannel refuses channel names that are not a lower-case word; a
// channel is a registry tag and part of an SSM parameter name.
func CheckChannel(c string) error {
	if !channelRE.MatchString(c) {
		return bake.BadInputf("channel %q: use a lower-case word of letters, digits, - and _ that starts with a letter, e.g. prod", c)
	}
	return nil
}

// Sort orders versions newest first (by creation time, then version).
func Sort(vs []Version) {
	sort.SliceStable(vs, func(i, j int) bool {
		if !vs[i].Created.Equal(vs[j].Created) {
			return vs[i].Created.After(vs[j].Created)
		}
		return vs[i].Version > vs[j].Version
	})
}

// Find returns the versions named version of vs: one, or one per
// region for an AMI copied to several (all of one bake). It is a
// bad-input error, listing the versions there are, when there is none,
// and when versions of different bakes or repositories have that name.
func Find(vs []Version, name, version string) ([]Version, error) {
	var hits []Version
	for _, v := range vs {
		if v.Version == version {
			hits = append(hits, v)
		}
	}
	if len(hits) == 0 {
		if len(vs) == 0 {
			return nil, bake.BadInputf("%s has no versions: bake it first, or check the name (a repository, BUILD.TYPE.NAME or the source name)", name)
		}
		return nil, bake.BadInputf("%s has no version %q; it has %s", name, version, versionList(vs))
	}
	for _, h := range hits[1:] {
		if h.Name != hits[0].Name || h.Repository == hits[0].Repository {
			var where []string
			for _, h := range hits {
				where = append(where, h.Name+" in "+h.Repository)
			}
			return nil, bake.BadInputf("version %s of %s is ambiguous (%s): name the repository or BUILD.TYPE.NAME", version, name, strings.Join(where, "; "))
		}
	}
	return hits, nil
}

// ByChannel returns the version channel points at, or a bad-input error
// that lists the channels there are.
func ByChannel(vs []Version, name, channel string) (Version, error) {
	var have []string
	for _, v := range vs {
		for _, c := range v.Channels {
			if c == channel {
				return v, nil
			}
			have = append(have, c)
		}
	}
	if len(have) == 0 {
		return Version{}, bake.BadInputf("%s has no channel %q (no channels at all): bake promote %s VERSION --channel %s", name, channel, name, channel)
	}
	sort.Strings(have)
	return Version{}, bake.BadInputf("%s has no channel %q; it has %s", name, channel, strings.Join(have, ", "))
}

func versionList(vs []Version) string {
	var names []string
	for i, v := range vs {
		if i == 8 {
			names = append(names, fmt.Sprintf("and %d more (bake images)", len(vs)-i))
			break
		}
		names = append(names, v.Version)
	}
	return strings.Join(names, ", ")
}

// Decision is what a retention policy does with a version, and why.
type Decision struct {
	Version Version
	Remove  bool
	Why     string
}

// Policy is bake prune's retention policy.
type Policy struct {
	// Keep the Keep newest versions.
	Keep int
	// OlderThan, when set, removes only versions older than this.
	OlderThan time.Duration
	Now       time.Time
}

// Plan decides, for each version (newest first), whether the policy
// removes it. A version a channel points at or something uses is never
// removed, whatever its age; every survivor says why it is kept.
// Versions are counted per repository (or region).
func Plan(vs []Version, p Policy) []Decision {
	vs = append([]Version(nil), vs...)
	Sort(vs)
	out := make([]Decision, 0, len(vs))
	rank := map[string]int{}
	for _, v := range vs {
		i := rank[v.Repository]
		rank[v.Repository]++
		d := Decision{Version: v}
		var why []string
		if i < p.Keep {
			why = append(why, fmt.Sprintf("one of the %d newest", p.Keep))
		}
		if len(v.Channels) > 0 {
			why = append(why, "channel "+strings.Join(v.Channels, ", "))
		}
		if len(v.InUse) > 0 {
			why = append(why, "in use by "+strings.Join(v.InUse, ", "))
		}
		if p.OlderThan > 0 && !v.Created.IsZero() && p.Now.Sub(v.Created) < p.OlderThan {
			why = append(why, fmt.Sprintf("younger than %s", p.OlderThan))
		}
		if len(why) > 0 {
			d.Why = "kept: " + strings.Join(why, "; ")
		} else {
			d.Remove = true
			d.Why = fmt.Sprintf("removed: older than the %d newest, no channel, not in use", p.Keep)
			if p.OlderThan > 0 {
				d.Why += ", older than " + p.OlderThan.String()
			}
		}
		out = append(out, d)
	}
	return out
}
