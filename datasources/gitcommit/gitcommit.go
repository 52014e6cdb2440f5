// Package gitcommit is Packer's git-commit data source: the commit a
// revision of a local git repository points at.
package gitcommit

import (
	"context"
	"errors"
	"sort"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/datasources"
)

// Type is the data block's type label.
const Type = "git-commit"

// Spec is the block's arguments, as Packer's git-commit data source
// documents them (Packer core's datasource/git is not a Go module bake
// can use).
func Spec() map[string]hcldec.Spec {
	return map[string]hcldec.Spec{
		"path":       &hcldec.AttrSpec{Name: "path", Type: cty.String},
		"commit_ish": &hcldec.AttrSpec{Name: "commit_ish", Type: cty.String},
	}
}

// OutputSpec is data.git-commit.NAME: Packer's outputs.
func OutputSpec() map[string]hcldec.Spec {
	return map[string]hcldec.Spec{
		"hash":          &hcldec.AttrSpec{Name: "hash", Type: cty.String},
		"branches":      &hcldec.AttrSpec{Name: "branches", Type: cty.List(cty.String)},
		"author":        &hcldec.AttrSpec{Name: "author", Type: cty.String},
		"committer":     &hcldec.AttrSpec{Name: "committer", Type: cty.String},
		"pgp_signature": &hcldec.AttrSpec{Name: "pgp_signature", Type: cty.String},
		"message":       &hcldec.AttrSpec{Name: "message", Type: cty.String},
		"tree_hash":     &hcldec.AttrSpec{Name: "tree_hash", Type: cty.String},
		"parent_hashes": &hcldec.AttrSpec{Name: "parent_hashes", Type: cty.List(cty.String)},
	}
}

// Commit is one git-commit data block.
type Commit struct {
	b         *datasources.Block
	path      string
	commitIsh string
}

var _ bake.DataSource = (*Commit)(nil)

// New decodes a git-commit data block. A relative path is taken from the
// working directory, as Packer does (use path.root for the template's
// folder).
func New(dc bake.DecodeContext) (bake.DataSource, hcl.Diagnostics) {
	b, diags := datasources.Decode(Type, dc, Spec())
	if diags.HasErrors() {
		return nil, diags
	}
	c := &Commit{b: b, path: b.String("path"), commitIsh: b.String("commit_ish")}
	if c.path == "" {
		c.path = "."
	}
	if c.commitIsh == "" {
		c.commitIsh = "HEAD"
	}
	return c, diags
}

// OutputType is the type of data.git-commit.NAME.
func (c *Commit) OutputType() cty.Type { return datasources.SpecType(OutputSpec()) }

// Execute opens the repository at path (or the one path is inside) and
// describes the commit commit_ish names.
func (c *Commit) Execute(context.Context) (cty.Value, error) {
	if !c.b.Known() {
		return cty.NilVal, c.b.Failf("arguments are not known yet (they use a data source that was not read)")
	}
	repo, err := git.PlainOpenWithOptions(c.path, &git.PlainOpenOptions{DetectDotGit: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return cty.NilVal, c.b.Errorf("path %q is not in a git repository: set path to a folder of a git checkout (relative paths start at the working directory; use path.root for the template's folder)", c.path)
	}
	if err != nil {
		return cty.NilVal, c.b.Errorf("open the git repository at %q: %v", c.path, err)
	}
	hash, err := repo.ResolveRevision(plumbing.Revision(c.commitIsh))
	if err != nil {
		return cty.NilVal, c.b.Errorf("commit_ish %q names no commit in %s: %v (give a branch, tag or commit hash)", c.commitIsh, c.path, err)
	}
	commit, err := repo.CommitObject(*hash)
	if err != nil {
		return cty.NilVal, c.b.Errorf("commit_ish %q: read commit %s: %v", c.commitIsh, hash, err)
	}
	// The branches whose tip is this commit.
	var branches []string
	iter, err := repo.Branches()
	if err != nil {
		return cty.NilVal, c.b.Failf("list the branches of %s: %w", c.path, err)
	}
	err = iter.ForEach(func(ref *plumbing.Reference) error {
		if ref.Hash() == commit.Hash {
			branches = append(branches, ref.Name().Short())
		}
		return nil
	})
	if err != nil {
		return cty.NilVal, c.b.Failf("list the branches of %s: %w", c.path, err)
	}
	sort.Strings(branches)
	parents := make([]string, len(commit.ParentHashes))
	for i, p := range commit.ParentHashes {
		parents[i] = p.String()
	}
	return cty.ObjectVal(map[string]cty.Value{
		"hash":          cty.StringVal(commit.Hash.String()),
		"branches":      datasources.Strs(branches),
		"author":        cty.StringVal(commit.Author.String()),
		"committer":     cty.StringVal(commit.Committer.String()),
		"pgp_signature": cty.StringVal(commit.PGPSignature),
		"message":       cty.StringVal(commit.Message),
		"tree_hash":     cty.StringVal(commit.TreeHash.String()),
		"parent_hashes": datasources.Strs(parents),
	}), nil
}
