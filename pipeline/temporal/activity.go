package temporal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"go.temporal.io/sdk/activity"
	sdktemporal "go.temporal.io/sdk/temporal"

	"lopper/pipeline"
	"lopper/pipeline/runner"
)

// Activities serves the stage activity on a worker: runner.RunTask with
// the worker's build and numerics (part of every cache key), its input
// artifacts read from the run's store and its output artifacts written
// there.
type Activities struct {
	Registry *pipeline.Registry
	Build    string
	Numerics string
	// Identity names the worker in run records (Worker of a stage).
	Identity string
	// Log is where the stages log; nil discards.
	Log hclog.Logger
	// Store, when set, is how this worker reaches the runs' store (lopper
	// worker --store); otherwise each run's store is opened from the URL
	// the run gives, once.
	Store *pipeline.Cache
	// WorkDir is the worker's own directory: the runs' input files fetched
	// from the store (inputs/), and per run (runs/RUN/) the artifacts its
	// stages asked to have on disk and each stage's own run directory,
	// sent back to the run's machine through the store when the stage
	// ends; "" means lopper/ in the user's cache directory.
	WorkDir string
	// Client marks the activities of the run's own process (lopper run):
	// they read the recipe's files at their paths and write the run
	// directory itself.
	Client bool
	// Payloads, when set, is the codec of the worker's data converter: a
	// stage tells it the run's store (see Payloads).
	Payloads *Payloads
	// WorkDirMax bounds WorkDir's copies (bytes; 0: no bound): at the
	// worker's start and after each stage, the least recently used ones
	// that no running stage uses are removed until it fits (see
	// workDirUse).
	WorkDirMax int64

	fetching sync.Map // see workerFiles.locks
	use      workDirUse
	stores   stores // the runs' stores, when Store is nil

	mu      sync.Mutex
	recipes map[[32]byte]*pipeline.Recipe
	disks   map[string]*runner.DiskArtifacts // by run directory
}

// memoLimit bounds the compiled recipes and run directories a worker
// remembers.
const memoLimit = 64

// Stage is the stage activity. A stage that failed returns an
// ApplicationError of type ErrInvalidConfig or ErrGate (not retried) or
// ErrTransient (retried), with the outcome as its details; a cancelled one
// a CanceledError with the outcome.
func (a *Activities) Stage(ctx context.Context, at *ActivityTask) (*runner.StageOutcome, error) {
	info := activity.GetInfo(ctx)
	hb := &beat{hb: Heartbeat{Stage: at.Task.Stage, Path: at.Task.Path, Scope: at.Task.Scope, Worker: a.Identity, Attempt: int(info.Attempt)}}
	fail := func(class string, err error) (*runner.StageOutcome, error) {
		out := &runner.StageOutcome{Error: err.Error(), Class: class, Worker: a.Identity, Attempt: int(info.Attempt)}
		return nil, sdktemporal.NewApplicationErrorWithOptions(out.Error, "lopper."+class,
			sdktemporal.ApplicationErrorOptions{NonRetryable: class != runner.ClassTransient, Details: []any{out}})
	}
	r, err := a.recipe(at.Recipe)
	if err != nil {
		return fail(runner.ClassInvalidConfig, fmt.Errorf("%w: %v", errNoRecipe, err))
	}
	cache, err := a.store(ctx, at.Store)
	if err != nil {
		return fail(runner.ClassTransient, fmt.Errorf("the run's store: %w", err))
	}
	if root := at.Root; root != "" && (info.WorkflowExecution.ID == root || strings.HasPrefix(info.WorkflowExecution.ID, root+"/")) {
		a.Payloads.bind(root, at.Store, cache)
	}
	log := a.Log
	if log == nil {
		log = hclog.NewNullLogger()
	}
	log = log.With("run", info.WorkflowExecution.ID)
	task := at.Task
	opts := runner.TaskOptions{Build: a.Build, Numerics: a.Numerics, Log: log, Params: r.ParamValues(), OnProgress: hb.progress}
	run := runKey(at.Recipe.Header)
	artifacts := at.Task.RunDir
	if !a.Client {
		dir, err := a.workDir()
		if err != nil {
			return fail(runner.ClassTransient, err)
		}
		// The stage writes a run directory of its own on this worker,
		// which goes back through the store to the run's; the artifacts
		// on disk are shared by the run's stages here.
		artifacts = filepath.Join(dir, "runs", run)
		h := sha256.Sum256([]byte(task.Path))
		task.RunDir = filepath.Join(artifacts, "stages", fmt.Sprintf("%x-%d", h[:8], info.Attempt))
		files := newWorkerFiles(cache, dir, at.Recipe.Inputs, &a.fetching, &a.use, log)
		files.hold(artifacts)
		opts.Files = files
		defer func() {
			files.release()
			a.TrimWorkDir(log)
		}()
	}
	s, _ := r.Stage(task.Stage)
	env := &workerEnv{reg: r.Registry(), cache: cache, entries: at.Cache, task: &task, disk: a.disk(artifacts), artifacts: artifacts}
	if s != nil {
		env.uses = s.Uses
	}
	stop := hb.run(ctx, info.HeartbeatTimeout)
	defer stop()
	out, _ := runner.RunTask(ctx, r, &task, env, opts)
	out.Worker, out.Attempt = a.Identity, int(info.Attempt)
	if task.RunDir != at.Task.RunDir {
		a.sendWorkDir(ctx, cache, run, &task, out, at.Task.RunDir, log)
	}
	switch {
	case out.Class == "":
		return out, nil
	case out.Class == runner.ClassCancelled && ctx.Err() != nil && stopping(ctx):
		// The worker is going away: another one retries the stage.
		out.Class, out.Error = runner.ClassTransient, fmt.Sprintf("worker %s stopped while the stage ran", a.Identity)
	case out.Class == runner.ClassCancelled && ctx.Err() != nil:
		return nil, sdktemporal.NewCanceledError(out)
	}
	return nil, sdktemporal.NewApplicationErrorWithOptions(out.Error, "lopper."+out.Class,
		sdktemporal.ApplicationErrorOptions{NonRetryable: out.Class == runner.ClassInvalidConfig || out.Class == runner.ClassGate, Details: []any{out}})
}

// sendWorkDir puts what the stage wrote into its run directory on this
// worker (stages/PATH, outputs) into the store, for the run's own machine
// to fetch into the run directory, and removes it here (a failure is
// logged: the stage's result stands); and makes the outcome's details
// name the run directory there.
func (a *Activities) sendWorkDir(ctx context.Context, cache *pipeline.Cache, run string, task *runner.StageTask, out *runner.StageOutcome, runDir string, log hclog.Logger) {
	if _, err := os.Stat(task.RunDir); err == nil {
		err := cache.PutWorkDir(context.WithoutCancel(ctx), run, task.Path, out.Attempt, task.RunDir)
		if err == nil {
			err = os.RemoveAll(task.RunDir)
		}
		if err != nil {
			log.Warn("cannot send the stage's files to the run's store", "stage", task.Path, "dir", task.RunDir, "error", err)
		}
	}
	if len(out.Details) > 0 {
		here, err1 := json.Marshal(task.RunDir)
		there, err2 := json.Marshal(runDir)
		if err1 == nil && err2 == nil {
			out.Details = bytes.ReplaceAll(out.Details, here[1:len(here)-1], there[1:len(there)-1])
		}
	}
}

// TrimWorkDir trims the worker's directory to WorkDirMax (see
// workDirUse), logging what it removed or why it could not.
func (a *Activities) TrimWorkDir(log hclog.Logger) {
	if a.WorkDirMax <= 0 {
		return
	}
	dir, err := a.workDir()
	if err == nil {
		var removed int
		var freed int64
		removed, freed, err = a.use.trim(dir, a.WorkDirMax, func(path string) {
			a.mu.Lock()
			defer a.mu.Unlock()
			delete(a.disks, path) // its artifacts are no longer on disk
		})
		if removed > 0 {
			log.Info("trimmed the worker's directory", "dir", dir, "removed", removed, "bytes", freed, "max", a.WorkDirMax)
		}
	}
	if err != nil {
		log.Warn("cannot trim the worker's directory", "error", err)
	}
}

// workDir returns the worker's own directory (WorkDir).
func (a *Activities) workDir() (string, error) {
	if a.WorkDir != "" {
		return a.WorkDir, claimWorkDir(a.WorkDir, false)
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("the worker's directory: %w (give it one: --work-dir)", err)
	}
	dir = filepath.Join(dir, "lopper")
	return dir, claimWorkDir(dir, true)
}

// stopping reports whether the activity's worker is stopping.
func stopping(ctx context.Context) bool {
	select {
	case <-activity.GetWorkerStopChannel(ctx):
		return true
	default:
		return false
	}
}

// recipe compiles the run's recipe, once per worker.
func (a *Activities) recipe(src RecipeSource) (*pipeline.Recipe, error) {
	h := sha256.New()
	for _, part := range [][]byte{src.Header, []byte(src.File), []byte(src.WorkDir)} {
		fmt.Fprintf(h, "%d:%s", len(part), part)
	}
	var key [32]byte
	copy(key[:], h.Sum(nil))
	a.mu.Lock()
	r, ok := a.recipes[key]
	a.mu.Unlock()
	if ok {
		return r, nil
	}
	r, err := src.compile(a.Registry)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.recipes == nil || len(a.recipes) >= memoLimit {
		a.recipes = map[[32]byte]*pipeline.Recipe{}
	}
	a.recipes[key] = r
	return r, nil
}

// store returns the run's store: the worker's own, or the one at url,
// opened once.
func (a *Activities) store(ctx context.Context, url string) (*pipeline.Cache, error) {
	if a.Store != nil {
		return a.Store, nil
	}
	return a.stores.open(context.WithoutCancel(ctx), url, errNoRunStore)
}

// disk returns the artifacts written into a run directory on this worker.
func (a *Activities) disk(runDir string) *runner.DiskArtifacts {
	a.mu.Lock()
	defer a.mu.Unlock()
	if d, ok := a.disks[runDir]; ok {
		return d
	}
	if a.disks == nil || len(a.disks) >= memoLimit {
		a.disks = map[string]*runner.DiskArtifacts{}
	}
	d := &runner.DiskArtifacts{}
	a.disks[runDir] = d
	return d
}

// Close closes the stores the worker opened.
func (a *Activities) Close() error { return a.stores.close() }

// beat heartbeats a running stage: who runs it, its last progress.
type beat struct {
	mu sync.Mutex
	hb Heartbeat
}

func (b *beat) progress(done, total int, unit string) {
	b.mu.Lock()
	b.hb.Done, b.hb.Total, b.hb.Unit = done, total, unit
	b.mu.Unlock()
}

func (b *beat) snapshot() Heartbeat {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hb
}

// run heartbeats every quarter of timeout (the SDK sends at most one
// heartbeat per 0.8 timeout, and delivers a cancellation with the answer)
// until stop is called.
func (b *beat) run(ctx context.Context, timeout time.Duration) (stop func()) {
	if timeout <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(max(timeout/4, time.Millisecond))
		defer t.Stop()
		activity.RecordHeartbeat(ctx, b.snapshot())
		for {
			select {
			case <-t.C:
				activity.RecordHeartbeat(ctx, b.snapshot())
			case <-done:
				return
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// errNoRunStore: a run that names no store, on a worker given none.
var errNoRunStore = errors.New("the run names no store, and the worker was given none (--store)")
