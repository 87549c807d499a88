package pipeline

import (
	"encoding/json"
	"time"
)

// RecordFile is the run record's file name inside a run directory.
const RecordFile = "run.json"

// RecordSchema is the version of run.json's layout.
const RecordSchema = 1

// RunStatus is the outcome of a run.
type RunStatus string

// Run statuses.
const (
	RunRunning     RunStatus = "running"
	RunSucceeded   RunStatus = "succeeded"
	RunFailed      RunStatus = "failed"      // a stage failed (exit code 1)
	RunGateFailed  RunStatus = "gate_failed" // only assert gates failed (exit code 3)
	RunInterrupted RunStatus = "interrupted" // SIGINT/SIGTERM (exit code 130)
)

// StageStatus is the outcome of one stage.
type StageStatus string

// Stage statuses. Cached is set by the stage cache (issue 7).
const (
	StagePending   StageStatus = "pending"
	StageRunning   StageStatus = "running"
	StageSucceeded StageStatus = "succeeded"
	StageFailed    StageStatus = "failed"
	StageSkipped   StageStatus = "skipped"   // `when` was false, or a dependency was skipped
	StageCancelled StageStatus = "cancelled" // a dependency failed, --fail-fast, or interrupted
	StageCached    StageStatus = "cached"
)

// RunRecord is run.json: everything needed to understand and reproduce a
// run. It is rewritten atomically whenever a stage finishes.
type RunRecord struct {
	Schema      int            `json:"schema"`
	Name        string         `json:"name"`
	Description string         `json:"description,omitempty"`
	Status      RunStatus      `json:"status"`
	Error       string         `json:"error,omitempty"` // why the run did not succeed
	Started     time.Time      `json:"started"`
	Ended       time.Time      `json:"ended,omitzero"`
	Seconds     float64        `json:"seconds"`
	RunDir      string         `json:"run_dir"`
	Recipe      RecipeRecord   `json:"recipe"`
	Params      []ParamValue   `json:"params"`
	Lopper      string         `json:"lopper_version"`
	Go          string         `json:"go_version"`
	Platform    string         `json:"platform"`
	Jobs        int            `json:"jobs"`
	FailFast    bool           `json:"fail_fast,omitempty"`
	Stages      []*StageRecord `json:"stages"`

	// Build and Numerics identify the program and how this machine
	// computes floats; both are part of every cache key (see RunOptions).
	Build    string `json:"build,omitempty"`
	Numerics string `json:"numerics,omitempty"`
	// CacheDir is the stage cache's directory, "" when the run had none or
	// kept its cache in a store (Store).
	CacheDir string `json:"cache_dir,omitempty"`
	// Store is the URL of the store the stage cache was in (see
	// OpenCacheURL), "" for a local directory or none.
	Store string `json:"store,omitempty"`
	// Resumed lists the earlier attempts of this run that --resume
	// continued, oldest first.
	Resumed []AttemptRecord `json:"resumed,omitempty"`
}

// AttemptRecord is an earlier attempt of a resumed run. Status "running"
// means that the process died without recording an outcome.
type AttemptRecord struct {
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended,omitzero"`
	Status  RunStatus `json:"status"`
	Error   string    `json:"error,omitempty"`
}

// RecipeRecord is the recipe as run: verbatim, plus where it was.
type RecipeRecord struct {
	File     string `json:"file"`
	Digest   string `json:"digest"`
	Baseline string `json:"baseline,omitempty"`
	Text     string `json:"text"`
}

// ParamValue is a resolved param.
type ParamValue struct {
	Name   string    `json:"name"`
	Type   ParamType `json:"type"`
	Value  any       `json:"value"`
	Source string    `json:"source"` // "default" or "--set"
}

// StageRecord is one stage's outcome. Loops hold one record list per
// iteration and matrices one per branch.
type StageRecord struct {
	ID           string                    `json:"id"`
	Path         string                    `json:"path"` // e.g. "gradual[2]/prune"
	Uses         string                    `json:"uses"`
	Status       StageStatus               `json:"status"`
	Reason       string                    `json:"reason,omitempty"` // why skipped or cancelled
	Error        string                    `json:"error,omitempty"`
	Gate         bool                      `json:"gate,omitempty"` // a failed assert gate
	Started      time.Time                 `json:"started,omitzero"`
	Ended        time.Time                 `json:"ended,omitzero"`
	Seconds      float64                   `json:"seconds,omitempty"`
	Config       json.RawMessage           `json:"config,omitempty"` // resolved config
	ConfigDigest string                    `json:"config_digest,omitempty"`
	Inputs       []InputRecord             `json:"inputs,omitempty"`
	Files        []FileRecord              `json:"files,omitempty"`         // files read, with their digests
	CacheKey     string                    `json:"cache_key,omitempty"`     // "" for volatile stages
	Volatile     bool                      `json:"volatile,omitempty"`      // never cached
	SavedSeconds float64                   `json:"saved_seconds,omitempty"` // cached: what computing it took
	Metrics      Metrics                   `json:"metrics,omitempty"`
	Artifacts    map[string]ArtifactRecord `json:"artifacts,omitempty"`
	Details      any                       `json:"details,omitempty"`
	Worker       string                    `json:"worker,omitempty"`   // who ran it (a distributed executor's worker identity)
	Attempts     int                       `json:"attempts,omitempty"` // how many times it was tried (a distributed executor retries)
	Loop         *LoopRecord               `json:"loop,omitempty"`
	Matrix       *MatrixRecord             `json:"matrix,omitempty"`

	result *Result
}

// Result returns the stage's result in memory (nil unless it succeeded):
// its typed details, and its artifacts while a stage that may still run
// reads them (afterwards they are known by kind and digest only), or for
// the whole run when the executor keeps them (runner.Options.KeepArtifacts).
// Stages read their inputs' artifacts through StageContext, not here.
func (s *StageRecord) Result() *Result { return s.result }

// SetResult records a finished stage's result: its metrics, details and
// artifact digests, and the result itself (see Result).
func (s *StageRecord) SetResult(res *Result) {
	s.Metrics, s.Details, s.result = res.Metrics, res.Details, res
	s.Artifacts = map[string]ArtifactRecord{}
	for name, a := range res.Artifacts {
		s.Artifacts[name] = ArtifactRecord{Kind: a.Kind(), Digest: a.Digest()}
	}
}

// InputRecord is an artifact a stage read.
type InputRecord struct {
	Stage    string `json:"stage"`
	Artifact string `json:"artifact"`
	Kind     string `json:"kind"`
	Digest   string `json:"digest"`
}

// FileRecord is a file or directory a stage read, with the digest of its
// contents.
type FileRecord struct {
	Path   string `json:"path"`
	Digest string `json:"digest"`
}

// ArtifactRecord identifies an artifact in the record.
type ArtifactRecord struct {
	Kind   string `json:"kind"`
	Digest string `json:"digest"`
}

// LoopRecord is a loop's iterations and why it stopped.
type LoopRecord struct {
	MaxIterations int                `json:"max_iterations"`
	Until         string             `json:"until,omitempty"`
	Keep          string             `json:"keep"`
	Iterations    []*IterationRecord `json:"iterations"`
	Kept          *int               `json:"kept,omitempty"` // index of the kept iteration
	StopReason    string             `json:"stop_reason,omitempty"`
}

// IterationRecord is one loop iteration.
type IterationRecord struct {
	Index  int            `json:"index"`
	Status StageStatus    `json:"status"`
	Until  *bool          `json:"until,omitempty"` // nil when not evaluated
	Stages []*StageRecord `json:"stages"`
}

// MatrixRecord is a matrix's branches.
type MatrixRecord struct {
	Axes     []string        `json:"axes"`
	Branches []*BranchRecord `json:"branches"`
}

// BranchRecord is one matrix branch.
type BranchRecord struct {
	Index  int            `json:"index"`
	Label  string         `json:"label"`
	Values map[string]any `json:"values"`
	Status StageStatus    `json:"status"`
	Stages []*StageRecord `json:"stages"`
}

// Clone deep-copies the record tree (results are shared: they are
// immutable).
func (r *RunRecord) Clone() *RunRecord {
	c := *r
	c.Params = append([]ParamValue(nil), r.Params...)
	c.Resumed = append([]AttemptRecord(nil), r.Resumed...)
	c.Stages = cloneStages(r.Stages)
	return &c
}

func cloneStages(list []*StageRecord) []*StageRecord {
	if list == nil {
		return nil
	}
	out := make([]*StageRecord, len(list))
	for i, s := range list {
		out[i] = s.clone()
	}
	return out
}

func (s *StageRecord) clone() *StageRecord {
	c := *s
	c.Inputs = append([]InputRecord(nil), s.Inputs...)
	c.Files = append([]FileRecord(nil), s.Files...)
	if s.Loop != nil {
		l := *s.Loop
		l.Iterations = make([]*IterationRecord, len(s.Loop.Iterations))
		for i, it := range s.Loop.Iterations {
			ic := *it
			ic.Stages = cloneStages(it.Stages)
			l.Iterations[i] = &ic
		}
		c.Loop = &l
	}
	if s.Matrix != nil {
		m := *s.Matrix
		m.Branches = make([]*BranchRecord, len(s.Matrix.Branches))
		for i, b := range s.Matrix.Branches {
			bc := *b
			bc.Stages = cloneStages(b.Stages)
			m.Branches[i] = &bc
		}
		c.Matrix = &m
	}
	return &c
}

// Find returns the top-level stage record with the given id.
func (r *RunRecord) Find(id string) (*StageRecord, bool) {
	for _, s := range r.Stages {
		if s.ID == id {
			return s, true
		}
	}
	return nil, false
}

// Children returns the stages of a loop's iterations or a matrix's
// branches, in order (not their nested stages).
func (s *StageRecord) Children() []*StageRecord {
	var out []*StageRecord
	if s.Loop != nil {
		for _, it := range s.Loop.Iterations {
			out = append(out, it.Stages...)
		}
	}
	if s.Matrix != nil {
		for _, b := range s.Matrix.Branches {
			out = append(out, b.Stages...)
		}
	}
	return out
}

// WalkNested calls fn for every stage nested in s (in its loop's
// iterations or its matrix's branches, at any depth), in order.
func (s *StageRecord) WalkNested(fn func(*StageRecord)) { walkStages(s.Children(), fn) }

// Walk calls fn for every stage record, nested ones included, in order.
func (r *RunRecord) Walk(fn func(*StageRecord)) { walkStages(r.Stages, fn) }

func walkStages(list []*StageRecord, fn func(*StageRecord)) {
	for _, s := range list {
		fn(s)
		if s.Loop != nil {
			for _, it := range s.Loop.Iterations {
				walkStages(it.Stages, fn)
			}
		}
		if s.Matrix != nil {
			for _, b := range s.Matrix.Branches {
				walkStages(b.Stages, fn)
			}
		}
	}
}
