package runner

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/hashicorp/go-hclog"

	"lopper/pipeline"
	"lopper/pipeline/sched"
)

// stageKey is everything a stage instance's result may depend on (see
// Decl); its digest is the instance's cache key.
type stageKey struct {
	Schema    int                   `json:"schema"`
	Build     string                `json:"build"`
	Numerics  string                `json:"numerics"`
	Uses      string                `json:"uses"`
	Path      string                `json:"path"`
	Iteration int                   `json:"iteration"`
	Matrix    map[string]any        `json:"matrix,omitempty"`
	Config    string                `json:"config"` // the config digest (ConfigJSON)
	Inputs    []keyInput            `json:"inputs"`
	Files     []pipeline.FileRecord `json:"files"`
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
func (rs *runState) cacheKey(t *sched.Task, inst *pipeline.Instance, inputs []pipeline.InputRecord) (string, error) {
	s, rec, decl := t.Stage, t.Record, inst.Decl
	files, err := rs.fileRecords(decl.Files)
	if err != nil {
		return "", err
	}
	k := stageKey{Schema: pipeline.CacheKeySchema, Build: rs.opts.Build, Numerics: rs.opts.Numerics, Uses: s.Uses,
		Path: rec.Path, Iteration: t.Iteration, Matrix: t.Matrix, Config: inst.Digest, Inputs: []keyInput{}, Files: files}
	for _, in := range inputs {
		k.Inputs = append(k.Inputs, keyInput(in))
	}
	for _, in := range decl.Inputs {
		if in.Artifact != "" || in.Ref.ID == "" {
			continue
		}
		res, ok := t.Inputs[in.Ref.ID]
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
	key := fmt.Sprintf("%s%x", pipeline.CacheKeyPrefix, sha256.Sum256(b))
	rs.rec.update(func() {
		rec.Files, rec.Volatile = files, decl.Volatile
		if !decl.Volatile {
			rec.CacheKey = key
		}
	})
	return key, nil
}

// fileRecords digests the files a stage declared, resolved against the
// recipe's directory, sorted and without duplicates.
func (rs *runState) fileRecords(paths []string) ([]pipeline.FileRecord, error) {
	var abs []string
	for _, p := range paths {
		switch {
		case p == "":
		case filepath.IsAbs(p):
			abs = append(abs, p)
		default:
			abs = append(abs, filepath.Join(rs.recipe.Dir, p))
		}
	}
	slices.Sort(abs)
	abs = slices.Compact(abs)
	out := make([]pipeline.FileRecord, 0, len(abs))
	for _, p := range abs {
		d, err := pipeline.FileDigest(p)
		if err != nil {
			return nil, fmt.Errorf("input file: %w", err)
		}
		out = append(out, pipeline.FileRecord{Path: p, Digest: d})
	}
	return out, nil
}

// fromCache returns the stage's result from the cache (or, for `lopper
// status`, from the lockfile) when there is one. A damaged entry is logged,
// removed and recomputed.
func (rs *runState) fromCache(ctx context.Context, t *sched.Task, decl pipeline.Decl, key string, log hclog.Logger) (*pipeline.Result, bool, error) {
	if o := rs.oracle; o != nil {
		return o.stage(t.Record, decl, key)
	}
	if rs.cache == nil || decl.Volatile {
		return nil, false, nil
	}
	check := func(res *pipeline.Result) (*pipeline.Result, error) { return checkResult(t.Stage, decl, res) }
	hit, ok, err := rs.opts.Cache.Lookup(ctx, rs.recipe.Registry(), key, check, log)
	if err != nil || !ok {
		return nil, false, err
	}
	rs.cache.Use(key)
	rs.rec.update(func() { t.Record.SavedSeconds, t.Record.Ended = hit.Seconds, time.Now().UTC() })
	log.Info("cached", "computed_by", hit.Path, "saved_seconds", fmt.Sprintf("%.2f", hit.Seconds))
	return hit.Result, true, nil
}

// toCache stores a computed result. A failure to store is logged, not a
// stage failure: the result itself is fine. Storing outlives an interrupt
// that arrives meanwhile, so that finished work is kept for --resume.
func (rs *runState) toCache(ctx context.Context, t *sched.Task, decl pipeline.Decl, key string, res *pipeline.Result, seconds float64, log hclog.Logger) {
	if rs.cache == nil || decl.Volatile {
		return
	}
	if err := rs.opts.Cache.Store(context.WithoutCancel(ctx), rs.recipe.Registry(), key, t.Stage.Uses, t.Record.Path, res, seconds); err != nil {
		log.Warn("cannot store the result in the stage cache", "key", key, "error", err)
		return
	}
	rs.cache.Use(key)
}
