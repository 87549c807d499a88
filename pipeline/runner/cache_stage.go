package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hashicorp/go-hclog"
)

// stageKey is everything a stage instance's result may depend on (see
// Decl); its digest is the instance's cache key.
type stageKey struct {
	Schema    int            `json:"schema"`
	Build     string         `json:"build"`
	Numerics  string         `json:"numerics"`
	Uses      string         `json:"uses"`
	Path      string         `json:"path"`
	Iteration int            `json:"iteration"`
	Matrix    map[string]any `json:"matrix,omitempty"`
	Config    string         `json:"config"` // the config digest (ConfigJSON)
	Inputs    []keyInput     `json:"inputs"`
	Files     []FileRecord   `json:"files"`
}

// keyInput is one input of a stage: an artifact by its digest, or (no
// Artifact) a stage read for its metrics, by the digest of those metrics.
type keyInput struct {
	Stage    string `json:"stage"`
	Artifact string `json:"artifact,omitempty"`
	Kind     string `json:"kind,omitempty"`
	Digest   string `json:"digest"`
}

// cacheKey computes the stage's cache key (also for volatile stages and
// runs without a cache: the lockfile lists them) and records it on the
// stage with the digests of the files it reads.
func (x *scopeRun) cacheKey(s *Stage, rec *StageRecord, decl Decl, cfgDigest string, inputs []InputRecord) (string, error) {
	files, err := x.fileRecords(decl.Files)
	if err != nil {
		return "", err
	}
	k := stageKey{Schema: cacheSchema, Build: x.rs.opts.Build, Numerics: x.rs.opts.Numerics, Uses: s.Uses,
		Path: rec.Path, Iteration: x.iteration, Matrix: x.matrix, Config: cfgDigest, Inputs: []keyInput{}, Files: files}
	for _, in := range inputs {
		k.Inputs = append(k.Inputs, keyInput(in))
	}
	for _, in := range decl.Inputs {
		if in.Artifact != "" || in.Ref.ID == "" {
			continue
		}
		res, ok := x.lookup(in.Ref.ID)
		if !ok {
			return "", fmt.Errorf("input %s has no result", in.Ref.ID)
		}
		m, err := json.Marshal(res.Metrics)
		if err != nil {
			return "", fmt.Errorf("input %s: %w", in.Ref.ID, err)
		}
		k.Inputs = append(k.Inputs, keyInput{Stage: in.Ref.ID, Digest: fmt.Sprintf("sha256:%x", sha256.Sum256(m))})
	}
	b, err := json.Marshal(k)
	if err != nil {
		return "", fmt.Errorf("cache key: %w", err)
	}
	key := fmt.Sprintf("%s%x", cacheKeyPrefix, sha256.Sum256(b))
	x.rs.rec.update(func() {
		rec.Files, rec.Volatile = files, decl.Volatile
		if !decl.Volatile {
			rec.CacheKey = key
		}
	})
	return key, nil
}

// fileRecords digests the files a stage declared, resolved against the
// recipe's directory, sorted and without duplicates.
func (x *scopeRun) fileRecords(paths []string) ([]FileRecord, error) {
	var abs []string
	for _, p := range paths {
		if p != "" {
			abs = append(abs, resolvePath(x.rs.recipe.Dir, p))
		}
	}
	slices.Sort(abs)
	abs = slices.Compact(abs)
	out := make([]FileRecord, 0, len(abs))
	for _, p := range abs {
		d, err := FileDigest(p)
		if err != nil {
			return nil, fmt.Errorf("input file: %w", err)
		}
		out = append(out, FileRecord{Path: p, Digest: d})
	}
	return out, nil
}

// fromCache returns the stage's result from the cache (or, for `lopper
// status`, from the lockfile) when there is one. A damaged entry is logged,
// removed and recomputed.
func (x *scopeRun) fromCache(ctx context.Context, s *Stage, rec *StageRecord, decl Decl, key string, log hclog.Logger) (*Result, bool, error) {
	if o := x.rs.oracle; o != nil {
		return o.stage(rec, decl, key)
	}
	cr := x.rs.cache
	if cr == nil || decl.Volatile {
		return nil, false, nil
	}
	res, e, ok, err := cr.c.get(ctx, x.rs.recipe.registry, key)
	if ctx.Err() != nil {
		return nil, false, ctx.Err()
	}
	if err == nil && ok {
		if res, err = checkResult(s, decl, res); err != nil {
			if p, perr := cr.c.entryPath(key); perr == nil {
				err = &corruptError{path: p, err: err}
			}
		}
	}
	var bad *corruptError
	switch {
	case errors.As(err, &bad):
		log.Warn("cache entry is damaged; recomputing", "key", key, "error", err)
		if rerr := cr.c.remove(bad.path); rerr != nil {
			log.Warn("cannot remove the damaged cache entry", "path", bad.path, "error", rerr)
		}
		return nil, false, nil
	case err != nil:
		log.Warn("cannot read the stage cache; recomputing", "key", key, "error", err)
		return nil, false, nil
	case !ok:
		return nil, false, nil
	}
	cr.use(key)
	x.rs.rec.update(func() { rec.SavedSeconds, rec.Ended = e.Seconds, time.Now().UTC() })
	log.Info("cached", "computed_by", e.Path, "saved_seconds", fmt.Sprintf("%.2f", e.Seconds))
	return res, true, nil
}

// toCache stores a computed result. A failure to store is logged, not a
// stage failure: the result itself is fine. Storing outlives an interrupt
// that arrives meanwhile, so that finished work is kept for --resume.
func (x *scopeRun) toCache(ctx context.Context, s *Stage, rec *StageRecord, decl Decl, key string, res *Result, seconds float64, log hclog.Logger) {
	cr := x.rs.cache
	if cr == nil || decl.Volatile {
		return
	}
	if err := cr.c.put(context.WithoutCancel(ctx), x.rs.recipe.registry, key, s.Uses, rec.Path, res, seconds); err != nil {
		log.Warn("cannot store the result in the stage cache", "key", key, "error", err)
		return
	}
	cr.use(key)
}
