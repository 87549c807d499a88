package runner

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"time"

	"lopper/pipeline"
	"lopper/pipeline/sched"
)

// StageTask is one instance of a registered stage kind to run, as data: a
// sched.Task whose inputs are references (each artifact's kind and
// digest) instead of values in memory, so that it can travel to a worker
// on another machine, which compiles the same recipe and runs it with
// RunTask. The local executor runs its tasks the same way, so the two run
// a stage alike.
type StageTask struct {
	Stage     string              `json:"stage"`            // the stage's id (unique in its recipe)
	Path      string              `json:"path"`             // the instance: "gradual[2]/prune"
	Iteration int                 `json:"iteration"`        // the innermost loop's, -1 outside loops
	Matrix    Values              `json:"matrix,omitempty"` // the enclosing matrix branches' values
	Values    Values              `json:"values"`           // what its expressions read (pipeline.Values)
	Inputs    map[string]InputRef `json:"inputs,omitempty"` // the finished stages it may read, by id ("prev" in a loop)
	Scope     List                `json:"scope,omitempty"`  // log fields of the enclosing iterations and branches
	RunDir    string              `json:"run_dir"`
	Paths     pipeline.RunPaths   `json:"paths"` // what outputs must avoid
	// Record is the run record so far (JSON) for a stage that reads it
	// (a volatile one: report, save) on another machine; empty otherwise.
	Record json.RawMessage `json:"record,omitempty"`
	// Owned are the inputs it is the last reader of, sorted: it may take
	// them (see sched.Task.Owned and pipeline.StageContext.Take).
	Owned []string `json:"owned,omitempty"`
}

// InputRef is a finished stage's result by reference: its metrics, and its
// artifacts by kind and digest (the executor's TaskEnv finds them).
type InputRef struct {
	Metrics   pipeline.Metrics                   `json:"metrics"`
	Artifacts map[string]pipeline.ArtifactRecord `json:"artifacts,omitempty"`
}

// Error classes of a StageOutcome: what a distributed executor may retry.
const (
	// ClassInvalidConfig: the config failed its checks once every value
	// was known (a *pipeline.ValidationError). Never retried.
	ClassInvalidConfig = "invalid-config"
	// ClassGate: a failed gate (a *pipeline.GateError). Never retried.
	ClassGate = "gate"
	// ClassCancelled: the stage stopped because it was cancelled.
	ClassCancelled = "cancelled"
	// ClassTransient: any other failure (the kind's error, a panic, the
	// store). Retried by a distributed executor.
	ClassTransient = "transient"
)

// StageOutcome is what running a StageTask showed, as data: everything
// the stage's record holds beyond what the scheduling machine sets, and
// its result by reference.
type StageOutcome struct {
	Config       json.RawMessage        `json:"config,omitempty"` // the resolved config
	ConfigDigest string                 `json:"config_digest,omitempty"`
	Inputs       []pipeline.InputRecord `json:"inputs,omitempty"`
	Files        []pipeline.FileRecord  `json:"files,omitempty"`
	KeyKnown     bool                   `json:"key_known,omitempty"` // Key, Files and Volatile are set
	Key          string                 `json:"key,omitempty"`       // the cache key (also of a volatile stage)
	Volatile     bool                   `json:"volatile,omitempty"`
	Started      time.Time              `json:"started,omitzero"` // zero when it failed before starting
	Ended        time.Time              `json:"ended,omitzero"`
	Cached       bool                   `json:"cached,omitempty"`
	SavedSeconds float64                `json:"saved_seconds,omitempty"` // cached: what computing it took
	ComputedBy   string                 `json:"computed_by,omitempty"`   // cached: the instance that computed it
	// The result, when it succeeded.
	Metrics   pipeline.Metrics                   `json:"metrics,omitempty"`
	Artifacts map[string]pipeline.ArtifactRecord `json:"artifacts,omitempty"`
	Details   json.RawMessage                    `json:"details,omitempty"`
	// The failure, when it failed.
	Error string `json:"error,omitempty"`
	Class string `json:"class,omitempty"` // one of the Class constants
	// Worker and Attempt are a distributed executor's: who ran it, the
	// how-manyth time.
	Worker  string `json:"worker,omitempty"`
	Attempt int    `json:"attempt,omitempty"`
}

// NewStageTask describes a task of the scheduling machine as data: the
// inputs by reference. runDir is the run's directory, paths what the
// stage's outputs must avoid.
func NewStageTask(t *sched.Task, runDir string, paths pipeline.RunPaths) *StageTask {
	task := &StageTask{Stage: t.Stage.ID, Path: t.Path, Iteration: t.Iteration, Matrix: Values(t.Matrix),
		Values: Values(t.Values), Scope: List(t.Scope), RunDir: runDir, Paths: paths}
	if len(t.Inputs) > 0 {
		task.Inputs = make(map[string]InputRef, len(t.Inputs))
		for _, id := range slices.Sorted(maps.Keys(t.Inputs)) {
			task.Inputs[id] = RefOf(t.Inputs[id])
		}
	}
	for _, id := range slices.Sorted(maps.Keys(t.Owned)) {
		if t.Owned[id] {
			task.Owned = append(task.Owned, id)
		}
	}
	return task
}

// RefOf returns a result by reference.
func RefOf(res *pipeline.Result) InputRef {
	ref := InputRef{Metrics: res.Metrics}
	if len(res.Artifacts) > 0 {
		ref.Artifacts = make(map[string]pipeline.ArtifactRecord, len(res.Artifacts))
		for _, name := range slices.Sorted(maps.Keys(res.Artifacts)) {
			a := res.Artifacts[name]
			ref.Artifacts[name] = pipeline.ArtifactRecord{Kind: a.Kind(), Digest: a.Digest()}
		}
	}
	return ref
}

// Err returns the failure as an error for the scheduling machine: nil
// when the stage succeeded, a *pipeline.GateError for a failed gate.
func (o *StageOutcome) Err() error {
	switch {
	case o.Class == "" && o.Error == "":
		return nil
	case o.Class == ClassGate:
		return pipeline.NewGateError(o.Error)
	}
	return errors.New(o.Error)
}

// Result returns the stage's result by reference (artifacts that are
// only their kind and digest, see RefArtifact); nil when it failed.
func (o *StageOutcome) Result() *pipeline.Result {
	if o.Err() != nil {
		return nil
	}
	res := &pipeline.Result{Metrics: o.Metrics, Artifacts: map[string]pipeline.Artifact{}}
	if res.Metrics == nil {
		res.Metrics = pipeline.Metrics{} // no metrics travel as none
	}
	for _, name := range slices.Sorted(maps.Keys(o.Artifacts)) {
		a := o.Artifacts[name]
		res.Artifacts[name] = RefArtifact(a.Kind, a.Digest)
	}
	if len(o.Details) > 0 && string(o.Details) != "null" {
		res.Details = o.Details
	}
	return res
}

// ApplyTo records what the outcome shows on the stage's record (the
// scheduling machine records the rest: status, result, reason).
func (o *StageOutcome) ApplyTo(rec *pipeline.StageRecord) {
	if o.Config != nil {
		rec.Config, rec.ConfigDigest, rec.Inputs = o.Config, o.ConfigDigest, o.Inputs
	}
	if o.KeyKnown {
		rec.Files, rec.Volatile = o.Files, o.Volatile
		if !o.Volatile {
			rec.CacheKey = o.Key
		}
	}
	if !o.Started.IsZero() {
		rec.Started = o.Started
	}
	if !o.Ended.IsZero() {
		rec.Ended = o.Ended
	}
	if o.Cached {
		rec.SavedSeconds = o.SavedSeconds
	}
	rec.Worker, rec.Attempts = o.Worker, o.Attempt
}

// setResult records a successful result by reference.
func (o *StageOutcome) setResult(res *pipeline.Result) error {
	o.Metrics = res.Metrics
	if o.Metrics == nil {
		o.Metrics = pipeline.Metrics{}
	}
	o.Artifacts = RefOf(res).Artifacts
	if res.Details != nil {
		d, err := json.Marshal(res.Details)
		if err != nil {
			return err
		}
		o.Details = d
	}
	return nil
}

// RefArtifact returns an artifact known by its kind and digest only: what
// a distributed executor's scheduler holds of a result (the bytes stay in
// the store).
func RefArtifact(kind, digest string) pipeline.Artifact {
	return lockedArtifact{kind: kind, digest: digest}
}
