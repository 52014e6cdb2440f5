package bake

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// DefaultCacheMinDuration is how long an auto-cached step must take to be
// saved: about what saving it costs.
const DefaultCacheMinDuration = time.Second

// CacheKeys are the step cache's keys for j's steps on base, one per
// step: each hashes the previous key (the base's digest and the source's
// configuration for the first), the step's resolved configuration, the
// content of the files it uploads, and a salted hash of the sensitive
// values — never the values themselves. A step with cache = false, and
// every step after it, gets "" (not cacheable).
func CacheKeys(base Base, j *Job) []string {
	keys := make([]string, len(j.Steps))
	h := sha256.New()
	fmt.Fprintf(h, "bake/cache/v1\nbase %s\n", base.Digest)
	h.Write(j.SourceInputs)
	if len(j.Secrets) > 0 {
		fmt.Fprintf(h, "secrets %s\n", secretDigest(j.Secrets))
	}
	prev := h.Sum(nil)
	digests := j.uploadDigests()
	for i, s := range j.Steps {
		if s.Cache != nil && !*s.Cache || s.Cache == nil && volatile(s) {
			break
		}
		if digests[i].err != nil {
			break // an unreadable input: not cacheable from here
		}
		hs := &hasher{h: sha256.New()}
		hs.Add("parent", prev)
		hs.Add("step", []byte(s.Name))
		hs.Add("inputs", s.Inputs)
		if digests[i].sum != nil {
			hs.Add("uploads", digests[i].sum)
		}
		prev = hs.h.Sum(nil)
		keys[i] = hex.EncodeToString(prev)
	}
	return keys
}

// volatile: the step's effect depends on the day it runs (a package
// upgrade), so a saved copy would be stale.
func volatile(s Step) bool {
	v, ok := s.Provisioner.(Volatile)
	return ok && v.Volatile()
}

// cachedPrefix returns how many leading steps the cache covers: one past
// the last step whose key is saved.
func cachedPrefix(ctx context.Context, c StepCache, keys []string) (int, error) {
	var ask []string
	for _, k := range keys {
		if k != "" {
			ask = append(ask, k)
		}
	}
	if len(ask) == 0 {
		return 0, nil
	}
	have, err := c.CachedKeys(ctx, ask)
	if err != nil {
		return 0, err
	}
	for i := len(keys) - 1; i >= 0; i-- {
		if keys[i] != "" && have[keys[i]] {
			return i + 1, nil
		}
	}
	return 0, nil
}

// saveStep says whether a step that just ran is saved in the cache.
func saveStep(s Step, key string, took time.Duration, o RunOptions) bool {
	if key == "" {
		return false
	}
	if s.Cache != nil {
		return *s.Cache
	}
	min := o.CacheMinDuration
	if min == 0 {
		min = DefaultCacheMinDuration
	}
	return took >= min
}

// secretDigest is an HMAC of the secrets under a salt kept in the user's
// cache directory (0600), so that a cache key changes with a secret but
// cannot be used to guess it.
func secretDigest(secrets []string) string {
	m := hmac.New(sha256.New, cacheSalt())
	for _, s := range secrets {
		fmt.Fprintf(m, "%d:%s\n", len(s), s)
	}
	return hex.EncodeToString(m.Sum(nil))
}

func cacheSalt() []byte {
	dir, err := os.UserCacheDir()
	if err == nil {
		p := filepath.Join(dir, "bake", "salt")
		if b, err := os.ReadFile(p); err == nil && len(b) >= 32 {
			return b
		} else if errors.Is(err, fs.ErrNotExist) || err == nil {
			salt := make([]byte, 32)
			rand.Read(salt)
			if os.MkdirAll(filepath.Dir(p), 0o700) == nil && os.WriteFile(p, salt, 0o600) == nil {
				return salt
			}
		}
	}
	// No cache directory: a salt for this process only (secrets then
	// never match across runs, which only costs cache hits).
	salt := make([]byte, 32)
	rand.Read(salt)
	return salt
}
