package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// diskArtifacts are the artifacts of one run that stages asked to have on
// disk: each is encoded once, by its kind's codec, into
// RUN_DIR/artifacts/KIND-DIGEST12, however many stages ask.
type diskArtifacts struct {
	mu      sync.Mutex
	entries map[string]*diskEntry // by digest
}

type diskEntry struct {
	once sync.Once
	dir  string
	err  error
}

// ArtifactDir returns a directory holding the artifact called name of the
// stage r names, encoded by its kind's codec (for a model: a Hugging Face
// directory). Artifacts pass between stages in memory; a stage that needs
// one as files (an external tool, a format check) asks for it here. The
// directory is written atomically the first time any stage of the run asks,
// is shared by later askers, and must not be modified.
func (sc *StageContext) ArtifactDir(ctx context.Context, r Ref, name string) (string, error) {
	a, err := sc.Artifact(r, name)
	if err != nil {
		return "", err
	}
	if sc.disk == nil || sc.RunDir == "" {
		return "", fmt.Errorf("stage %s: no run directory to write artifacts into", sc.ID)
	}
	d := sc.disk
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
		dir := filepath.Join(sc.RunDir, "artifacts", a.Kind()+"-"+hex)
		if _, err := os.Stat(filepath.Join(dir, artifactMetaFile)); err == nil {
			e.dir = dir // written by an earlier attempt of this run (--resume)
			return
		}
		if e.err = WriteArtifact(ctx, sc.Registry, dir, a); e.err == nil {
			e.dir = dir
		}
	})
	if e.err != nil {
		return "", fmt.Errorf("stage %s: %s's %q artifact on disk: %w", sc.ID, r.ID, name, e.err)
	}
	return e.dir, nil
}
