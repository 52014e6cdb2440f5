// Package gc removes what killed bake runs left behind: the containers,
// instances, key pairs, security groups, volumes, snapshots and unfinished
// AMIs whose owner labels (bake.OwnerLabels) name a run that is provably
// dead. Anything without bake's owner labels, or of a live run, is never
// touched.
package gc

import (
	"context"
	"fmt"

	"github.com/bakehq/bake/bake"
)

// Leftover is one resource of a dead run.
type Leftover struct {
	Kind   string // "container", "instance", "key pair", ...
	ID     string
	Where  string // "docker", or the AWS region
	Run    string
	Reason string // why its run is dead
}

func (l Leftover) String() string {
	return fmt.Sprintf("%s %s %s (%s)", l.Where, l.Kind, l.ID, l.Reason)
}

// Sweeper finds the leftovers of dead runs in one place and, unless
// dryRun, removes them. It returns what it found (removed unless dryRun)
// even when it also returns an error.
type Sweeper interface {
	Sweep(ctx context.Context, lv bake.Liveness, dryRun bool) ([]Leftover, error)
}

// judge reads an owner from labels and tells whether its run is dead.
func judge(lv bake.Liveness, labels map[string]string) (bake.Owner, string, bool) {
	o, ok := bake.ParseOwner(labels)
	if !ok {
		return o, "", false
	}
	dead, why := lv.Dead(o)
	return o, why, dead
}
