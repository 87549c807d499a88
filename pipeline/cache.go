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
	"path/filepath"
	"strings"
	"time"

	"lopper/pipeline/store"
)

// Cache is the content-addressed stage cache, kept in a store.Store: a
// local directory (OpenCache; by default .lopper/cache next to the recipe)
// or a bucket (OpenCacheURL: file://, s3://, mem://). It holds:
//
//	entries/ab/<key>.json   one finished stage instance: metrics, details and
//	                        the digests of its artifacts, keyed by its cache
//	                        key (see Decl) and sealed with its own digest
//	objects/cd/<id>/        one artifact, written by its kind's Codec, with
//	                        artifact.json (kind and digest); <id> hashes the
//	                        kind and digest, so equal artifacts are stored once
//	runs/<id>.json          the entries each run used, and the inputs and
//	                        transfer directories it needs kept, for
//	                        `lopper cache gc`
//	inputs/ef/<hex>/        an input file or directory of a distributed run,
//	                        by its FileDigest (cache_inputs.go)
//	work/<run>/<id>/        what a stage wrote on a worker (PutWorkDir)
//	payloads/<run>/<hex>/   a large message of a distributed run, by its
//	                        SHA-256 (cache_payloads.go)
//	.lock                   (a local directory's) runs hold it shared, gc
//	                        exclusively
//
// In a bucket an object's files lie below its writer's name, next to the
// seal that makes it visible (see store.Bucket).
//
// An artifact is stored before the entry that refers to it, and nothing is
// visible before it is complete (see store.Store). Everything is read back
// verified: an entry whose digest does not match, or whose artifact
// decodes to another digest, is reported, removed and recomputed, never
// used. Several processes (with a bucket: machines) may share a cache.
type Cache struct {
	s store.Store
}

const (
	cacheEntries   = "entries"
	cacheObjects   = "objects"
	cacheRuns      = "runs"
	cacheSchema    = 1
	cacheEntryExt  = ".json"
	cacheKeyPrefix = "sha256:"
)

// DefaultCacheDir is the cache directory used for a recipe when none is
// given: .lopper/cache next to the recipe.
func DefaultCacheDir(recipePath string) string {
	return filepath.Join(filepath.Dir(recipePath), ".lopper", "cache")
}

// OpenCache opens (creating it if needed) the cache in the local
// directory dir.
func OpenCache(dir string) (*Cache, error) {
	s, err := store.OpenDir(dir, cacheEntries, cacheObjects, cacheRuns)
	if err != nil {
		return nil, err
	}
	return &Cache{s: s}, nil
}

// OpenCacheURL opens the cache in the store at rawURL (see store.Open:
// file:///DIR, s3://BUCKET?…, mem://). Close it when done.
func OpenCacheURL(ctx context.Context, rawURL string) (*Cache, error) {
	s, err := store.Open(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	return &Cache{s: s}, nil
}

// NewCache returns the cache kept in s (e.g. a store.NewBucket).
func NewCache(s store.Store) *Cache { return &Cache{s: s} }

// Dir returns the cache's absolute local directory: a local cache's, or a
// file:// store's; "" for a cache that is not on this machine's disk.
func (c *Cache) Dir() string { return c.s.Dir() }

// URL returns the URL of the cache's store, "" for a local directory
// (OpenCache).
func (c *Cache) URL() string { return c.s.URL() }

// Location names the cache in messages: its directory or its store's URL.
func (c *Cache) Location() string { return c.s.Location("") }

// Close releases the cache's store.
func (c *Cache) Close() error { return c.s.Close() }

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

// entryName is the name of the entry of key.
func entryName(key string) (string, error) {
	h, err := keyHex(key)
	if err != nil {
		return "", err
	}
	return cacheEntries + "/" + h[:2] + "/" + h + cacheEntryExt, nil
}

// objectName is the name of the artifact of kind with digest.
func objectName(kind, digest string) string {
	sum := sha256.Sum256([]byte(kind + "\n" + digest))
	h := hex.EncodeToString(sum[:])
	return cacheObjects + "/" + h[:2] + "/" + h
}

// corruptError is a cache entry or object that failed verification: name
// is what to remove, where names it in messages.
type corruptError struct {
	name, where string
	err         error
}

func (e *corruptError) Error() string { return fmt.Sprintf("%s: %v", e.where, e.err) }
func (e *corruptError) Unwrap() error { return e.err }

// corrupt makes a *corruptError of the entry or object name.
func (c *Cache) corrupt(name string, err error) *corruptError {
	return &corruptError{name: name, where: c.s.Location(name), err: err}
}

// get returns the result stored under key, the entry, and ok=false when
// there is none. A damaged entry or artifact is a *corruptError. With refs,
// the artifacts are only checked to be in the store (no download) and
// returned by reference (StoredArtifact).
func (c *Cache) get(ctx context.Context, reg *Registry, key string, refs bool) (*Result, *cacheEntry, bool, error) {
	name, err := entryName(key)
	if err != nil {
		return nil, nil, false, err
	}
	raw, err := c.s.Get(ctx, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, err
	}
	e, err := decodeEntry(raw)
	if err != nil {
		return nil, nil, false, c.corrupt(name, err)
	}
	if e.Key != key {
		return nil, nil, false, c.corrupt(name, fmt.Errorf("holds key %s", e.Key))
	}
	res := &Result{Metrics: e.Metrics, Artifacts: map[string]Artifact{}}
	if res.Metrics == nil {
		res.Metrics = Metrics{}
	}
	if len(e.Details) > 0 && !bytes.Equal(e.Details, []byte("null")) {
		res.Details = e.Details
	}
	for an, ar := range e.Artifacts {
		var a Artifact
		var err error
		if refs {
			a, err = c.hasObject(ctx, ar)
		} else {
			a, err = c.readObject(ctx, reg, ar)
		}
		if ctx.Err() != nil {
			return nil, nil, false, ctx.Err()
		}
		var bad *corruptError
		if errors.As(err, &bad) {
			bad.err = fmt.Errorf("artifact %s of entry %s: %w", an, c.s.Location(name), bad.err)
		}
		if err != nil {
			return nil, nil, false, err
		}
		res.Artifacts[an] = a
	}
	return res, e, true, nil
}

// readObject reads the stored artifact ar, checking that it decodes to
// its kind and digest. A missing or damaged object is a *corruptError;
// other errors (the store could not be read) are not.
func (c *Cache) readObject(ctx context.Context, reg *Registry, ar ArtifactRecord) (Artifact, error) {
	name := objectName(ar.Kind, ar.Digest)
	o, err := c.s.OpenObject(ctx, name)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, store.ErrCorrupt) {
		return nil, c.corrupt(name, err)
	}
	if err != nil {
		return nil, err
	}
	a, err := ReadArtifact(ctx, reg, o.Dir)
	if cerr := o.Close(); err == nil && cerr != nil {
		return nil, cerr
	}
	if err != nil {
		return nil, c.corrupt(name, err)
	}
	if a.Kind() != ar.Kind || a.Digest() != ar.Digest {
		return nil, c.corrupt(name, fmt.Errorf("wants %s %s, stored %s %s", ar.Kind, ar.Digest, a.Kind(), a.Digest()))
	}
	return a, nil
}

// hasObject returns the stored artifact ar by reference, checking only
// that its object is in the store. A missing object is a *corruptError.
func (c *Cache) hasObject(ctx context.Context, ar ArtifactRecord) (Artifact, error) {
	name := objectName(ar.Kind, ar.Digest)
	ok, err := c.s.HasObject(ctx, name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, c.corrupt(name, fs.ErrNotExist)
	}
	return StoredArtifact(ar), nil
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
	name, err := entryName(key)
	if err != nil {
		return err
	}
	return c.s.Put(ctx, name, append(file, '\n'))
}

// putObject stores an artifact unless it is there already (written by an
// earlier stage, or concurrently by another process).
func (c *Cache) putObject(ctx context.Context, reg *Registry, a Artifact) error {
	fill, err := encoder(ctx, reg, a)
	if err != nil {
		return err
	}
	return c.s.PutObject(ctx, objectName(a.Kind(), a.Digest()), fill)
}

// remove deletes a damaged entry or object (see store.Store.Delete: no
// reader sees it half deleted).
func (c *Cache) remove(ctx context.Context, name string) error { return c.s.Delete(ctx, name) }
