package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"github.com/hashicorp/go-hclog"
)

// The stage cache, run-directory lock and artifact files as executors use
// them (pipeline/runner today, a distributed executor's workers later).

// CacheKeySchema is the version of the cache key's layout, part of every key.
const CacheKeySchema = cacheSchema

// CacheKeyPrefix starts every cache key: the key is its digest.
const CacheKeyPrefix = cacheKeyPrefix

// CachedResult is a result taken from the cache.
type CachedResult struct {
	Result  *Result
	Seconds float64 // what computing it took
	Path    string  // the instance that computed it
}

// Lookup returns the result stored under key, held to its declaration by
// check (the result check reads it with, e.g. that it has every declared
// metric), or ok false when there is none. A damaged entry or artifact, or
// one that check refuses, is logged, removed and reported as a miss (the
// stage is recomputed); so is a cache that cannot be read. The error is
// ctx's when it ended meanwhile.
func (c *Cache) Lookup(ctx context.Context, reg *Registry, key string, check func(*Result) (*Result, error), log hclog.Logger) (*CachedResult, bool, error) {
	return c.lookup(ctx, reg, key, false, check, log)
}

// LookupRefs is Lookup without reading the artifacts: each is only
// checked to be in the store and comes by reference (StoredArtifact), to
// be read (Cache.GetArtifact) when a stage reads it. A distributed
// executor's worker answers a cache hit so, with entry lookups only.
func (c *Cache) LookupRefs(ctx context.Context, reg *Registry, key string, check func(*Result) (*Result, error), log hclog.Logger) (*CachedResult, bool, error) {
	return c.lookup(ctx, reg, key, true, check, log)
}

func (c *Cache) lookup(ctx context.Context, reg *Registry, key string, refs bool, check func(*Result) (*Result, error), log hclog.Logger) (*CachedResult, bool, error) {
	res, e, ok, err := c.get(ctx, reg, key, refs)
	if ctx.Err() != nil {
		return nil, false, ctx.Err()
	}
	if err == nil && ok {
		if res, err = check(res); err != nil {
			if name, nerr := entryName(key); nerr == nil {
				err = c.corrupt(name, err)
			}
		}
	}
	var bad *corruptError
	switch {
	case errors.As(err, &bad):
		log.Warn("cache entry is damaged; recomputing", "key", key, "error", err)
		if rerr := c.remove(ctx, bad.name); rerr != nil {
			log.Warn("cannot remove the damaged cache entry", "path", bad.where, "error", rerr)
		}
		return nil, false, nil
	case err != nil:
		log.Warn("cannot read the stage cache; recomputing", "key", key, "error", err)
		return nil, false, nil
	case !ok:
		return nil, false, nil
	}
	return &CachedResult{Result: res, Seconds: e.Seconds, Path: e.Path}, true, nil
}

// Store stores the result of the stage instance at path, of kind uses,
// under key; seconds is what computing it took.
func (c *Cache) Store(ctx context.Context, reg *Registry, key, uses, path string, res *Result, seconds float64) error {
	return c.put(ctx, reg, key, uses, path, res, seconds)
}

// PutArtifact stores an artifact as an object of the cache, unless it is
// there already: how a distributed executor's stages hand artifacts to
// stages on other machines (by kind and digest, see GetArtifact).
func (c *Cache) PutArtifact(ctx context.Context, reg *Registry, a Artifact) error {
	return c.putObject(ctx, reg, a)
}

// GetArtifact reads the stored artifact of ref's kind and digest, checking
// that it decodes to them; a missing or damaged object is an error naming
// it.
func (c *Cache) GetArtifact(ctx context.Context, reg *Registry, ref ArtifactRecord) (Artifact, error) {
	return c.readObject(ctx, reg, ref)
}

// StoredArtifact returns an artifact known by its kind and digest only,
// whose bytes are in a store.
func StoredArtifact(ar ArtifactRecord) Artifact { return storedArtifact{ar.Kind, ar.Digest} }

type storedArtifact struct{ kind, digest string }

func (a storedArtifact) Kind() string   { return a.kind }
func (a storedArtifact) Digest() string { return a.digest }

// CacheRun is one run's use of the cache: it holds the cache's lock shared,
// so that `lopper cache gc` cannot remove what the run uses, and logs the
// entries the run used.
type CacheRun struct{ cr *cacheRun }

// BeginRun starts the run in runDir (of the recipe at path recipe) using
// the cache; it waits while gc runs. End it with End.
func (c *Cache) BeginRun(runDir, recipe string, log hclog.Logger) (*CacheRun, error) {
	cr, err := c.beginRun(runDir, recipe, log)
	if err != nil {
		return nil, err
	}
	return &CacheRun{cr: cr}, nil
}

// Use logs that the run used (computed or reused) the entry key.
func (r *CacheRun) Use(key string) { r.cr.use(key) }

// KeepInput logs that the run needs the input object of digest (see
// PutInput), before it checks or uploads it: gc keeps it with the run.
func (r *CacheRun) KeepInput(digest string) error {
	name, err := inputName(digest)
	if err != nil {
		return err
	}
	r.cr.keep(name)
	return nil
}

// KeepTransfers logs that the run needs what is kept in the store under
// the run name run (PutWorkDir's and PutPayload's run): gc keeps it with
// the run.
func (r *CacheRun) KeepTransfers(run string) {
	r.cr.keep(transferDir(cacheWork, run))
	r.cr.keep(transferDir(cachePayloads, run))
}

// End ends the run's use of the cache.
func (r *CacheRun) End() { r.cr.end() }

// LockRunDir locks a run directory for this process for the whole run (see
// RunInProgress); another live run holding it is an error.
func LockRunDir(dir string) (unlock func(), err error) { return lockRunDir(dir) }

// ArtifactWritten reports whether dir holds an artifact written by
// WriteArtifact (by this run or an earlier attempt of it).
func ArtifactWritten(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, artifactMetaFile))
	return err == nil
}
