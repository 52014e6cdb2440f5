package ec2

import (
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/bakehq/bake/sim/core"
)

func strPtr(s string) *string { return &s }
func boolPtr(b bool) *bool    { return &b }
func i32Ptr(n int32) *int32   { return &n }
func timePtr(t time.Time) *time.Time {
	t = t.UTC()
	return &t
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func parseAddr(s string) (netip.Addr, error) { return netip.ParseAddr(s) }

// filterSet is a DescribeX Filter list: a resource matches when every
// filter has a value matching one of the resource's values (EC2 semantics:
// AND across filters, OR within one; * and ? are wildcards).
type filterSet []types.Filter

// match reports whether the resource whose values for a filter name are
// given by values passes every filter. Unknown filter names match nothing,
// which is what EC2 does not do (it errors) — so check them with known.
func (fs filterSet) match(values func(name string) []string) bool {
	for _, f := range fs {
		name := deref(f.Name)
		have := values(name)
		ok := false
		for _, want := range f.Values {
			for _, h := range have {
				if wildcard(want, h) {
					ok = true
				}
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// known returns an InvalidParameterValue error for the first filter whose
// name is not one of names (tag:, tag-key and tag-value are always known).
func (fs filterSet) known(names ...string) error {
	for _, f := range fs {
		n := deref(f.Name)
		if strings.HasPrefix(n, "tag:") || n == "tag-key" || n == "tag-value" {
			continue
		}
		found := false
		for _, k := range names {
			if k == n {
				found = true
			}
		}
		if !found {
			return core.Errorf("InvalidParameterValue", "The filter '%s' is invalid", n)
		}
	}
	return nil
}

// wildcard matches s against an EC2 filter value: * is any run of
// characters (/ included), ? is one character, everything else is literal.
func wildcard(pattern, s string) bool {
	if !strings.ContainsAny(pattern, "*?") {
		return pattern == s
	}
	p, x := []rune(pattern), []rune(s)
	pi, xi := 0, 0
	star, mark := -1, 0
	for xi < len(x) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == x[xi]):
			pi++
			xi++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, xi
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			xi = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// tagValues answers tag:K, tag-key and tag-value filter names.
func tagValues(tags map[string]string, name string) ([]string, bool) {
	switch {
	case strings.HasPrefix(name, "tag:"):
		if v, ok := tags[strings.TrimPrefix(name, "tag:")]; ok {
			return []string{v}, true
		}
		return nil, true
	case name == "tag-key":
		out := make([]string, 0, len(tags))
		for k := range tags {
			out = append(out, k)
		}
		return out, true
	case name == "tag-value":
		out := make([]string, 0, len(tags))
		for _, v := range tags {
			out = append(out, v)
		}
		return out, true
	}
	return nil, false
}

// tagList is the SDK form of tags, sorted by key.
func tagList(tags map[string]string) []types.Tag {
	if len(tags) == 0 {
		return nil
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]types.Tag, 0, len(keys))
	for _, k := range keys {
		out = append(out, types.Tag{Key: strPtr(k), Value: strPtr(tags[k])})
	}
	return out
}

// tagsFor applies the TagSpecifications of a create call for resource type
// rt to id; call with e.mu held.
func (e *EC2) tagsFor(id string, rt types.ResourceType, specs []types.TagSpecification) {
	for _, s := range specs {
		if s.ResourceType != rt {
			continue
		}
		e.setTags(id, s.Tags)
	}
}

func (e *EC2) setTags(id string, tags []types.Tag) {
	m := e.st.Tags[id]
	if m == nil {
		m = map[string]string{}
		e.st.Tags[id] = m
	}
	for _, t := range tags {
		m[deref(t.Key)] = deref(t.Value)
	}
}

// page cuts a sorted list of ids to MaxResults after NextToken (the id to
// start from).
func page(ids []string, token *string, max *int32) ([]string, *string) {
	if token != nil && *token != "" {
		i := sort.SearchStrings(ids, *token)
		ids = ids[i:]
	}
	if max != nil && *max > 0 && int(*max) < len(ids) {
		next := ids[*max]
		return ids[:*max], &next
	}
	return ids, nil
}
