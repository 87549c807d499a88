package temporal

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"lopper/pipeline"
	"lopper/pipeline/runner"
	"lopper/pipeline/sched"
)

// Names registered with Temporal.
const (
	// WorkflowRun is the workflow that runs one recipe run.
	WorkflowRun = "lopper.run"
	// ActivityStage is the stage activity (runner.RunTask on a worker).
	ActivityStage = "lopper.stage"
	// QueryProgress returns a run's Progress from a note index on.
	QueryProgress = "lopper.progress"
	// SignalStopped tells the workflow that a cancelled stage's activity
	// has returned (only with Plan.StopSignals).
	SignalStopped = "lopper.stopped"
	// WorkflowScope is the child workflow that runs one loop iteration or
	// matrix branch of a run (Workflows.Scope).
	WorkflowScope = "lopper.scope"
	// SignalCancel tells a child workflow that the run is cancelled, and
	// why (the reason its stages record).
	SignalCancel = "lopper.cancel"
)

// Error types of a failed stage activity (temporal.ApplicationError's
// type): "lopper." and the outcome's class.
const (
	ErrInvalidConfig = "lopper." + runner.ClassInvalidConfig
	ErrGate          = "lopper." + runner.ClassGate
	ErrTransient     = "lopper." + runner.ClassTransient
)

// DefaultQueue is the queue of stages without runs_on.
const DefaultQueue = "cpu"

// Queues names the task queues of one build of lopper: workers only take
// tasks of their own build, so a run is only ever replayed and run by the
// code it started with, and a cache key's build is the worker's too.
type Queues struct {
	Prefix string `json:"prefix"` // "lopper.BUILD."
	// Client is the queue of the run's own process (lopper run), where
	// volatile stages without runs_on run: they write the run directory
	// or read the run record, which are there. "" sends them to the
	// default queue.
	Client string `json:"client,omitempty"`
}

// QueuesOf returns the queues of a build.
func QueuesOf(build string) Queues {
	clean := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_', r == '+':
			return r
		}
		return '_'
	}, build)
	return Queues{Prefix: "lopper." + clean + "."}
}

// Workflow is the queue the run workflows are served on.
func (q Queues) Workflow() string { return q.Prefix + "workflow" }

// Stage is the queue a stage's activity goes to: runs_on, else the run's
// own process for a volatile stage, else the default queue.
func (q Queues) Stage(s *pipeline.Stage) string {
	switch {
	case s.RunsOn != "":
		return q.Prefix + s.RunsOn
	case s.Volatile() && q.Client != "":
		return q.Client
	}
	return q.Prefix + DefaultQueue
}

// Named returns the full name of the queue called name (--queue, runs_on).
func (q Queues) Named(name string) string { return q.Prefix + name }

// RecipeSource is what a worker compiles the run's recipe from: the run
// record as it started (run.json without stages: the recipe's text, its
// params), where the recipe was and the working directory of `lopper run`.
type RecipeSource struct {
	Header  json.RawMessage `json:"header"`
	File    string          `json:"file"`
	WorkDir string          `json:"work_dir"`
	// Inputs are the files and directories the recipe reads, uploaded to
	// the run's store (UploadInputs).
	Inputs []InputFile `json:"inputs,omitempty"`
}

// compile compiles the recipe of src with reg's kinds.
func (src RecipeSource) compile(reg *pipeline.Registry) (*pipeline.Recipe, error) {
	return runner.Recompile(src.Header, src.File, src.WorkDir, reg)
}

// Plan is the workflow's input: one run.
type Plan struct {
	Recipe   RecipeSource      `json:"recipe"`
	RunDir   string            `json:"run_dir"`
	Paths    pipeline.RunPaths `json:"paths"`
	Jobs     int               `json:"jobs"`
	FailFast bool              `json:"fail_fast,omitempty"`
	// Store is the URL of the store that artifacts travel through; Cache
	// says whether it is also the stage cache (no --no-cache).
	Store  string `json:"store"`
	Cache  bool   `json:"cache"`
	Queues Queues `json:"queues"`
	// Grace is how long cancelled stages get to stop before the run is
	// recorded without them.
	Grace time.Duration `json:"grace"`
	// Heartbeat is the activities' heartbeat timeout: a worker that dies
	// is noticed after it, and the stage retried elsewhere.
	Heartbeat time.Duration `json:"heartbeat"`
	// StageTimeout bounds one attempt of a stage.
	StageTimeout time.Duration `json:"stage_timeout"`
	// Attempts bounds how many times a stage is tried (≥ 1); RetryInterval
	// is the wait before the first retry (doubled each time).
	Attempts      int           `json:"attempts"`
	RetryInterval time.Duration `json:"retry_interval"`
	// Interrupted: the run was interrupted before it started.
	Interrupted bool `json:"interrupted,omitempty"`
	// StopSignals: a cancelled activity's end is signalled (SignalStopped)
	// instead of awaited by Temporal (the SDK's test environment does not
	// wait for cancelled activities).
	StopSignals bool `json:"stop_signals,omitempty"`
	// ChildEvents: a loop or matrix whose stages would cost its workflow's
	// history more events than this (about six a stage) runs each of its
	// iterations or branches as a child workflow (0: DefaultChildEvents;
	// < 0: always).
	ChildEvents int `json:"child_events,omitempty"`
	// HistoryEvents: a workflow whose tasks have cost its history about
	// this many events continues as new (0: DefaultHistoryEvents).
	HistoryEvents int `json:"history_events,omitempty"`
	// Carry is the state a workflow continued as new with; nil at first.
	Carry *Carry `json:"carry,omitempty"`
}

// Plan defaults.
const (
	DefaultHeartbeat     = 10 * time.Second
	DefaultStageTimeout  = 7 * 24 * time.Hour
	DefaultAttempts      = 3
	DefaultRetryInterval = 5 * time.Second
)

func (p *Plan) withDefaults() {
	if p.Jobs < 1 {
		p.Jobs = 1
	}
	if p.Heartbeat <= 0 {
		p.Heartbeat = DefaultHeartbeat
	}
	if p.StageTimeout <= 0 {
		p.StageTimeout = DefaultStageTimeout
	}
	if p.Attempts < 1 {
		p.Attempts = DefaultAttempts
	}
	if p.RetryInterval <= 0 {
		p.RetryInterval = DefaultRetryInterval
	}
	if p.Grace <= 0 {
		p.Grace = 10 * time.Second
	}
	if p.HistoryEvents <= 0 {
		p.HistoryEvents = DefaultHistoryEvents
	}
}

// ActivityTask is the stage activity's input: one stage task and what a
// worker needs to run it.
type ActivityTask struct {
	ID     int              `json:"id"` // the scheduling machine's task id
	Task   runner.StageTask `json:"task"`
	Recipe RecipeSource     `json:"recipe"`
	Store  string           `json:"store"`
	Cache  bool             `json:"cache"`
	// Root is the run workflow's id (the stage may run in a child's), which
	// names the run's large payloads in the store (Payloads).
	Root string `json:"root,omitempty"`
}

// Heartbeat is what a stage activity heartbeats: which stage instance,
// who runs it and how far it got (StageContext.Progress); `lopper run`
// shows it as the stage's progress lines.
type Heartbeat struct {
	Stage   string      `json:"stage,omitempty"`
	Path    string      `json:"path,omitempty"`
	Scope   runner.List `json:"scope,omitempty"`
	Worker  string      `json:"worker"`
	Attempt int         `json:"attempt"`
	Done    int         `json:"done,omitempty"`
	Total   int         `json:"total,omitempty"`
	Unit    string      `json:"unit,omitempty"`
}

// Note is a line of the run's log, made by the workflow (the scheduling
// machine's notes and the stages' outcomes), for `lopper run` to print.
type Note struct {
	Level string      `json:"level"`
	Stage string      `json:"stage,omitempty"`
	Scope runner.List `json:"scope,omitempty"`
	Msg   string      `json:"msg"`
	Args  runner.List `json:"args,omitempty"`
}

// noteOf turns a machine's note into data: arguments that are not plain
// values become their text.
func noteOf(n sched.Note) Note {
	args := make(runner.List, len(n.Args))
	for i, a := range n.Args {
		switch v := a.(type) {
		case string, int, float64, bool:
			args[i] = v
		case error:
			args[i] = v.Error()
		default:
			args[i] = fmt.Sprint(v)
		}
	}
	return Note{Level: n.Level.String(), Stage: n.Stage, Scope: runner.List(n.Scope), Msg: n.Msg, Args: args}
}

// Log writes the note to the run's logger, as the local executor would.
func (n Note) Log(log hclog.Logger) {
	l := log.With(n.Scope...)
	if n.Stage != "" {
		l = l.Named(n.Stage)
	}
	l.Log(hclog.LevelFromString(n.Level), n.Msg, n.Args...)
}

// Progress is the answer to QueryProgress: the notes from the asked index
// on, and the stages' records as they stand.
type Progress struct {
	Notes   []Note                  `json:"notes"`
	Next    int                     `json:"next"`    // the index to ask from next time
	Version int                     `json:"version"` // of the stages' records
	Stages  []*pipeline.StageRecord `json:"stages"`  // nil when still at the version asked with
}

// Result is the workflow's result: the stages' records, final.
type Result struct {
	Stages []*pipeline.StageRecord `json:"stages"`
	// Abandoned: cancelled stages did not stop within the grace period.
	Abandoned bool `json:"abandoned,omitempty"`
}

// errNoRecipe wraps a recipe that does not compile on the worker.
var errNoRecipe = errors.New("the run's recipe does not compile on this worker")
