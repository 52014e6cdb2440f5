package docker

import (
	"context"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/images"
)

var _ bake.ArtifactFinder = (*Builder)(nil)

// FindArtifact finds an image of the source's repository labelled with
// fingerprint: on the engine, and also in the registry when the source
// pushes. A discarded source has no artifact to find.
func (b *Builder) FindArtifact(ctx context.Context, fingerprint string) (*bake.Artifact, error) {
	if b.cfg.Discard || b.cfg.ExportPath != "" {
		return nil, nil
	}
	api, err := b.client()
	if err != nil {
		return nil, err
	}
	registry := images.NewRegistry
	if b.cfg.LoginUsername != "" {
		registry = func(host string) *images.Registry {
			r := images.NewRegistry(host)
			r.User, r.Password = b.cfg.LoginUsername, b.cfg.LoginPassword
			return r
		}
	}
	return images.FindFingerprint(ctx, api, registry, b.cfg.Repository, fingerprint, b.cfg.Push)
}

// LatestVersion is the newest image job made in the source's repository
// on the engine, for saying what changed since (bake rebuild).
func (b *Builder) LatestVersion(ctx context.Context, job string) (*images.Version, error) {
	api, err := b.client()
	if err != nil {
		return nil, err
	}
	return images.Latest(ctx, api, job, b.cfg.Repository)
}
