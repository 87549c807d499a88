package runner

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"

	"lopper/pipeline"
)

// DiskArtifacts are the artifacts of one run that stages asked to have on
// disk (StageContext.ArtifactDir): each is encoded once, by its kind's
// codec, into RUN_DIR/artifacts/KIND-DIGEST12, however many stages ask.
// The zero value is ready to use.
type DiskArtifacts struct {
	mu      sync.Mutex
	entries map[string]*diskEntry // by digest
}

type diskEntry struct {
	once sync.Once
	dir  string
	err  error
}

// Dir returns the directory holding a in the run directory runDir, writing
// it atomically the first time any stage of the run asks (or taking the
// one an earlier attempt, or another process, wrote).
func (d *DiskArtifacts) Dir(ctx context.Context, reg *pipeline.Registry, runDir string, a pipeline.Artifact) (string, error) {
	if runDir == "" {
		return "", errors.New("no run directory to write artifacts into")
	}
	d.mu.Lock()
	if d.entries == nil {
		d.entries = map[string]*diskEntry{}
	}
	e, ok := d.entries[a.Digest()]
	if !ok {
		e = &diskEntry{}
		d.entries[a.Digest()] = e
	}
	d.mu.Unlock()
	e.once.Do(func() {
		hex := strings.TrimPrefix(a.Digest(), "sha256:")
		if len(hex) > 12 {
			hex = hex[:12]
		}
		dir := filepath.Join(runDir, "artifacts", a.Kind()+"-"+hex)
		if pipeline.ArtifactWritten(dir) {
			e.dir = dir // written by an earlier attempt of this run (--resume)
			return
		}
		e.err = pipeline.WriteArtifact(ctx, reg, dir, a)
		if e.err != nil && pipeline.ArtifactWritten(dir) {
			e.err = nil // another process (a worker sharing the run directory) wrote it
		}
		if e.err == nil {
			e.dir = dir
		}
	})
	return e.dir, e.err
}
