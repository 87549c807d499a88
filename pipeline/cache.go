package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"lopper/internal/fsx"
)

// Cache is the content-addressed stage cache. Its directory holds:
//
//	entries/ab/<key>.json   one finished stage instance: metrics, details and
//	                        the digests of its artifacts, keyed by its cache
//	                        key (see Decl) and sealed with its own digest
//	objects/cd/<id>/        one artifact, written by its kind's Codec, with
//	                        artifact.json (kind and digest); <id> hashes the
//	                        kind and digest, so equal artifacts are stored once
//	runs/<id>.json          the entries each run used, for `lopper cache gc`
//	.lock                   runs hold it shared, gc exclusively
//
// Everything is written under a temporary name and renamed into place, and
// read back verified: an entry whose digest does not match, or whose
// artifact decodes to another digest, is reported, removed and recomputed,
// never used. Several processes may share a cache.
type Cache struct {
	dir string
}

const (
	cacheEntries   = "entries"
	cacheObjects   = "objects"
	cacheRuns      = "runs"
	cacheLock      = ".lock"
	cacheSchema    = 1
	cacheEntryExt  = ".json"
	cacheKeyPrefix = "sha256:"
)

// DefaultCacheDir is the cache directory used for a recipe when none is
// given: .lopper/cache next to the recipe.
func DefaultCacheDir(recipePath string) string {
	return filepath.Join(filepath.Dir(recipePath), ".lopper", "cache")
}

// OpenCache opens (creating it if needed) the cache in dir.
func OpenCache(dir string) (*Cache, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	for _, sub := range []string{cacheEntries, cacheObjects, cacheRuns} {
		if err := os.MkdirAll(filepath.Join(abs, sub), 0o755); err != nil {
			return nil, fmt.Errorf("cache: %w", err)
		}
	}
	return &Cache{dir: abs}, nil
}

// Dir returns the cache's absolute directory.
func (c *Cache) Dir() string { return c.dir }

// cacheEntry is what an entry file holds about a stage instance.
type cacheEntry struct {
	Schema    int                       `json:"schema"`
	Key       string                    `json:"key"`
	Uses      string                    `json:"uses"`
	Path      string                    `json:"path"` // the instance that computed it
	Created   time.Time                 `json:"created"`
	Seconds   float64                   `json:"seconds"` // what computing it took
	Metrics   Metrics                   `json:"metrics"`
	Details   json.RawMessage           `json:"details,omitempty"`
	Artifacts map[string]ArtifactRecord `json:"artifacts,omitempty"`
}

// entryFile seals an entry: Digest is "sha256:…" of Entry's compact JSON,
// so a damaged file is detected even when it still parses.
type entryFile struct {
	Digest string          `json:"digest"`
	Entry  json.RawMessage `json:"entry"`
}

// keyHex returns the hex part of a cache key, refusing anything else (a
// key names a file).
func keyHex(key string) (string, error) {
	h, ok := strings.CutPrefix(key, cacheKeyPrefix)
	if !ok || len(h) != 64 {
		return "", fmt.Errorf("malformed cache key %q", key)
	}
	if _, err := hex.DecodeString(h); err != nil {
		return "", fmt.Errorf("malformed cache key %q", key)
	}
	return h, nil
}

func (c *Cache) entryPath(key string) (string, error) {
	h, err := keyHex(key)
	if err != nil {
		return "", err
	}
	return filepath.Join(c.dir, cacheEntries, h[:2], h+cacheEntryExt), nil
}

// objectDir is where the artifact of kind with digest is stored.
func (c *Cache) objectDir(kind, digest string) string {
	sum := sha256.Sum256([]byte(kind + "\n" + digest))
	h := hex.EncodeToString(sum[:])
	return filepath.Join(c.dir, cacheObjects, h[:2], h)
}

// corruptError is a cache entry or object that failed verification; path
// is what to remove.
type corruptError struct {
	path string
	err  error
}

func (e *corruptError) Error() string { return fmt.Sprintf("%s: %v", e.path, e.err) }
func (e *corruptError) Unwrap() error { return e.err }

// get returns the result stored under key, the entry, and ok=false when
// there is none. A damaged entry or artifact is a *corruptError.
func (c *Cache) get(ctx context.Context, reg *Registry, key string) (*Result, *cacheEntry, bool, error) {
	path, err := c.entryPath(key)
	if err != nil {
		return nil, nil, false, err
	}
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, err
	}
	e, err := decodeEntry(raw)
	if err != nil {
		return nil, nil, false, &corruptError{path: path, err: err}
	}
	if e.Key != key {
		return nil, nil, false, &corruptError{path: path, err: fmt.Errorf("holds key %s", e.Key)}
	}
	res := &Result{Metrics: e.Metrics, Artifacts: map[string]Artifact{}}
	if res.Metrics == nil {
		res.Metrics = Metrics{}
	}
	if len(e.Details) > 0 && !bytes.Equal(e.Details, []byte("null")) {
		res.Details = e.Details
	}
	for name, ar := range e.Artifacts {
		dir := c.objectDir(ar.Kind, ar.Digest)
		a, err := ReadArtifact(ctx, reg, dir)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, false, ctx.Err()
			}
			return nil, nil, false, &corruptError{path: dir, err: fmt.Errorf("artifact %s of entry %s: %w", name, path, err)}
		}
		if a.Kind() != ar.Kind || a.Digest() != ar.Digest {
			return nil, nil, false, &corruptError{path: dir, err: fmt.Errorf("artifact %s: entry %s wants %s %s, stored %s %s", name, path, ar.Kind, ar.Digest, a.Kind(), a.Digest())}
		}
		res.Artifacts[name] = a
	}
	return res, e, true, nil
}

// decodeEntry parses and verifies an entry file.
func decodeEntry(raw []byte) (*cacheEntry, error) {
	var f entryFile
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("unreadable entry: %w", err)
	}
	var body bytes.Buffer // the entry as it was hashed: compact JSON
	if err := json.Compact(&body, f.Entry); err != nil {
		return nil, fmt.Errorf("unreadable entry: %w", err)
	}
	if got := fmt.Sprintf("sha256:%x", sha256.Sum256(body.Bytes())); got != f.Digest {
		return nil, fmt.Errorf("entry digest %s does not match its contents (%s)", f.Digest, got)
	}
	var e cacheEntry
	if err := json.Unmarshal(f.Entry, &e); err != nil {
		return nil, fmt.Errorf("unreadable entry: %w", err)
	}
	if e.Schema != cacheSchema {
		return nil, fmt.Errorf("entry schema %d, want %d", e.Schema, cacheSchema)
	}
	return &e, nil
}

// put stores res under key: its artifacts first (each once), then the
// entry, so an entry is never visible before what it refers to.
func (c *Cache) put(ctx context.Context, reg *Registry, key, uses, path string, res *Result, seconds float64) error {
	e := cacheEntry{Schema: cacheSchema, Key: key, Uses: uses, Path: path, Created: time.Now().UTC(),
		Seconds: seconds, Metrics: res.Metrics, Artifacts: map[string]ArtifactRecord{}}
	if res.Details != nil {
		d, err := json.Marshal(res.Details)
		if err != nil {
			return err
		}
		e.Details = d
	}
	for name, a := range res.Artifacts {
		if err := c.putObject(ctx, reg, a); err != nil {
			return fmt.Errorf("artifact %s: %w", name, err)
		}
		e.Artifacts[name] = ArtifactRecord{Kind: a.Kind(), Digest: a.Digest()}
	}
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	file, err := json.MarshalIndent(entryFile{Digest: fmt.Sprintf("sha256:%x", sha256.Sum256(body)), Entry: body}, "", " ")
	if err != nil {
		return err
	}
	p, err := c.entryPath(key)
	if err != nil {
		return err
	}
	if err := ensureDir(filepath.Dir(p)); err != nil {
		return err
	}
	return fsx.WriteFileAtomic(p, append(file, '\n'), 0o644)
}

// putObject stores an artifact unless it is there already (written by an
// earlier stage, or concurrently by another process).
func (c *Cache) putObject(ctx context.Context, reg *Registry, a Artifact) error {
	dir := c.objectDir(a.Kind(), a.Digest())
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := ensureDir(filepath.Dir(dir)); err != nil {
		return err
	}
	err := WriteArtifact(ctx, reg, dir, a)
	if err != nil {
		if _, serr := os.Stat(filepath.Join(dir, artifactMetaFile)); serr == nil {
			return nil // another writer won the rename
		}
	}
	return err
}

// remove deletes a damaged entry file or object directory: it is renamed
// to a temporary name first, so no reader ever sees it half deleted.
func (c *Cache) remove(path string) error {
	if !strings.HasPrefix(path, c.dir+string(filepath.Separator)) {
		return fmt.Errorf("refusing to remove %s: not inside the cache %s", path, c.dir)
	}
	tmp := filepath.Join(filepath.Dir(path), fsx.TempPrefix(filepath.Base(path))+"removed-"+fmt.Sprint(time.Now().UnixNano()))
	if err := os.Rename(path, tmp); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return os.RemoveAll(tmp)
}

// removeStale removes the temporary entries that killed processes left in
// the cache (see fsx.RemoveStale: a live writer's are locked and kept) and
// returns their paths. Entries and objects are written one level below
// their shard directories, so that is as deep as it looks.
func (c *Cache) removeStale() ([]string, error) {
	dirs := []string{c.dir, filepath.Join(c.dir, cacheRuns)}
	for _, sub := range []string{cacheEntries, cacheObjects} {
		shards, err := filepath.Glob(filepath.Join(c.dir, sub, "*"))
		if err != nil {
			return nil, err
		}
		dirs = append(dirs, filepath.Join(c.dir, sub))
		for _, s := range shards {
			if fi, err := os.Lstat(s); err == nil && fi.IsDir() && !fsx.IsTemp(fi.Name()) {
				dirs = append(dirs, s)
			}
		}
	}
	var removed []string
	var errs []error
	for _, d := range dirs {
		r, err := fsx.RemoveStale(d, "")
		removed = append(removed, r...)
		errs = append(errs, err)
	}
	return removed, errors.Join(errs...)
}
