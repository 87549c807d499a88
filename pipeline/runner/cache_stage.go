package runner

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/hashicorp/go-hclog"

	"lopper/pipeline"
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
// runs without a cache: the lockfile lists them) and sets it on the
// outcome with the digests of the files the stage reads.
func cacheKey(r *pipeline.Recipe, task *StageTask, inst *pipeline.Instance, opts TaskOptions, out *StageOutcome) error {
	decl := inst.Decl
	files, err := fileRecords(r.Dir, decl.Files, opts.Files)
	if err != nil {
		return err
	}
	s, _ := r.Stage(task.Stage)
	k := stageKey{Schema: pipeline.CacheKeySchema, Build: opts.Build, Numerics: opts.Numerics, Uses: s.Uses,
		Path: task.Path, Iteration: task.Iteration, Matrix: task.Matrix, Config: inst.Digest, Inputs: []keyInput{}, Files: files}
	for _, in := range out.Inputs {
		k.Inputs = append(k.Inputs, keyInput(in))
	}
	for _, in := range decl.Inputs {
		if in.Artifact != "" || in.Ref.ID == "" {
			continue
		}
		ref, ok := task.Inputs[in.Ref.ID]
		if !ok {
			return fmt.Errorf("input %s has no result", in.Ref.ID)
		}
		m, err := json.Marshal(ref.Metrics)
		if err != nil {
			return fmt.Errorf("input %s: %w", in.Ref.ID, err)
		}
		k.Inputs = append(k.Inputs, keyInput{Stage: in.Ref.ID, Digest: fmt.Sprintf("sha256:%x", sha256.Sum256(m))})
	}
	b, err := json.Marshal(k)
	if err != nil {
		return fmt.Errorf("cache key: %w", err)
	}
	out.KeyKnown, out.Key = true, fmt.Sprintf("%s%x", pipeline.CacheKeyPrefix, sha256.Sum256(b))
	out.Files, out.Volatile = files, decl.Volatile
	return nil
}

// fileRecords digests the files a stage declared, resolved against the
// recipe's directory dir, sorted and without duplicates; through src when
// set (a worker: as the run's machine saw them).
func fileRecords(dir string, paths []string, src pipeline.FileSource) ([]pipeline.FileRecord, error) {
	var abs []string
	for _, p := range paths {
		switch {
		case p == "":
		case filepath.IsAbs(p):
			abs = append(abs, p)
		default:
			abs = append(abs, filepath.Join(dir, p))
		}
	}
	slices.Sort(abs)
	abs = slices.Compact(abs)
	out := make([]pipeline.FileRecord, 0, len(abs))
	for _, p := range abs {
		digest := pipeline.FileDigest
		if src != nil {
			digest = src.Digest
		}
		d, err := digest(p)
		if err != nil {
			return nil, fmt.Errorf("input file: %w", err)
		}
		out = append(out, pipeline.FileRecord{Path: p, Digest: d})
	}
	return out, nil
}

// Lookup returns the stage's result from the cache (or, for `lopper
// status`, from the lockfile) when there is one. A damaged entry is logged,
// removed and recomputed.
func (e *localEnv) Lookup(ctx context.Context, out *StageOutcome, decl pipeline.Decl, key string, check func(*pipeline.Result) (*pipeline.Result, error), log hclog.Logger) (*pipeline.CachedResult, bool, error) {
	rs := e.rs
	if o := rs.oracle; o != nil {
		res, hit, err := o.stage(e.t.Record, decl, key)
		if !hit || err != nil {
			return nil, false, err
		}
		return &pipeline.CachedResult{Result: res}, true, nil
	}
	if rs.cache == nil || decl.Volatile {
		return nil, false, nil
	}
	hit, ok, err := rs.opts.Cache.Lookup(ctx, rs.recipe.Registry(), key, check, log)
	if err != nil || !ok {
		return nil, false, err
	}
	rs.cache.Use(key)
	return hit, true, nil
}

// Keep stores a computed result. A failure to store is logged, not a
// stage failure: the result itself is fine. Storing outlives an interrupt
// that arrives meanwhile, so that finished work is kept for --resume.
func (e *localEnv) Keep(ctx context.Context, out *StageOutcome, decl pipeline.Decl, res *pipeline.Result, seconds float64, log hclog.Logger) error {
	rs := e.rs
	if rs.cache == nil || decl.Volatile {
		return nil
	}
	if err := rs.opts.Cache.Store(context.WithoutCancel(ctx), rs.recipe.Registry(), out.Key, e.t.Stage.Uses, e.t.Record.Path, res, seconds); err != nil {
		log.Warn("cannot store the result in the stage cache", "key", out.Key, "error", err)
		return nil
	}
	rs.cache.Use(out.Key)
	return nil
}
