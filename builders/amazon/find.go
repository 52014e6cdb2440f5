package amazon

import (
	"context"

	"github.com/bakehq/bake/bake"
	bakeimages "github.com/bakehq/bake/images"
)

var _ bake.ArtifactFinder = (*Builder)(nil)

// FindArtifact finds an available AMI of this account, in the source's
// region, tagged with fingerprint (bake build --skip-unchanged). It runs
// after Resolve, which made the clients.
func (b *Builder) FindArtifact(ctx context.Context, fingerprint string) (*bake.Artifact, error) {
	if b.cfg.SkipCreateAMI || b.cl == nil {
		return nil, nil
	}
	a, err := bakeimages.FindAMI(ctx, b.cl.in(b.cl.region()), fingerprint)
	if a != nil {
		a.Extra = map[string]string{"region": b.cl.region()}
	}
	return a, err
}

// LatestVersion is the newest AMI job made in the source's region, for
// saying what changed since (bake rebuild). It runs after Resolve.
func (b *Builder) LatestVersion(ctx context.Context, job string) (*bakeimages.Version, error) {
	if b.cl == nil {
		return nil, nil
	}
	return bakeimages.LatestAMI(ctx, b.cl.in(b.cl.region()), b.cl.region(), job)
}
