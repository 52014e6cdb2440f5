package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// TestPromoteCompareAndSwap: promote moves a channel only forward, --expect
// makes it conditional, and pipelines promoting at once under the SSM
// lock (the local cloud's) never leave the channel on the older version.
func TestPromoteCompareAndSwap(t *testing.T) {
	c := engine(t)
	startSim(t)
	reg := startRegistry(t)
	prefix := uniq("bake-e2e-cas")
	repo := reg + "/" + prefix + "/app"
	removeRepos(t, c, reg+"/"+prefix)

	dir := writeAppBake(t, repo)
	for i := 1; i <= 2; i++ {
		if r := bake(t, "build", "--manifest", "", "--version", fmt.Sprintf("v%d", i), "-var", fmt.Sprintf("msg=m%d", i), dir); r.code != 0 {
			t.Fatalf("bake v%d: %s", i, r)
		}
		time.Sleep(1100 * time.Millisecond) // v2 is built a second later (the created label's resolution)
	}
	channel := func(name string) string {
		r := bake(t, "images", repo, "--channel", name)
		if rows := table(r.stdout); r.code == 0 && len(rows) == 1 {
			return rows[0][0]
		}
		return "none"
	}

	steps := []struct {
		args []string
		code int
		want string
		now  string
	}{
		{[]string{"v2"}, 0, "channel prod now points at v2", "v2"},
		{[]string{"v1"}, 1, "newer than v1", "v2"},
		{[]string{"v1", "--expect", "v2", "--allow-older"}, 0, "now points at v1 (", "v1"},
		{[]string{"v2", "--expect", "v9"}, 1, "points at v1, not v9", "v1"},
		{[]string{"v2", "--expect", "none"}, 1, "not nowhere", "v1"},
		{[]string{"v2", "--expect", "v1"}, 0, ") (was v1)", "v2"},
	}
	for _, s := range steps {
		args := append([]string{"promote", repo}, s.args...)
		args = append(args, "--channel", "prod", "--lock", "ssm")
		r := bake(t, args...)
		if r.code != s.code || !strings.Contains(r.stdout+r.stderr, s.want) {
			t.Fatalf("bake %s: want exit %d and %q: %s", strings.Join(args, " "), s.code, s.want, r)
		}
		if got := channel("prod"); got != s.now {
			t.Fatalf("after bake %s: prod is %s, want %s", strings.Join(args, " "), got, s.now)
		}
	}

	// Two pipelines promote at once, over and over: the lock makes each
	// compare-and-set one step, so the channel ends on v2 and every
	// promote either moved it forward or was refused.
	var wg sync.WaitGroup
	results := make([]result, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = bake(t, "promote", repo, fmt.Sprintf("v%d", 1+i%2), "--channel", "race", "--lock", "ssm")
		}()
	}
	wg.Wait()
	for _, r := range results {
		if r.code != 0 && !(r.code == 1 && strings.Contains(r.stderr, "not moved back")) {
			t.Errorf("a concurrent promote failed otherwise than by the compare: %s", r)
		}
	}
	if got := channel("race"); got != "v2" {
		t.Fatalf("after concurrent promotes the channel is %s, want v2", got)
	}
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	left, err := ssm.NewFromConfig(cfg).GetParametersByPath(context.Background(), &ssm.GetParametersByPathInput{
		Path: aws.String("/bake/locks"), Recursive: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len(left.Parameters) > 0 {
		t.Errorf("%d lock records left, e.g. %s", len(left.Parameters), aws.ToString(left.Parameters[0].Name))
	}
}
