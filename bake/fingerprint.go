package bake

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
)

// Fingerprint hashes what a job's result depends on: the base's digest,
// the job's resolved configuration (sensitive values removed, the
// version left out) and the content of every file its steps upload.
func Fingerprint(base Base, j *Job) (string, error) {
	h := &hasher{h: sha256.New()}
	h.Add("fingerprint", []byte("bake/v1"))
	h.Add("base", []byte(base.Digest))
	h.Add("config", j.Inputs)
	digests := j.uploadDigests()
	for i, s := range j.Steps {
		if d := digests[i]; d.err != nil {
			return "", fmt.Errorf("%s: %w", s.Name, d.err)
		} else if d.sum != nil {
			h.Add("step", []byte(s.Name))
			h.Add("uploads", d.sum)
		}
	}
	return "sha256:" + hex.EncodeToString(h.h.Sum(nil)), nil
}

// stepDigest is the hash of what a step's Fingerprinter adds (the files
// it uploads): nil for a step without one.
type stepDigest struct {
	sum []byte
	err error
}

// uploadDigests hashes each step's uploads once per job: the fingerprint
// and the cache keys both need them, and an upload can be large.
func (j *Job) uploadDigests() []stepDigest {
	j.digestsOnce.Do(func() {
		j.digests = make([]stepDigest, len(j.Steps))
		for i, s := range j.Steps {
			f, ok := s.Provisioner.(Fingerprinter)
			if !ok {
				continue
			}
			h := &hasher{h: sha256.New()}
			if err := f.Fingerprint(h); err != nil {
				j.digests[i].err = err
				continue
			}
			j.digests[i].sum = h.h.Sum(nil)
		}
	})
	return j.digests
}

type hasher struct{ h hash.Hash }

func (h *hasher) Add(name string, value []byte) {
	fmt.Fprintf(h.h, "%s %d\n", name, len(value))
	h.h.Write(value)
}

// AddFile hashes a file, or a tree by relative path, mode and content.
func (h *hasher) AddFile(name, path string) error {
	return WalkTree(path, func(p, rel string, info fs.FileInfo) error {
		fmt.Fprintf(h.h, "%s %s %o\n", name, rel, info.Mode())
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		fmt.Fprintf(h.h, "%d\n", info.Size())
		_, err = io.Copy(h.h, f)
		return err
	})
}
