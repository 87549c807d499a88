package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"lopper/internal/fsx"
)

// artifactMeta is the artifact.json written next to an encoded artifact.
type artifactMeta struct {
	Kind   string `json:"kind"`
	Digest string `json:"digest"`
}

const artifactMetaFile = "artifact.json"

// WriteArtifact encodes a with its kind's codec into dir, atomically: the
// files are written into a temporary sibling directory (locked while it is
// filled, see fsx), which is renamed to dir when complete. dir must not
// exist; when another writer creates it first the error is os.ErrExist.
func WriteArtifact(ctx context.Context, reg *Registry, dir string, a Artifact) error {
	fill, err := encoder(ctx, reg, a)
	if err != nil {
		return err
	}
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("write artifact: %s already exists", dir)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	return fsx.WriteDirNew(dir, fill)
}

// encoder returns what writes a into an empty directory: its kind's
// codec's files and artifact.json.
func encoder(ctx context.Context, reg *Registry, a Artifact) (func(dir string) error, error) {
	codec, ok := reg.Codec(a.Kind())
	if !ok {
		return nil, fmt.Errorf("no codec registered for artifact kind %q", a.Kind())
	}
	return func(dir string) error {
		if err := codec.Encode(ctx, a, dir); err != nil {
			return fmt.Errorf("encode %s artifact: %w", a.Kind(), err)
		}
		meta, err := json.MarshalIndent(artifactMeta{Kind: a.Kind(), Digest: a.Digest()}, "", "  ")
		if err != nil {
			return err
		}
		return fsx.WriteFileAtomic(filepath.Join(dir, artifactMetaFile), meta, 0o644)
	}, nil
}

// ReadArtifact decodes the artifact in dir and checks that its digest is the
// one recorded when it was written; a corrupted or truncated artifact is an
// error, never a result.
func ReadArtifact(ctx context.Context, reg *Registry, dir string) (Artifact, error) {
	raw, err := os.ReadFile(filepath.Join(dir, artifactMetaFile))
	if err != nil {
		return nil, err
	}
	var meta artifactMeta
	if err := json.Unmarshal(raw, &meta); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, artifactMetaFile), err)
	}
	codec, ok := reg.Codec(meta.Kind)
	if !ok {
		return nil, fmt.Errorf("%s: no codec registered for artifact kind %q", dir, meta.Kind)
	}
	a, err := codec.Decode(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("decode %s artifact in %s: %w", meta.Kind, dir, err)
	}
	if a.Kind() != meta.Kind || a.Digest() != meta.Digest {
		return nil, fmt.Errorf("%s: artifact is corrupt: recorded %s %s, decoded %s %s", dir, meta.Kind, meta.Digest, a.Kind(), a.Digest())
	}
	return a, nil
}
