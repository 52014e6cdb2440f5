package rebuild

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultTook is a bake's weight when none of the bakes has a recorded
// time (dev.bake.took).
const DefaultTook = time.Minute

// Shard is one runner's part of a nightly: the bakes it owns.
type Shard struct {
	Index int // 1-based
	Total int
	Bakes []string
	// Took is the sum of the bakes' previous bake times.
	Took time.Duration
}

// String is the shard as --shard takes it: I/N.
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Total) }

// ParseShard reads --shard I/N (1 ≤ I ≤ N).
func ParseShard(s string) (index, total int, err error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return 0, 0, fmt.Errorf("--shard %q: want I/N with 1 ≤ I ≤ N, e.g. --shard 2/4", s)
	}
	return i, n, nil
}

// Weights are the previous bake time of each bake (by its name, as
// Candidate.Bake): the sum over its sources of their newest artifact's
// dev.bake.took. Artifacts of version skip are left out, so that every
// shard of one nightly (one --version) weighs the bakes alike even after
// some of them were rebaked. A bake with no recorded time weighs the
// median of the others (DefaultTook when none has one).
func Weights(ctx context.Context, cs []*Candidate, skip string, parallel int) map[string]time.Duration {
	took := make([]time.Duration, len(cs))
	known := make([]bool, len(cs))
	index := make(map[*Candidate]int, len(cs))
	for i, c := range cs {
		index[c] = i
	}
	Each(ctx, cs, parallel, func(ctx context.Context, c *Candidate) {
		i := index[c]
		if p := Previous(ctx, c.Job); p != nil && p.Took > 0 && (skip == "" || p.Version != skip) {
			took[i], known[i] = p.Took, true
		}
	})
	var all []time.Duration
	for i := range cs {
		if known[i] {
			all = append(all, took[i])
		}
	}
	guess := DefaultTook
	if len(all) > 0 {
		slices.Sort(all)
		guess = all[len(all)/2]
	}
	w := map[string]time.Duration{}
	for i, c := range cs {
		if !known[i] {
			took[i] = guess
		}
		w[c.Bake] += took[i]
	}
	return w
}

// Split deals bakes into n shards, heaviest first, each to the lightest
// shard so far (longest-processing-time first, within 4/3 of the best
// split). Equal weights go by name and equal shards by index, so the
// split depends only on the weights: every runner computes the same.
func Split(weights map[string]time.Duration, n int) []Shard {
	shards := make([]Shard, n)
	for i := range shards {
		shards[i] = Shard{Index: i + 1, Total: n, Bakes: []string{}}
	}
	names := make([]string, 0, len(weights))
	for b := range weights {
		names = append(names, b)
	}
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(weights[b], weights[a]), cmp.Compare(a, b))
	})
	for _, b := range names {
		least := 0
		for i := range shards {
			if shards[i].Took < shards[least].Took {
				least = i
			}
		}
		shards[least].Bakes = append(shards[least].Bakes, b)
		shards[least].Took += weights[b]
	}
	for i := range shards {
		slices.Sort(shards[i].Bakes)
	}
	return shards
}
