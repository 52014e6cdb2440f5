package core

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Store persists the services' state as one JSON file per service in a
// directory (--state DIR). The zero Store, or one with no directory, keeps
// nothing: state lives in memory only.
type Store struct {
	Dir string
}

// Enabled reports whether state is persisted.
func (s *Store) Enabled() bool { return s != nil && s.Dir != "" }

// Load reads the state saved as name into v. It reports false (and leaves
// v alone) when nothing was saved.
func (s *Store) Load(name string, v any) (bool, error) {
	if !s.Enabled() {
		return false, nil
	}
	path := filepath.Join(s.Dir, name+".json")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("load sim state %s: %w", path, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("load sim state %s: %w (remove the file to start afresh)", path, err)
	}
	return true, nil
}

// Save writes v as the state name, atomically (a crash leaves the previous
// state, never half a file).
func (s *Store) Save(name string, v any) error {
	if !s.Enabled() {
		return nil
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("save sim state %s: %w", name, err)
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("save sim state %s: %w", name, err)
	}
	tmp, err := os.CreateTemp(s.Dir, name+".*.tmp")
	if err != nil {
		return fmt.Errorf("save sim state %s: %w", name, err)
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp.Name()) // best effort: the write already failed
		return fmt.Errorf("save sim state %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(s.Dir, name+".json")); err != nil {
		return fmt.Errorf("save sim state %s: %w", name, err)
	}
	return nil
}
