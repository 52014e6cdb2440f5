package bake

import (
	"io/fs"
	"path/filepath"
)

// WalkTree calls fn for root and everything under it in lexical order, a
// directory before what it holds, with the path relative to root in
// slash form ("." for root itself) and what Lstat says of it: a link is
// given as a link, not followed. It is how a local tree is uploaded,
// copied or hashed. fn returning fs.SkipDir skips a directory.
func WalkTree(root string, fn func(path, rel string, info fs.FileInfo) error) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return fn(p, filepath.ToSlash(rel), info)
	})
}
