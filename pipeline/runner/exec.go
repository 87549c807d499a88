package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	disk   DiskArtifacts
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

// runTask runs one task of the machine with the stage activity (RunTask)
// and says how it went.
func (rs *runState) runTask(ctx context.Context, t *sched.Task) sched.Completed {
	env := &localEnv{rs: rs, t: t, live: map[pipeline.ArtifactRecord]pipeline.Artifact{}}
	for _, res := range t.Inputs {
		for _, a := range res.Artifacts {
			env.live[pipeline.ArtifactRecord{Kind: a.Kind(), Digest: a.Digest()}] = a
		}
	}
	opts := TaskOptions{Build: rs.opts.Build, Numerics: rs.opts.Numerics, Log: rs.log, Params: rs.params}
	out, res := RunTask(ctx, rs.recipe, NewStageTask(t, rs.runDir, rs.paths()), env, opts)
	return sched.Completed{Task: t.ID, Result: res, Cached: out.Cached, Err: out.Err()}
}

// localEnv is the TaskEnv of a local task: its inputs' artifacts are in
// memory, the stage cache (or Status's lockfile) is the run's, and the
// stage's record is updated as the outcome shows more.
type localEnv struct {
	rs   *runState
	t    *sched.Task
	live map[pipeline.ArtifactRecord]pipeline.Artifact
}

func (e *localEnv) Artifact(_ context.Context, ref pipeline.ArtifactRecord) (pipeline.Artifact, error) {
	a, ok := e.live[ref]
	if !ok {
		return nil, fmt.Errorf("no %s artifact %s in this run", ref.Kind, ref.Digest)
	}
	return a, nil
}

func (e *localEnv) ArtifactDir(ctx context.Context, a pipeline.Artifact) (string, error) {
	return e.rs.disk.Dir(ctx, e.rs.recipe.Registry(), e.rs.runDir, a)
}

func (e *localEnv) Record() *pipeline.RunRecord { return e.rs.rec.snapshot() }

func (e *localEnv) Changed(out *StageOutcome) {
	e.rs.rec.update(func() { out.ApplyTo(e.t.Record) })
}

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
func inputRecords(decl pipeline.Decl, inputs map[string]InputRef) ([]pipeline.InputRecord, error) {
	var out []pipeline.InputRecord
	for _, in := range decl.Inputs {
		if in.Artifact == "" || in.Ref.ID == "" {
			continue
		}
		ref, ok := inputs[in.Ref.ID]
		if !ok {
			return nil, fmt.Errorf("input %s has no result", in.Ref.ID)
		}
		a, ok := ref.Artifacts[in.Artifact]
		if !ok {
			return nil, fmt.Errorf("input %s has no %q artifact", in.Ref.ID, in.Artifact)
		}
		out = append(out, pipeline.InputRecord{Stage: in.Ref.ID, Artifact: in.Artifact, Kind: a.Kind, Digest: a.Digest})
	}
	return out, nil
}
