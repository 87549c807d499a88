package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"runtime/debug"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"
)

// runState is shared by every scope of one run.
type runState struct {
	recipe    *Recipe
	opts      RunOptions
	sem       *semaphore.Weighted // --jobs slots for stage kinds' Run
	rec       *recorder
	log       hclog.Logger
	runDir    string
	params    map[string]any
	cancelAll context.CancelCauseFunc
	cache     *cacheRun   // nil without a cache
	oracle    *lockOracle // set by Status: results come from the lockfile
	disk      diskArtifacts
}

// scopeRun is one execution of a scope: the top level, one loop iteration
// or one matrix branch.
type scopeRun struct {
	rs        *runState
	sc        *scope
	parent    *scopeRun
	prefix    string         // instance path prefix, e.g. "gradual[2]/"
	iteration int            // innermost loop iteration, -1 outside loops
	prev      *Result        // the loop's prev, nil outside loops or without from
	matrix    map[string]any // matrix values of the enclosing branches
	log       hclog.Logger
	records   []*StageRecord // parallel to sc.stages
	outcomes  map[*Stage]*outcome
}

// outcome is a stage's result within its scope run. status and result are
// written once, before done is closed, and read only after.
type outcome struct {
	done   chan struct{}
	status StageStatus
	result *Result
}

// final returns the result of a stage that finished successfully.
func (o *outcome) final() (*Result, bool) {
	select {
	case <-o.done:
		return o.result, o.result != nil && (o.status == StageSucceeded || o.status == StageCached)
	default:
		return nil, false
	}
}

func (rs *runState) newScopeRun(sc *scope, parent *scopeRun, prefix string, iteration int, prev *Result, matrix map[string]any) *scopeRun {
	x := &scopeRun{rs: rs, sc: sc, parent: parent, prefix: prefix, iteration: iteration, prev: prev, matrix: matrix,
		log: rs.log, outcomes: map[*Stage]*outcome{}}
	if parent != nil {
		x.log = parent.log
	}
	for _, s := range sc.stages {
		x.outcomes[s] = &outcome{done: make(chan struct{}), status: StagePending}
		x.records = append(x.records, &StageRecord{ID: s.ID, Path: prefix + s.ID, Uses: s.Uses, Status: StagePending})
	}
	return x
}

// exec runs every stage of the scope, each as soon as its dependencies are
// final, and returns when all are final.
func (x *scopeRun) exec(ctx context.Context) {
	var g errgroup.Group
	for i, s := range x.sc.stages {
		g.Go(func() error {
			x.runStage(ctx, s, x.records[i])
			return nil
		})
	}
	g.Wait() // the goroutines report through outcomes, never errors
}

// finish makes a stage final.
func (x *scopeRun) finish(s *Stage, rec *StageRecord, status StageStatus, res *Result, reason string, err error) {
	o := x.outcomes[s]
	o.status, o.result = status, res
	x.rs.rec.update(func() {
		rec.Status, rec.Reason = status, reason
		if err != nil {
			rec.Error = err.Error()
			var ge *gateError
			rec.Gate = errors.As(err, &ge)
		}
		if !rec.Started.IsZero() {
			if rec.Ended.IsZero() {
				rec.Ended = time.Now().UTC()
			}
			rec.Seconds = rec.Ended.Sub(rec.Started).Seconds()
		}
		if res != nil {
			rec.Metrics, rec.Details, rec.result = res.Metrics, res.Details, res
			rec.Artifacts = map[string]ArtifactRecord{}
			for name, a := range res.Artifacts {
				rec.Artifacts[name] = ArtifactRecord{Kind: a.Kind(), Digest: a.Digest()}
			}
		}
	})
	close(o.done)
}

// runStage waits for the stage's dependencies and runs it.
func (x *scopeRun) runStage(ctx context.Context, s *Stage, rec *StageRecord) {
	log := x.log.Named(s.ID)
	for _, d := range s.deps {
		select {
		case <-x.outcomes[d].done:
		case <-ctx.Done():
		}
	}
	if ctx.Err() != nil {
		x.finish(s, rec, StageCancelled, nil, cancelReason(ctx), nil)
		return
	}
	for _, d := range s.deps {
		switch st := x.outcomes[d].status; st {
		case StageFailed, StageCancelled:
			x.finish(s, rec, StageCancelled, nil, fmt.Sprintf("dependency %s %s", d.ID, st), nil)
			log.Warn("cancelled", "reason", fmt.Sprintf("dependency %s %s", d.ID, st))
			return
		case StageSkipped:
			x.finish(s, rec, StageSkipped, nil, fmt.Sprintf("dependency %s was skipped", d.ID), nil)
			log.Info("skipped", "reason", fmt.Sprintf("dependency %s was skipped", d.ID))
			return
		}
	}
	values := x.values()
	if s.When != nil {
		ok, err := s.When.evalBool(values)
		if err != nil {
			x.fail(ctx, s, rec, log, err)
			return
		}
		if !ok {
			reason := "when is false: " + s.When.Source
			x.finish(s, rec, StageSkipped, nil, reason, nil)
			log.Info("skipped", "reason", reason)
			return
		}
	}
	x.rs.rec.update(func() { rec.Status, rec.Started = StageRunning, time.Now().UTC() })
	var res *Result
	var err error
	status := StageSucceeded
	switch s.Uses {
	case KindLoop:
		res, err = x.runLoop(ctx, s, rec, log)
	case KindMatrix:
		res, err = x.runMatrix(ctx, s, rec, log)
	case KindAssert:
		res, err = runAssert(ctx, s, values)
	default:
		var hit bool
		if res, hit, err = x.runKind(ctx, s, rec, log, values); hit {
			status = StageCached
		}
	}
	if err != nil {
		x.fail(ctx, s, rec, log, err)
		return
	}
	res = x.withDerived(s, res)
	x.finish(s, rec, status, res, "", nil)
	if status == StageSucceeded {
		log.Info("succeeded", "seconds", fmt.Sprintf("%.2f", time.Since(rec.Started).Seconds()))
	}
}

// fail records a stage error: cancelled when the run is being cancelled,
// failed otherwise (logged once here, with --fail-fast applied).
func (x *scopeRun) fail(ctx context.Context, s *Stage, rec *StageRecord, log hclog.Logger, err error) {
	if ctx.Err() != nil {
		x.finish(s, rec, StageCancelled, nil, cancelReason(ctx), err)
		log.Warn("cancelled", "reason", cancelReason(ctx))
		return
	}
	x.finish(s, rec, StageFailed, nil, "", err)
	var inner *innerFailure
	var gate *gateError
	switch {
	case errors.As(err, &inner):
		log.Warn("failed", "reason", err) // the root cause was logged by the inner stage
	case errors.As(err, &gate):
		log.Error("gate failed", "error", err)
	default:
		log.Error("failed", "error", err)
	}
	if x.rs.opts.FailFast {
		x.rs.cancelAll(errFailFast)
	}
}

// innerFailure is a loop's or matrix's error caused by a stage inside it.
type innerFailure struct{ msg string }

func (e *innerFailure) Error() string { return e.msg }

func cancelReason(ctx context.Context) string {
	if errors.Is(context.Cause(ctx), errFailFast) {
		return errFailFast.Error()
	}
	return "interrupted"
}

// runKind runs a registered stage kind: interpolate, decode and check its
// config, take a --jobs slot, take the result from the cache (hit) or call
// Run (a panic becomes the stage's error), check the result against the
// declaration, and store it in the cache.
func (x *scopeRun) runKind(ctx context.Context, s *Stage, rec *StageRecord, log hclog.Logger, values map[string]any) (res *Result, hit bool, err error) {
	r := x.rs.recipe
	inst, _, err := instantiate(s.With, s.interps, func(it *interp) (any, bool, error) {
		v, err := it.value(values)
		return v, err == nil, err
	})
	if err != nil {
		return nil, false, err
	}
	cfg := s.kind.NewConfig()
	if probs := decodeStrict(r.File, inst, cfg); len(probs) > 0 {
		return nil, false, &ValidationError{Problems: probs}
	}
	if probs := checkConfig(s, r.File, r.Dir, inst, cfg, nil, true); len(probs) > 0 {
		return nil, false, &ValidationError{Problems: probs}
	}
	decl, err := callDeclare(s, cfg)
	if err != nil {
		return nil, false, err
	}
	if err := r.checkStageOutputs(s, decl, x.rs.opts, x.rs.runDir); err != nil {
		return nil, false, err
	}
	// What was declared at load time (and typed in expressions) must be
	// there too.
	decl.Metrics = union(decl.Metrics, s.decl.Metrics)
	decl.Artifacts = union(decl.Artifacts, s.decl.Artifacts)
	cfgJSON, digest, err := ConfigJSON(s.Uses, cfg)
	if err != nil {
		return nil, false, err
	}
	inputs, err := x.inputRecords(decl)
	if err != nil {
		return nil, false, err
	}
	x.rs.rec.update(func() { rec.Config, rec.ConfigDigest, rec.Inputs = cfgJSON, digest, inputs })
	if err := x.rs.sem.Acquire(ctx, 1); err != nil {
		return nil, false, err
	}
	defer x.rs.sem.Release(1)
	x.rs.rec.update(func() { rec.Started = time.Now().UTC() }) // the slot wait is not the stage's time
	key, err := x.cacheKey(s, rec, decl, digest, inputs)
	if err != nil {
		return nil, false, err
	}
	if res, hit, err := x.fromCache(ctx, s, rec, decl, key, log); hit || err != nil {
		return res, hit, err
	}
	log.Info("running")
	sc := &StageContext{
		ID: s.ID, Path: rec.Path, Uses: s.Uses, Log: log, Params: maps.Clone(x.rs.params),
		RecipeDir: r.Dir, RunDir: x.rs.runDir, Iteration: x.iteration, Matrix: maps.Clone(x.matrix),
		Registry: r.registry, lookup: x.lookup, rec: x.rs.rec, workDir: workDirFor(x.rs.runDir, rec.Path),
		disk: &x.rs.disk,
	}
	start := time.Now()
	res, err = callRun(ctx, s.kind, sc, cfg, log)
	seconds := time.Since(start).Seconds()
	// The stage's time ends before its slot is released.
	x.rs.rec.update(func() { rec.Ended = time.Now().UTC() })
	if err != nil {
		return nil, false, err
	}
	if res, err = checkResult(s, decl, res); err != nil {
		return nil, false, err
	}
	x.toCache(ctx, s, rec, decl, key, res, seconds, log)
	return res, false, nil
}

// callRun calls a kind's Run, turning a panic into an error, and logs the
// stack of a panic: the stage's own, or a worker's that a pool of the
// stage's turned into a panic or an error of its own (one with a
// PanicStack method, as internal/par's).
func callRun(ctx context.Context, k Kind, sc *StageContext, cfg any, log hclog.Logger) (res *Result, err error) {
	defer func() {
		if v := recover(); v != nil {
			if pe, ok := v.(panicked); ok {
				err = pe
			} else {
				err = &panicError{v: v, stack: debug.Stack()}
			}
		}
		var pe panicked
		if errors.As(err, &pe) {
			log.Error("stage panicked", "panic", pe.Error(), "stack", string(pe.PanicStack()))
		}
	}()
	return k.Run(ctx, sc, cfg)
}

// panicked is an error that stands for a panic and knows where it
// happened.
type panicked interface {
	error
	PanicStack() []byte
}

type panicError struct {
	v     any
	stack []byte
}

func (e *panicError) Error() string      { return fmt.Sprintf("panic: %v", e.v) }
func (e *panicError) PanicStack() []byte { return e.stack }

// checkResult holds a kind to its declaration.
func checkResult(s *Stage, decl Decl, res *Result) (*Result, error) {
	if res == nil {
		return nil, fmt.Errorf("kind %s returned no result", s.Uses)
	}
	for _, m := range decl.Metrics {
		if _, ok := res.Metrics[m]; !ok {
			return nil, fmt.Errorf("kind %s declared metric %q but did not produce it", s.Uses, m)
		}
	}
	for _, a := range decl.Artifacts {
		if art, ok := res.Artifacts[a]; !ok || art == nil {
			return nil, fmt.Errorf("kind %s declared artifact %q but did not produce it", s.Uses, a)
		}
	}
	if res.Details != nil {
		if _, err := json.Marshal(res.Details); err != nil {
			return nil, fmt.Errorf("kind %s: details are not JSON-encodable: %w", s.Uses, err)
		}
	}
	return res, nil
}

// inputRecords lists the artifacts a stage reads, with their digests.
func (x *scopeRun) inputRecords(decl Decl) ([]InputRecord, error) {
	var out []InputRecord
	for _, in := range decl.Inputs {
		if in.Artifact == "" || in.Ref.ID == "" {
			continue
		}
		res, ok := x.lookup(in.Ref.ID)
		if !ok {
			return nil, fmt.Errorf("input %s has no result", in.Ref.ID)
		}
		a, ok := res.Artifacts[in.Artifact]
		if !ok {
			return nil, fmt.Errorf("input %s has no %q artifact", in.Ref.ID, in.Artifact)
		}
		out = append(out, InputRecord{Stage: in.Ref.ID, Artifact: in.Artifact, Kind: a.Kind(), Digest: a.Digest()})
	}
	return out, nil
}

// lookup finds a finished stage's result through the scope chain; "prev"
// is the innermost loop's prev.
func (x *scopeRun) lookup(id string) (*Result, bool) {
	for s := x; s != nil; s = s.parent {
		if id == idPrev && s.iteration >= 0 && s.sc.owner != nil && s.sc.owner.Uses == KindLoop {
			return s.prev, s.prev != nil
		}
		if st, ok := s.sc.byID[id]; ok {
			return s.outcomes[st].final()
		}
	}
	return nil, false
}

// values builds the expression environment for a stage of this scope:
// params, finished stages' metrics, iteration, prev and matrix.
func (x *scopeRun) values() map[string]any {
	v := map[string]any{idParams: x.rs.params}
	if x.matrix != nil {
		v[idMatrix] = x.matrix
	}
	if x.iteration >= 0 {
		v[idIteration] = x.iteration
	}
	for s := x; s != nil; s = s.parent {
		if _, ok := v[idPrev]; !ok && s.prev != nil {
			v[idPrev] = metricValues(s.prev)
		}
		for _, st := range s.sc.stages {
			if _, taken := v[st.ID]; taken {
				continue
			}
			if res, ok := s.outcomes[st].final(); ok {
				v[st.ID] = metricValues(res)
			}
		}
	}
	return v
}

func metricValues(r *Result) map[string]any {
	m := make(map[string]any, len(r.Metrics))
	for k, v := range r.Metrics {
		m[k] = v
	}
	return m
}
