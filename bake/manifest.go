package bake

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// String names the artifact for people.
func (a *Artifact) String() string {
	if len(a.Names) > 0 {
		return strings.Join(a.Names, ", ")
	}
	return a.ID
}

// ManifestEntry is one artifact in a manifest file. The fields of
// Packer's manifest post-processor come first, under their names.
type ManifestEntry struct {
	Name          string            `json:"name"`
	BuilderType   string            `json:"builder_type"`
	BuildTime     int64             `json:"build_time"`
	Files         []any             `json:"files"`
	ArtifactID    string            `json:"artifact_id"`
	PackerRunUUID string            `json:"packer_run_uuid"`
	CustomData    map[string]string `json:"custom_data"`
	RunUUID       string            `json:"run_uuid"`
	Version       string            `json:"version"`
	Fingerprint   string            `json:"fingerprint"`
	Parent        string            `json:"parent"`
	Names         []string          `json:"names,omitempty"`
}

// Manifest is a manifest file: every artifact recorded in it, newest last.
type Manifest struct {
	Builds      []ManifestEntry `json:"builds"`
	LastRunUUID string          `json:"last_run_uuid"`
}

// Entry describes a for a manifest.
func (a *Artifact) Entry(custom map[string]string) ManifestEntry {
	return ManifestEntry{
		Name: a.Name, BuilderType: a.BuilderType, BuildTime: a.BuildTime.Unix(),
		ArtifactID: a.ID, PackerRunUUID: a.RunUUID, RunUUID: a.RunUUID, CustomData: custom,
		Version: a.Version, Fingerprint: a.Fingerprint, Parent: a.Parent, Names: a.Names,
	}
}

// AppendManifest adds entries to the manifest at path, keeping what it
// had, and writes it atomically.
func AppendManifest(path string, entries ...ManifestEntry) error {
	var m Manifest
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("read manifest %s: %w", path, err)
	default:
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("read manifest %s: %w (move the file away to start a new one)", path, err)
		}
	}
	m.Builds = append(m.Builds, entries...)
	if len(entries) > 0 {
		m.LastRunUUID = entries[len(entries)-1].RunUUID
	}
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".bake-manifest-*")
	if err != nil {
		return fmt.Errorf("write manifest %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(out, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write manifest %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write manifest %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write manifest %s: %w", path, err)
	}
	return nil
}
