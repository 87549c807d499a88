package runner

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"lopper/pipeline"
)

// TaskEnv is the executor's side of a running StageTask: where input
// artifacts come from, where results are kept, and what the stage's record
// shows meanwhile. The local executor's keeps artifacts in memory; a
// distributed executor's worker reads and writes them in the shared store.
type TaskEnv interface {
	// Artifact returns an input's artifact by its kind and digest.
	Artifact(ctx context.Context, ref pipeline.ArtifactRecord) (pipeline.Artifact, error)
	// ArtifactDir returns a directory holding a (see pipeline.StageHost).
	ArtifactDir(ctx context.Context, a pipeline.Artifact) (string, error)
	// Record returns the run record so far (see pipeline.StageHost).
	Record() *pipeline.RunRecord
	// Lookup returns the result stored under key, if any: from the stage
	// cache (or, for Status, the lockfile). check holds a result to the
	// kind's declaration. A volatile stage (decl.Volatile) is never a hit.
	Lookup(ctx context.Context, out *StageOutcome, decl pipeline.Decl, key string, check func(*pipeline.Result) (*pipeline.Result, error), log hclog.Logger) (*pipeline.CachedResult, bool, error)
	// Keep is given a computed result: the stage cache stores it (unless
	// the stage is volatile), and a distributed executor makes its
	// artifacts readable on other machines. An error fails the stage.
	Keep(ctx context.Context, out *StageOutcome, decl pipeline.Decl, res *pipeline.Result, seconds float64, log hclog.Logger) error
	// Changed is called whenever the outcome shows more (the config
	// resolved, the key computed, Run returned), for a record kept as the
	// run goes.
	Changed(out *StageOutcome)
}

// TaskOptions are what RunTask needs besides the task: the program's
// build and numerics (part of every cache key, see Options), the run's
// logger and params, and where progress goes besides the log.
type TaskOptions struct {
	Build      string
	Numerics   string
	Log        hclog.Logger
	Params     map[string]any
	OnProgress func(done, total int, unit string)
	// Files, on a distributed executor's worker, is where the files the
	// recipe names are (see pipeline.FileSource): their digests as the
	// run's machine saw them make the cache key, and the stage reads
	// local copies. Nil: the files are at their paths.
	Files pipeline.FileSource
}

// RunTask is the stage activity: it runs one instance of a registered kind
// of the compiled recipe r. It interpolates, decodes and checks its config
// (Recipe.Instantiate), computes its cache key from the config, its
// inputs' digests and the files it reads, takes the result from env's
// cache when it is there, or else calls the kind's Run (a panic becomes
// the stage's error), holds the result to the declaration and hands it to
// env.Keep. It returns the outcome (always) and the result with its
// artifacts in memory (nil when the stage failed).
func RunTask(ctx context.Context, r *pipeline.Recipe, task *StageTask, env TaskEnv, opts TaskOptions) (*StageOutcome, *pipeline.Result) {
	out := &StageOutcome{}
	res, err := runTask(ctx, r, task, env, opts, out)
	if err != nil {
		out.Error, out.Class = err.Error(), classify(ctx, err)
		return out, nil
	}
	if err := out.setResult(res); err != nil {
		out.Error, out.Class = err.Error(), ClassTransient
		return out, nil
	}
	return out, res
}

// classify says which kind of failure err is.
func classify(ctx context.Context, err error) string {
	var ve *pipeline.ValidationError
	var ge *pipeline.GateError
	switch {
	case errors.As(err, &ve):
		return ClassInvalidConfig
	case errors.As(err, &ge):
		return ClassGate
	case ctx.Err() != nil:
		return ClassCancelled
	}
	return ClassTransient
}

func runTask(ctx context.Context, r *pipeline.Recipe, task *StageTask, env TaskEnv, opts TaskOptions, out *StageOutcome) (*pipeline.Result, error) {
	s, ok := r.Stage(task.Stage)
	if !ok || s.Kind() == nil {
		return nil, fmt.Errorf("the recipe has no stage %q that runs a kind", task.Stage)
	}
	log := opts.Log.With(task.Scope...).Named(s.ID)
	inst, err := r.InstantiateOn(s, task.Values, task.Paths, opts.Files)
	if err != nil {
		return nil, err
	}
	inputs, err := inputRecords(inst.Decl, task.Inputs)
	if err != nil {
		return nil, err
	}
	out.Config, out.ConfigDigest, out.Inputs = inst.JSON, inst.Digest, inputs
	out.Started = time.Now().UTC() // the time spent waiting for a slot is not the stage's
	env.Changed(out)
	if err := cacheKey(r, task, inst, opts, out); err != nil {
		return nil, err
	}
	env.Changed(out)
	check := func(res *pipeline.Result) (*pipeline.Result, error) { return checkResult(s, inst.Decl, res) }
	hit, ok, err := env.Lookup(ctx, out, inst.Decl, out.Key, check, log)
	if err != nil {
		return nil, err
	}
	if ok {
		out.Cached, out.SavedSeconds, out.ComputedBy, out.Ended = true, hit.Seconds, hit.Path, time.Now().UTC()
		env.Changed(out)
		log.Info("cached", "computed_by", hit.Path, "saved_seconds", fmt.Sprintf("%.2f", hit.Seconds))
		return hit.Result, nil
	}
	log.Info("running")
	host := &taskHost{ctx: ctx, task: task, env: env}
	sc := pipeline.NewStageContext(host)
	sc.ID, sc.Path, sc.Uses, sc.Log, sc.Params = s.ID, task.Path, s.Uses, log, maps.Clone(opts.Params)
	sc.RecipeDir, sc.RunDir, sc.Iteration, sc.Matrix = r.Dir, task.RunDir, task.Iteration, maps.Clone(task.Matrix)
	sc.Registry, sc.OnProgress = r.Registry(), opts.OnProgress
	if opts.Files != nil && len(out.Files) > 0 {
		paths := make([]string, len(out.Files))
		for i, f := range out.Files {
			paths[i] = f.Path
		}
		if sc.Files, sc.FilesDir, err = opts.Files.Local(ctx, r.Dir, paths); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	res, err := callRun(ctx, s.Kind(), sc, inst.Config, log)
	seconds := time.Since(start).Seconds()
	// The stage's time ends when Run returns.
	out.Ended = time.Now().UTC()
	env.Changed(out)
	if herr := host.failure(); herr != nil && (err != nil || ctx.Err() == nil) {
		return nil, herr // an input that could not be read explains the failure
	}
	if err != nil {
		return nil, err
	}
	if res, err = checkResult(s, inst.Decl, res); err != nil {
		return nil, err
	}
	if err := env.Keep(ctx, out, inst.Decl, res, seconds, log); err != nil {
		return nil, err
	}
	return res, nil
}

// taskHost is a running task's view of the run: its inputs' results with
// their artifacts, read through the env when first asked for.
type taskHost struct {
	ctx  context.Context
	task *StageTask
	env  TaskEnv

	mu      sync.Mutex
	results map[string]*pipeline.Result
	taken   map[string]bool // inputs handed over by Take: read no more
	err     error           // the first input that could not be read
}

func (h *taskHost) Input(id string) (*pipeline.Result, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.wasTaken(id) {
		return nil, false
	}
	return h.input(id)
}

// wasTaken reports (and records as the task's failure) a read of an input
// the stage took; h.mu is held.
func (h *taskHost) wasTaken(id string) bool {
	if !h.taken[id] {
		return false
	}
	if h.err == nil {
		h.err = fmt.Errorf("input %s was taken by this stage (StageContext.Take): it cannot be read again", id)
	}
	return true
}

// Take implements pipeline.StageTaker: the input is owned when the
// scheduler found the stage its last reader and the stage has not read it
// otherwise.
func (h *taskHost) Take(id string) (*pipeline.Result, bool, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.wasTaken(id) {
		return nil, false, false
	}
	_, read := h.results[id]
	owned := !read && slices.Contains(h.task.Owned, id)
	res, ok := h.input(id)
	if !ok {
		return nil, false, false
	}
	if owned {
		if h.taken == nil {
			h.taken = map[string]bool{}
		}
		h.taken[id] = true
		delete(h.results, id)
	}
	return res, owned, true
}

// input reads an input's result through the env, once; h.mu is held.
func (h *taskHost) input(id string) (*pipeline.Result, bool) {
	if res, ok := h.results[id]; ok {
		return res, true
	}
	ref, ok := h.task.Inputs[id]
	if !ok {
		return nil, false
	}
	res := &pipeline.Result{Metrics: ref.Metrics, Artifacts: map[string]pipeline.Artifact{}}
	for name, a := range ref.Artifacts {
		art, err := h.env.Artifact(h.ctx, a)
		if err != nil {
			if h.err == nil {
				h.err = fmt.Errorf("input %s's %q artifact (%s %s): %w", id, name, a.Kind, a.Digest, err)
			}
			return nil, false
		}
		res.Artifacts[name] = art
	}
	if h.results == nil {
		h.results = map[string]*pipeline.Result{}
	}
	h.results[id] = res
	return res, true
}

func (h *taskHost) ArtifactDir(ctx context.Context, a pipeline.Artifact) (string, error) {
	return h.env.ArtifactDir(ctx, a)
}

func (h *taskHost) Record() *pipeline.RunRecord { return h.env.Record() }

func (h *taskHost) failure() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}
