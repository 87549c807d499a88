package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"runtime/debug"
	"time"

	"github.com/hashicorp/go-hclog"

	"lopper/pipeline"
	"lopper/pipeline/sched"
)

// runState is shared by the whole run.
type runState struct {
	recipe *pipeline.Recipe
	opts   Options
	rec    *recorder
	log    hclog.Logger
	runDir string
	params map[string]any
	cache  *pipeline.CacheRun // nil without a cache
	oracle *lockOracle        // set by Status: results come from the lockfile
	disk   diskArtifacts
}

// drive runs the scheduling machine to its end: it starts the tasks the
// machine asks for, each on a goroutine of its own, and feeds their
// completions back, one at a time. An interrupt (ctx) is fed in once,
// before any completion that follows it (a stage stopped by the interrupt
// is cancelled, not failed); running tasks then have opts.Grace to stop.
// drive reports whether it stopped waiting for them.
func (rs *runState) drive(ctx context.Context, m *sched.Machine) (abandoned bool) {
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// At most Jobs tasks run at once, so their completions never block,
	// not even after drive stopped waiting for them.
	done := make(chan sched.Completed, rs.opts.Jobs)
	var acts sched.Actions
	interrupt := ctx.Done()
	var grace <-chan time.Time
	apply := func(ev sched.Event) {
		rs.rec.update(func() {
			next := m.Apply(ev)
			acts.Start = append(acts.Start, next.Start...)
			acts.CancelRunning = acts.CancelRunning || next.CancelRunning
		})
	}
	interrupted := func() {
		interrupt, grace = nil, time.After(rs.opts.Grace)
		apply(sched.Interrupted{})
	}
	if ctx.Err() != nil {
		interrupted()
	}
	rs.rec.update(func() { acts = m.Start() })
	for {
		for _, t := range acts.Start {
			go func() { done <- rs.runTask(runCtx, t) }()
		}
		if acts.CancelRunning {
			cancel(sched.ErrFailFast)
		}
		acts = sched.Actions{}
		if m.Done() {
			return false
		}
		select {
		case c := <-done:
			if interrupt != nil && ctx.Err() != nil {
				interrupted()
			}
			apply(c)
		case <-interrupt:
			interrupted()
		case <-grace:
			rs.log.Warn("stages did not stop after cancellation; recording the run without them", "grace", rs.opts.Grace)
			return true
		}
	}
}

// note logs a line of the machine's, with the stage's logger.
func (rs *runState) note(n sched.Note) {
	l := rs.log.With(n.Scope...)
	if n.Stage != "" {
		l = l.Named(n.Stage)
	}
	l.Log(n.Level, n.Msg, n.Args...)
}

// paths are the directories of this run that stage outputs must avoid.
func (rs *runState) paths() pipeline.RunPaths { return runPaths(rs.opts, rs.runDir) }

// runPaths are the directories a run with opts uses: its run directory
// (runDir once created, "" before) or where run directories go, and the
// cache.
func runPaths(opts Options, runDir string) pipeline.RunPaths {
	p := pipeline.RunPaths{RunDir: runDir}
	if opts.RunDir != "" {
		p.RunDir = opts.RunDir
	} else {
		p.OutDir = opts.OutDir
		if p.OutDir == "" {
			p.OutDir = "runs"
		}
	}
	if opts.Cache != nil {
		p.CacheDir = opts.Cache.Dir()
	}
	return p
}

// runTask is the stage activity: it runs one task and says how it went.
func (rs *runState) runTask(ctx context.Context, t *sched.Task) sched.Completed {
	res, hit, err := rs.runStage(ctx, t)
	return sched.Completed{Task: t.ID, Result: res, Cached: hit, Err: err}
}

// runStage runs one instance of a registered kind: interpolate, decode and
// check its config, record it, take the result from the cache (hit) or
// call Run (a panic becomes the stage's error), check the result against
// the declaration, and store it in the cache.
func (rs *runState) runStage(ctx context.Context, t *sched.Task) (res *pipeline.Result, hit bool, err error) {
	s, rec := t.Stage, t.Record
	log := rs.log.With(t.Scope...).Named(s.ID)
	inst, err := rs.recipe.Instantiate(s, t.Values, rs.paths())
	if err != nil {
		return nil, false, err
	}
	inputs, err := inputRecords(inst.Decl, t.Inputs)
	if err != nil {
		return nil, false, err
	}
	rs.rec.update(func() {
		rec.Config, rec.ConfigDigest, rec.Inputs = inst.JSON, inst.Digest, inputs
		rec.Started = time.Now().UTC() // the time spent waiting for a slot is not the stage's
	})
	key, err := rs.cacheKey(t, inst, inputs)
	if err != nil {
		return nil, false, err
	}
	if res, hit, err := rs.fromCache(ctx, t, inst.Decl, key, log); hit || err != nil {
		return res, hit, err
	}
	log.Info("running")
	sc := pipeline.NewStageContext(&stageHost{rs: rs, t: t})
	sc.ID, sc.Path, sc.Uses, sc.Log, sc.Params = s.ID, rec.Path, s.Uses, log, maps.Clone(rs.params)
	sc.RecipeDir, sc.RunDir, sc.Iteration, sc.Matrix = rs.recipe.Dir, rs.runDir, t.Iteration, maps.Clone(t.Matrix)
	sc.Registry = rs.recipe.Registry()
	start := time.Now()
	res, err = callRun(ctx, s.Kind(), sc, inst.Config, log)
	seconds := time.Since(start).Seconds()
	// The stage's time ends when Run returns.
	rs.rec.update(func() { rec.Ended = time.Now().UTC() })
	if err != nil {
		return nil, false, err
	}
	if res, err = checkResult(s, inst.Decl, res); err != nil {
		return nil, false, err
	}
	rs.toCache(ctx, t, inst.Decl, key, res, seconds, log)
	return res, false, nil
}

// stageHost is a running stage's view of the run.
type stageHost struct {
	rs *runState
	t  *sched.Task
}

func (h *stageHost) Input(id string) (*pipeline.Result, bool) {
	res, ok := h.t.Inputs[id]
	return res, ok
}

func (h *stageHost) ArtifactDir(ctx context.Context, a pipeline.Artifact) (string, error) {
	return h.rs.disk.dir(ctx, h.rs.recipe.Registry(), h.rs.runDir, a)
}

func (h *stageHost) Record() *pipeline.RunRecord { return h.rs.rec.snapshot() }

// callRun calls a kind's Run, turning a panic into an error, and logs the
// stack of a panic: the stage's own, or a worker's that a pool of the
// stage's turned into a panic or an error of its own (one with a
// PanicStack method, as internal/par's).
func callRun(ctx context.Context, k pipeline.Kind, sc *pipeline.StageContext, cfg any, log hclog.Logger) (res *pipeline.Result, err error) {
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
func checkResult(s *pipeline.Stage, decl pipeline.Decl, res *pipeline.Result) (*pipeline.Result, error) {
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
func inputRecords(decl pipeline.Decl, inputs map[string]*pipeline.Result) ([]pipeline.InputRecord, error) {
	var out []pipeline.InputRecord
	for _, in := range decl.Inputs {
		if in.Artifact == "" || in.Ref.ID == "" {
			continue
		}
		res, ok := inputs[in.Ref.ID]
		if !ok {
			return nil, fmt.Errorf("input %s has no result", in.Ref.ID)
		}
		a, ok := res.Artifacts[in.Artifact]
		if !ok {
			return nil, fmt.Errorf("input %s has no %q artifact", in.Ref.ID, in.Artifact)
		}
		out = append(out, pipeline.InputRecord{Stage: in.Ref.ID, Artifact: in.Artifact, Kind: a.Kind(), Digest: a.Digest()})
	}
	return out, nil
}
