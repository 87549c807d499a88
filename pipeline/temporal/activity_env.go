package temporal

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/hashicorp/go-hclog"

	"lopper/pipeline"
	"lopper/pipeline/runner"
)

// workerEnv is the TaskEnv of a stage on a worker: artifacts by reference
// in the run's store.
type workerEnv struct {
	reg     *pipeline.Registry
	cache   *pipeline.Cache
	entries bool // the store is the stage cache too
	task    *runner.StageTask
	uses    string
	disk    *runner.DiskArtifacts
	// artifacts is the run directory whose artifacts/ disk writes into:
	// the run's, or on a worker its directory of the run.
	artifacts string

	once   sync.Once
	record *pipeline.RunRecord
}

func (e *workerEnv) Artifact(ctx context.Context, ref pipeline.ArtifactRecord) (pipeline.Artifact, error) {
	return e.cache.GetArtifact(ctx, e.reg, ref)
}

func (e *workerEnv) ArtifactDir(ctx context.Context, a pipeline.Artifact) (string, error) {
	return e.disk.Dir(ctx, e.reg, e.artifacts, a)
}

func (e *workerEnv) Record() *pipeline.RunRecord {
	e.once.Do(func() {
		e.record = &pipeline.RunRecord{RunDir: e.task.RunDir}
		if len(e.task.Record) > 0 {
			var rec pipeline.RunRecord
			if json.Unmarshal(e.task.Record, &rec) == nil {
				e.record = &rec
			}
		}
	})
	return e.record.Clone()
}

// Lookup answers a cache hit with entry lookups only: the result's
// artifacts stay in the store, by reference, until a stage reads them.
func (e *workerEnv) Lookup(ctx context.Context, _ *runner.StageOutcome, decl pipeline.Decl, key string, check func(*pipeline.Result) (*pipeline.Result, error), log hclog.Logger) (*pipeline.CachedResult, bool, error) {
	if !e.entries || decl.Volatile {
		return nil, false, nil
	}
	return e.cache.LookupRefs(ctx, e.reg, key, check, log)
}

// Keep stores the result in the stage cache (a failure is only logged, as
// locally) and its artifacts in the store, where the stages that read
// them find them (a failure fails the stage, to be retried); an artifact
// whose kind has no codec cannot travel and is left out.
func (e *workerEnv) Keep(ctx context.Context, out *runner.StageOutcome, decl pipeline.Decl, res *pipeline.Result, seconds float64, log hclog.Logger) error {
	ctx = context.WithoutCancel(ctx)
	if e.entries && !decl.Volatile {
		if err := e.cache.Store(ctx, e.reg, out.Key, e.uses, e.task.Path, res, seconds); err != nil {
			log.Warn("cannot store the result in the stage cache", "key", out.Key, "error", err)
		}
	}
	for name, a := range res.Artifacts {
		if _, ok := e.reg.Codec(a.Kind()); !ok {
			// Without a codec it cannot be written anywhere (a report's
			// pages): only this stage's record knows it.
			log.Debug("artifact kind has no codec; it stays on this worker", "artifact", name, "kind", a.Kind())
			continue
		}
		if err := e.cache.PutArtifact(ctx, e.reg, a); err != nil {
			return fmt.Errorf("cannot store artifact %s in %s: %w", name, e.cache.Location(), err)
		}
	}
	return nil
}

func (e *workerEnv) Changed(*runner.StageOutcome) {}
