package docker

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/bakehq/bake/bake"
)

// ExportID is the id of an export_path artifact, Packer's.
const ExportID = "Container"

// ExtraFiles is the Artifact.Extra key of the files an artifact is made
// of (export_path's tarball, docker-save's), one path per line, for the
// manifest's files and docker-import.
const ExtraFiles = "files"

// export writes the container's filesystem to export_path (docker
// export, as Packer does), through a temporary file beside it so that a
// cut-off export leaves no half tarball under the name.
func (m *machine) export(ctx context.Context, log bake.Log) (*bake.Artifact, error) {
	path := m.b.cfg.ExportPath
	if c, ok := m.comm.(io.Closer); ok && m.comm != nil {
		if err := c.Close(); err != nil {
			log.Warn(fmt.Sprintf("close ssh connection: %v", err))
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("export container to %s: %w", path, err)
	}
	rc, err := m.api.ContainerExport(ctx, m.id)
	if err != nil {
		return nil, fmt.Errorf("export build container %s: %w", bake.ShortID(m.id), err)
	}
	defer rc.Close()
	if err := WriteFileAtomic(path, rc); err != nil {
		return nil, fmt.Errorf("export build container %s to %s: %w", bake.ShortID(m.id), path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	log.Info(fmt.Sprintf("exported the container's filesystem to %s (%d bytes)", path, fi.Size()))
	return &bake.Artifact{BuilderType: "docker", ID: ExportID, Extra: map[string]string{ExtraFiles: path}}, nil
}

// WriteFileAtomic writes r to path through a temporary file in its
// directory, renamed into place when complete.
func WriteFileAtomic(path string, r io.Reader) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, r); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
