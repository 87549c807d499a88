package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/hashicorp/go-hclog"

	"lopper/internal/fsx"
	"lopper/pipeline"
	"lopper/pipeline/sched"
)

// Options configure Run.
type Options struct {
	// Jobs bounds how many stages run at once; ≤ 0 means runtime.NumCPU().
	// Loops and matrices do not take a slot themselves, their stages do.
	Jobs int
	// FailFast cancels every stage when one fails; by default a failure
	// cancels only the stages that depend on it.
	FailFast bool
	// OutDir is where run directories are created, as
	// OUT_DIR/<UTC timestamp>-<recipe name>/; "" means "runs" (relative to
	// the working directory).
	OutDir string
	// RunDir, when set, is the run directory itself (created if needed).
	RunDir string
	// Logger is the parent of every stage's logger; nil discards logs.
	Logger hclog.Logger
	// Version is lopper's version, recorded in run.json.
	Version string
	// Grace is how long to wait, after cancellation, for running stages to
	// return before the run is recorded without them; 0 means 10s.
	Grace time.Duration
	// Cache, when set, is the stage cache: finished stages are stored in it
	// and taken from it instead of running again (see Decl).
	Cache *pipeline.Cache
	// Build identifies the program (its version and, for development
	// builds, its executable) and Numerics how this machine computes
	// floats (see the README): both go into every cache key, so results
	// of another build or of other float arithmetic are never reused.
	Build    string
	Numerics string
	// Resumed lists the earlier attempts of the run in RunDir that this
	// run continues (see Resume).
	Resumed []pipeline.AttemptRecord
	// LockFile, when set, is where a succeeded run writes the recipe's
	// lockfile (see LockPath), before its final record: a run whose
	// lockfile cannot be written is failed, with the reason in its record.
	LockFile string
	// KeepArtifacts keeps every stage's artifacts in memory until the run
	// ends (the record's StageRecord.Result has them), and lets no stage
	// take an input: for tests that inspect the models of a finished run.
	// By default an artifact is dropped as soon as no stage that may still
	// run reads it, and its last reader may take it (see
	// pipeline.StageContext.Take).
	KeepArtifacts bool
}

// Run runs a loaded recipe and returns its final record. Stage failures,
// failed gates and interruption (ctx cancelled) are reported in the record's
// Status; the error is for runs that could not be set up or recorded.
func Run(ctx context.Context, r *pipeline.Recipe, opts Options) (*pipeline.RunRecord, error) {
	return RunWith(ctx, r, opts, nil)
}

// Driver runs the stages of a run that RunWith has set up (its run
// directory, record and cache) somewhere else than here: it keeps the
// record's stages current through the Execution and returns once every
// stage is final. abandoned says that stages were still running when it
// gave up waiting for them after an interrupt (they are then recorded as
// cancelled). A distributed executor is a Driver.
type Driver func(ctx context.Context, e *Execution) (abandoned bool, err error)

// Execution is a run as its Driver sees it.
type Execution struct{ rs *runState }

// Recipe returns the run's recipe.
func (e *Execution) Recipe() *pipeline.Recipe { return e.rs.recipe }

// Options returns the run's options, defaults applied.
func (e *Execution) Options() Options { return e.rs.opts }

// RunDir returns the run directory.
func (e *Execution) RunDir() string { return e.rs.runDir }

// Paths returns the directories the stages' outputs must avoid.
func (e *Execution) Paths() pipeline.RunPaths { return e.rs.paths() }

// Logger returns the run's logger.
func (e *Execution) Logger() hclog.Logger { return e.rs.log }

// Record returns a snapshot of the run record.
func (e *Execution) Record() *pipeline.RunRecord { return e.rs.rec.snapshot() }

// Update changes the run record (run.json is rewritten soon after).
func (e *Execution) Update(fn func(rec *pipeline.RunRecord)) {
	e.rs.rec.update(func() { fn(e.rs.rec.rec) })
}

// UseCache logs that the run used the cache entry key (computed or
// reused), for `lopper cache gc`.
func (e *Execution) UseCache(key string) {
	if e.rs.cache != nil {
		e.rs.cache.Use(key)
	}
}

// CacheRun is the run's use of its cache (its run log, for `lopper cache
// gc`), nil without a cache.
func (e *Execution) CacheRun() *pipeline.CacheRun { return e.rs.cache }

// RunWith runs a loaded recipe as Run does, with its stages run by drive
// (nil: here, by the local executor): the run directory, run.json, the
// cache's run log, the lockfile and the run's outcome are the same for
// every executor.
func RunWith(ctx context.Context, r *pipeline.Recipe, opts Options, drive Driver) (*pipeline.RunRecord, error) {
	opts = opts.withDefaults()
	if err := r.CheckRunOutputs(runPaths(opts, "")); err != nil {
		return nil, err
	}
	runDir, err := makeRunDir(r, opts)
	if err != nil {
		return nil, err
	}
	unlock, err := pipeline.LockRunDir(runDir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	// A run directory being resumed may hold what a killed attempt was
	// writing; nothing else can be writing into it now.
	removed, err := fsx.RemoveStaleTree(runDir)
	if len(removed) > 0 {
		opts.Logger.Info("removed the temporary files of a killed run", "run_dir", runDir, "paths", removed)
	}
	if err != nil {
		opts.Logger.Warn("cannot remove the temporary files of a killed run", "run_dir", runDir, "error", err)
	}
	rs := &runState{recipe: r, opts: opts, log: opts.Logger, runDir: runDir}
	if opts.Cache != nil {
		if rs.cache, err = opts.Cache.BeginRun(runDir, r.Path, opts.Logger); err != nil {
			return nil, err
		}
		defer rs.cache.End()
	}
	return execute(ctx, rs, drive)
}

func (opts Options) withDefaults() Options {
	if opts.Jobs <= 0 {
		opts.Jobs = runtime.NumCPU()
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.Grace <= 0 {
		opts.Grace = 10 * time.Second
	}
	return opts
}

// execute runs the recipe of rs with drive (nil: locally); rs.runDir ""
// records nothing on disk (Status).
func execute(ctx context.Context, rs *runState, drive Driver) (*pipeline.RunRecord, error) {
	r, opts, runDir := rs.recipe, rs.opts, rs.runDir
	rec := newRecord(r, opts, runDir)
	rs.params = r.ParamValues()
	rs.rec = newRecorder(rec, opts.Logger)
	m := sched.New(r, rs.params, sched.Options{Jobs: opts.Jobs, FailFast: opts.FailFast, Clock: now, Log: rs.note,
		KeepArtifacts: opts.KeepArtifacts})
	rs.rec.update(func() { rec.Stages = m.Records() })
	if rs.rec.err != nil {
		return nil, fmt.Errorf("run record: %w", rs.rec.err)
	}
	opts.Logger.Info("run started", "recipe", r.File, "run_dir", runDir, "jobs", opts.Jobs)
	var abandoned bool
	var driveErr error
	if drive == nil {
		abandoned = rs.drive(ctx, m)
	} else {
		abandoned, driveErr = drive(ctx, &Execution{rs: rs})
	}
	reason := fmt.Sprintf("interrupted; did not stop within %s", opts.Grace)
	if driveErr != nil {
		opts.Logger.Error("the executor failed", "error", driveErr)
		abandoned, reason = true, "the executor failed: "+driveErr.Error()
	}
	final, err := rs.rec.finish(func() {
		if abandoned {
			rec.Walk(func(s *pipeline.StageRecord) {
				if s.Status == pipeline.StageRunning || s.Status == pipeline.StagePending {
					s.Status, s.Reason = pipeline.StageCancelled, reason
				}
			})
		}
		rec.Ended = time.Now().UTC()
		rec.Seconds = rec.Ended.Sub(rec.Started).Seconds()
		rec.Status, rec.Error = sched.RunOutcome(rec, ctx.Err() != nil)
		if driveErr != nil && ctx.Err() == nil {
			rec.Status, rec.Error = pipeline.RunFailed, driveErr.Error()
		}
		if rec.Status == pipeline.RunSucceeded && opts.LockFile != "" {
			if err := writeLockOf(rec, opts.LockFile); err != nil {
				opts.Logger.Error("cannot write the lockfile", "path", opts.LockFile, "error", err)
				rec.Status, rec.Error = pipeline.RunFailed, fmt.Sprintf("cannot write the lockfile %s: %v", opts.LockFile, err)
			}
		}
	})
	logOutcome(opts.Logger, final)
	if err != nil {
		return final, fmt.Errorf("run record: %w", err)
	}
	return final, nil
}

func logOutcome(log hclog.Logger, rec *pipeline.RunRecord) {
	args := []any{"status", rec.Status, "seconds", fmt.Sprintf("%.2f", rec.Seconds), "record", filepath.Join(rec.RunDir, pipeline.RecordFile)}
	if rec.Status == pipeline.RunSucceeded {
		log.Info("run finished", args...)
	} else {
		log.Warn("run finished", args...)
	}
}

// makeRunDir creates the run directory: opts.RunDir, or a fresh
// OUT_DIR/<timestamp>-<name> (suffixed -2, -3, … when taken).
func makeRunDir(r *pipeline.Recipe, opts Options) (string, error) {
	if opts.RunDir != "" {
		if err := os.MkdirAll(opts.RunDir, 0o755); err != nil {
			return "", err
		}
		return filepath.Abs(opts.RunDir)
	}
	out := opts.OutDir
	if out == "" {
		out = "runs"
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	base := filepath.Join(out, time.Now().UTC().Format("20060102T150405Z")+"-"+r.Name)
	dir := base
	for i := 2; ; i++ {
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			return filepath.Abs(dir)
		}
		if !errors.Is(err, os.ErrExist) || i > 1000 {
			return "", err
		}
		dir = fmt.Sprintf("%s-%d", base, i)
	}
}

func newRecord(r *pipeline.Recipe, opts Options, runDir string) *pipeline.RunRecord {
	rec := &pipeline.RunRecord{
		Schema: pipeline.RecordSchema, Name: r.Name, Description: r.Description,
		Status: pipeline.RunRunning, Started: time.Now().UTC(), RunDir: runDir,
		Recipe:   pipeline.RecipeRecord{File: r.Path, Digest: r.Digest, Baseline: r.Baseline, Text: string(r.Source)},
		Lopper:   opts.Version,
		Go:       runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH,
		Jobs:     opts.Jobs, FailFast: opts.FailFast,
		Build: opts.Build, Numerics: opts.Numerics, Resumed: opts.Resumed,
	}
	switch {
	case opts.Cache == nil:
	case opts.Cache.URL() != "":
		rec.Store = opts.Cache.URL()
	default:
		rec.CacheDir = opts.Cache.Dir()
	}
	for _, p := range r.Params {
		rec.Params = append(rec.Params, pipeline.ParamValue{Name: p.Name, Type: p.Type, Value: p.Value, Source: p.Source})
	}
	return rec
}

// now is the clock of records: UTC.
func now() time.Time { return time.Now().UTC() }
