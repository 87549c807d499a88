package runner

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/hashicorp/go-hclog"

	"lopper/pipeline"
)

// StatusOptions configure Status: the build and numerics `lopper run`
// would use now (see Options).
type StatusOptions struct {
	Build    string
	Numerics string
}

// Status compares a recipe (with its params resolved) against its
// lockfile without running anything: it replays the run through the
// engine, computing every stage instance's cache key exactly as `lopper
// run` would, and takes each up-to-date stage's results (metrics, artifact
// digests) from the lockfile instead of running it, so that loop `until`
// decisions, `when` conditions and downstream keys replay too. A stage
// whose key differs from the lock's is stale, with the reasons (param,
// config, input file, build) found by comparing the two; stages after it
// are stale because of it. lockDir is the lockfile's directory.
func Status(ctx context.Context, r *pipeline.Recipe, lock *Lock, lockDir string, opts StatusOptions) (*StatusReport, error) {
	o := &lockOracle{lock: lock, lockDir: lockDir, now: opts, byPath: map[string]*LockStage{}, verdicts: map[string]verdict{}}
	for i := range lock.Stages {
		o.byPath[lock.Stages[i].Path] = &lock.Stages[i]
	}
	rs := &runState{recipe: r, oracle: o, log: hclog.NewNullLogger(),
		opts: Options{Build: opts.Build, Numerics: opts.Numerics}.withDefaults()}
	rec, err := execute(ctx, rs, nil)
	if err != nil {
		return nil, err
	}
	return o.report(r, rec), nil
}

// Stage states in a StatusReport.
const (
	StateUpToDate = "up-to-date"
	StateStale    = "stale"
	StateVolatile = "volatile" // runs every time, as do the stages that read it
	StateSkipped  = "skipped"
)

// verdict is the oracle's answer for one stage instance.
type verdict struct {
	state   string
	reasons []string
}

// lockOracle answers for stage instances from a lockfile (Status).
type lockOracle struct {
	lock    *Lock
	lockDir string
	now     StatusOptions
	byPath  map[string]*LockStage

	mu       sync.Mutex
	verdicts map[string]verdict // by instance path
}

// errVolatile and staleError make a stage "fail" in the replay, so that
// the stages after it are cancelled (and reported as following it).
var errVolatile = errors.New("volatile: runs every time")

type staleError struct{ reasons []string }

func (e *staleError) Error() string { return fmt.Sprintf("stale: %v", e.reasons) }

// stage answers for one stage instance whose cache key is key.
func (o *lockOracle) stage(rec *pipeline.StageRecord, decl pipeline.Decl, key string) (*pipeline.Result, bool, error) {
	ls, ok := o.byPath[rec.Path]
	var v verdict
	switch {
	case decl.Volatile:
		v = verdict{state: StateVolatile, reasons: []string{"its kind runs it every time (it reads the run, the clock or writes files)"}}
	case !ok:
		v = verdict{state: StateStale, reasons: []string{"not in the lockfile (a new stage instance)"}}
	case ls.Skipped != "":
		v = verdict{state: StateStale, reasons: []string{"was skipped when locked (" + ls.Skipped + ")"}}
	case ls.Volatile:
		v = verdict{state: StateStale, reasons: []string{"was volatile when locked"}}
	case ls.CacheKey == key:
		v = verdict{state: StateUpToDate}
	default:
		v = verdict{state: StateStale, reasons: o.reasons(rec, ls)}
	}
	o.mu.Lock()
	o.verdicts[rec.Path] = v
	o.mu.Unlock()
	switch v.state {
	case StateUpToDate:
		return lockResult(ls), true, nil
	case StateVolatile:
		return nil, false, errVolatile
	}
	return nil, false, &staleError{reasons: v.reasons}
}

// lockResult is an up-to-date stage's result as the lockfile has it.
func lockResult(ls *LockStage) *pipeline.Result {
	res := &pipeline.Result{Metrics: pipeline.Metrics(maps.Clone(ls.Metrics)), Artifacts: map[string]pipeline.Artifact{}}
	if res.Metrics == nil {
		res.Metrics = pipeline.Metrics{}
	}
	for name, a := range ls.Outputs {
		res.Artifacts[name] = lockedArtifact{kind: a.Kind, digest: a.Digest}
	}
	return res
}

// lockedArtifact stands for an artifact known by its digest only.
type lockedArtifact struct{ kind, digest string }

func (a lockedArtifact) Kind() string   { return a.kind }
func (a lockedArtifact) Digest() string { return a.digest }

// reasons says why a stage's key differs from the lock's.
func (o *lockOracle) reasons(rec *pipeline.StageRecord, ls *LockStage) []string {
	var out []string
	if o.lock.Build != o.now.Build {
		out = append(out, fmt.Sprintf("lopper build changed (%s → %s)", o.lock.Build, o.now.Build))
	}
	if o.lock.Numerics != o.now.Numerics {
		out = append(out, fmt.Sprintf("float arithmetic differs (%s → %s)", o.lock.Numerics, o.now.Numerics))
	}
	out = append(out, configDiff(ls.Config, rec.Config)...)
	locked := map[string]string{}
	for _, in := range ls.Inputs {
		locked[in.Stage+"."+in.Artifact] = in.Digest
	}
	for _, in := range rec.Inputs {
		if d, ok := locked[in.Stage+"."+in.Artifact]; ok && d != in.Digest {
			out = append(out, fmt.Sprintf("input %s.%s changed", in.Stage, in.Artifact))
		}
	}
	out = append(out, o.fileChanges(rec.Files, ls.Files)...)
	if len(out) == 0 {
		out = append(out, "its cache key differs (an input's metrics, or a lockfile written by another lopper)")
	}
	return out
}

// fileChanges compares the files a stage reads now with the locked ones.
func (o *lockOracle) fileChanges(now []pipeline.FileRecord, locked []LockFile) []string {
	was := map[string]string{}
	for _, f := range locked {
		was[f.Path] = f.Digest
	}
	var out []string
	for _, f := range now {
		p := relTo(o.lockDir, f.Path)
		d, ok := was[p]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("reads %s, which it did not", p))
		case d != f.Digest:
			out = append(out, fmt.Sprintf("file %s changed", p))
		}
		delete(was, p)
	}
	for _, p := range slices.Sorted(maps.Keys(was)) {
		out = append(out, fmt.Sprintf("no longer reads %s", p))
	}
	return out
}
