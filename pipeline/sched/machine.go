package sched

import (
	"errors"
	"time"

	"github.com/hashicorp/go-hclog"

	"lopper/pipeline"
)

// Options configure a Machine.
type Options struct {
	// Jobs bounds how many tasks are started and not yet completed; ≤ 0
	// means 1. Loops, matrices and asserts do not take a slot.
	Jobs int
	// FailFast cancels everything when a stage fails; by default a failure
	// cancels only the stages that depend on it.
	FailFast bool
	// Clock gives the times recorded on stages (time.Now locally,
	// workflow.Now in a workflow); nil records none.
	Clock func() time.Time
	// Log receives the machine's log lines; nil discards them.
	Log func(Note)
	// Delegate, when set, is asked as each iteration of a loop or branch
	// of a matrix starts (owner is the loop or matrix): true makes that
	// scope a Task with Child set, to be run by a machine of its own
	// (NewChild), e.g. in a child workflow; it takes one of the Jobs slots.
	Delegate func(owner *pipeline.Stage) bool
	// KeepArtifacts keeps every result's artifacts (in the states and the
	// records) until the run ends, and lets no stage take an input (tests
	// that inspect the models of a finished run). By default a result's
	// artifacts are dropped as soon as no stage that may still run reads
	// them (see Task.Owned).
	KeepArtifacts bool
}

// Note is a line for the run's log, about one stage instance.
type Note struct {
	Level hclog.Level
	Stage string // the stage's id; the logger is named after it
	Scope []any  // the enclosing iterations and branches ("iteration", 2, "branch", "n=1")
	Msg   string
	Args  []any
}

// Task is one instance of a registered stage kind that the executor must
// run: interpolate its config with Values, take Inputs' results as its
// inputs, and report the outcome as a Completed event with its ID.
type Task struct {
	ID        int
	Stage     *pipeline.Stage
	Path      string         // instance path: "base", "gradual[2]/prune"
	Iteration int            // the innermost enclosing loop's iteration, -1 outside loops
	Matrix    map[string]any // the enclosing matrix branches' values, nil outside matrices
	// Values are what the stage's expressions read (see pipeline.Values).
	Values map[string]any
	// Inputs are the results of the finished stages visible to the stage,
	// by id, with "prev" inside a loop body (the previous iteration's
	// carry, or the loop's from).
	Inputs map[string]*pipeline.Result
	// Owned are the inputs (by id) the stage is the last reader of: it
	// may take their artifacts and change them instead of copying them
	// (see pipeline.StageContext.Take). Never prev, never an input another
	// stage that may still run reads.
	Owned map[string]bool
	// Record is the stage's record: the machine sets its status, result
	// and times; the executor adds what running it shows (config, inputs,
	// files, cache key, the time spent).
	Record *pipeline.StageRecord
	// Scope are the log fields of the enclosing iterations and branches.
	Scope []any
	// Child, when set, makes the task a whole loop iteration or matrix
	// branch (Stage is the loop or matrix, Path its prefix, Record nil):
	// the executor runs it with a machine of its own (NewChild) and
	// reports a ChildCompleted event.
	Child *Child
}

// Actions are what the executor must do after an event: start the tasks in
// Start, in order, and cancel every task still running when CancelRunning is
// set (--fail-fast after a failure). Their completions come back as
// Completed events, also for cancelled ones.
type Actions struct {
	Start         []*Task
	CancelRunning bool
}

// Event is what happened: Completed, ChildCompleted, Interrupted or
// Cancel.
type Event interface{ event() }

// Completed is a task's outcome: its result, or the error it failed with.
// Cached says the result was taken from the stage cache.
type Completed struct {
	Task   int
	Result *pipeline.Result
	Cached bool
	Err    error
}

// Interrupted cancels the run from outside (SIGINT): stages that have not
// started are cancelled; the executor cancels the running tasks itself
// and reports their completions.
type Interrupted struct{}

// Cancel cancels the run from outside with a reason: what a child machine
// is told when the run around it is cancelled (Interrupted is Cancel with
// ReasonInterrupted).
type Cancel struct{ Reason string }

func (Completed) event()      {}
func (ChildCompleted) event() {}
func (Interrupted) event()    {}
func (Cancel) event()         {}

// Cancellation reasons recorded on stages.
const (
	ReasonInterrupted = "interrupted"
	ReasonFailFast    = "cancelled by --fail-fast after a stage failed"
)

// ErrFailFast is the cause an executor cancels running tasks with under
// --fail-fast.
var ErrFailFast = errors.New(ReasonFailFast)

// Machine is one run's scheduling state. It is not safe for concurrent
// use: one goroutine (or one workflow) drives it.
type Machine struct {
	params   map[string]any
	opts     Options
	top      *scopeRun
	baseline *pipeline.Stage
	plans    map[*pipeline.Stage]*scopePlan // by the owner of the scope (nil: the top level)
	scopes   []*scopeRun                    // every scope run, in creation order
	dirty    []*scopeRun                    // scope runs with pending stages that may be resolvable, in order
	ready    []*task                        // tasks waiting for a slot, in order
	running  map[int]*task                  // started tasks by ID
	nextID   int
	cancel   string // why everything is being cancelled; "" while nothing is
	out      Actions
	env      *Env           // a child machine's view of the run around it
	live     map[string]int // how many unreleased results hold an artifact, by digest
}

// task is a Task with where its outcome goes.
type task struct {
	Task
	sr  *scopeRun
	idx int
}

// New returns the machine of one run of r with the given param values (see
// Recipe.ParamValues).
func New(r *pipeline.Recipe, params map[string]any, opts Options) *Machine {
	if opts.Jobs <= 0 {
		opts.Jobs = 1
	}
	m := &Machine{params: params, opts: opts, running: map[int]*task{}, plans: map[*pipeline.Stage]*scopePlan{}, live: map[string]int{}}
	if r.Baseline != "" {
		m.baseline, _ = r.Stage(r.Baseline)
	}
	m.top = m.newScopeRun(r.Stages, nil, nil, "", -1, nil, nil, nil)
	return m
}

// Records returns the run's top-level stage records (the record's
// Stages): the machine fills them in as the run goes.
func (m *Machine) Records() []*pipeline.StageRecord { return m.top.records }

// Start begins the run: the stages that depend on nothing are resolved.
func (m *Machine) Start() Actions { return m.step() }

// Apply records an event and returns what to do next.
func (m *Machine) Apply(ev Event) Actions {
	switch ev := ev.(type) {
	case Completed:
		t, ok := m.running[ev.Task]
		if !ok {
			panic("sched: completion of an unknown task")
		}
		delete(m.running, ev.Task)
		t.sr.completed(t, ev)
	case ChildCompleted:
		t, ok := m.running[ev.Task]
		if !ok || t.Child == nil {
			panic("sched: completion of an unknown child")
		}
		delete(m.running, ev.Task)
		t.sr.childCompleted(ev)
	case Interrupted:
		m.cancelAll(ReasonInterrupted)
	case Cancel:
		m.cancelAll(ev.Reason)
	}
	return m.step()
}

// Done reports whether every stage is final.
func (m *Machine) Done() bool { return m.top.open == 0 }

// Running returns how many started tasks have not completed.
func (m *Machine) Running() int { return len(m.running) }

// Cancelled returns why the run is being cancelled, "" when it is not.
func (m *Machine) Cancelled() string { return m.cancel }

// step resolves every stage that can be, starts ready tasks while slots
// are free, and returns the actions gathered since the last step.
func (m *Machine) step() Actions {
	m.advance()
	for len(m.ready) > 0 && len(m.running) < m.opts.Jobs && m.cancel == "" {
		t := m.ready[0]
		m.ready = m.ready[1:]
		m.running[t.ID] = t
		m.out.Start = append(m.out.Start, &t.Task)
	}
	if len(m.running) == 0 && m.top.open > 0 {
		// Nothing runs and nothing can start: a stage waits for something
		// that will never come. A bug of the machine, never of a recipe.
		panic("sched: the run is stalled with stages not final")
	}
	out := m.out
	m.out = Actions{}
	return out
}

// advance resolves the pending stages whose dependencies are final: it
// looks at the scope runs where something changed since (a stage became
// final, or the scope run is new), first changed first, each in file order,
// until none is left. A run with thousands of matrix branches costs a
// branch's scope per event, not the whole run's.
func (m *Machine) advance() {
	for len(m.dirty) > 0 {
		sr := m.dirty[0]
		m.dirty[0] = nil
		m.dirty = m.dirty[1:]
		sr.dirty = false
		sr.advance()
	}
}

// touch marks a scope run for advance.
func (m *Machine) touch(sr *scopeRun) {
	if !sr.dirty && sr.open > 0 {
		sr.dirty = true
		m.dirty = append(m.dirty, sr)
	}
}

// cancelAll cancels the run: stages not started become cancelled as they
// are reached, tasks waiting for a slot at once. The first reason wins.
func (m *Machine) cancelAll(reason string) {
	if m.cancel != "" {
		return
	}
	m.cancel = reason
	for _, sr := range m.scopes {
		m.touch(sr)
	}
	ready := m.ready
	m.ready = nil
	for _, t := range ready {
		if t.Child != nil {
			t.sr.cancelPending(reason)
			continue
		}
		t.sr.finish(t.idx, pipeline.StageCancelled, nil, reason, nil)
		t.sr.note(hclog.Warn, t.idx, "cancelled", "reason", reason)
	}
}

func (m *Machine) now() time.Time {
	if m.opts.Clock == nil {
		return time.Time{}
	}
	return m.opts.Clock()
}
