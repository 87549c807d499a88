package sched

import (
	"maps"

	"lopper/pipeline"
)

// Child is a loop iteration or matrix branch that a machine hands to a
// machine of its own (Options.Delegate): the body of Owner, run as it
// would have run inline, with what it would have seen of the run around
// it. Its records and results come back as a ChildCompleted event.
type Child struct {
	Owner     *pipeline.Stage // the loop or matrix
	Index     int             // the iteration or branch
	Prefix    string          // its stages' path prefix, e.g. "sweep[2]/"
	Iteration int             // the innermost loop's iteration, -1 outside loops
	// Prev is a loop iteration's prev (the previous carry, or the loop's
	// from); nil for a branch.
	Prev   *pipeline.Result
	Matrix map[string]any // the enclosing branches' values
	Scope  []any          // log fields
	Env    Env
}

// Env is what a child machine sees of the run around its scope: the
// finished stages visible from it, the prev its expressions read, the
// innermost loop's prev (its input), and the baseline's result (for
// derived metrics). A scope that is delegated depends on nothing that is
// not final yet: its owner started after every stage its body reads.
type Env struct {
	Results   map[string]*pipeline.Result
	Prev      *pipeline.Result
	InputPrev *pipeline.Result
	PrevKnown bool // InputPrev is the innermost loop's prev (nil: it has none)
	Baseline  *pipeline.Result
}

// ChildCompleted is a child machine's outcome: the records of its scope's
// stages (its Records, in order) with their results (nil where a stage
// did not succeed), and why it was cancelled ("" when it was not: its own
// --fail-fast cancels the whole run, as it would have inline).
type ChildCompleted struct {
	Task      int
	Records   []*pipeline.StageRecord
	Results   []*pipeline.Result
	Cancelled string
}

// NewChild returns the machine of a delegated scope: c's body, its stages'
// records (Records) filled in as the body runs, as the parent machine
// would have.
func NewChild(r *pipeline.Recipe, params map[string]any, c *Child, opts Options) *Machine {
	if opts.Jobs <= 0 {
		opts.Jobs = 1
	}
	env := c.Env
	m := &Machine{params: params, opts: opts, running: map[int]*task{}, plans: map[*pipeline.Stage]*scopePlan{}, env: &env, live: map[string]int{}}
	if r.Baseline != "" {
		m.baseline, _ = r.Stage(r.Baseline)
	}
	m.top = m.newScopeRun(c.Owner.Body, nil, c.Owner, c.Prefix, c.Iteration, c.Prev, c.Matrix, c.Scope)
	if c.Owner.Uses == pipeline.KindLoop {
		// The iteration's carry goes back to the parent's loop, which
		// decides whether to keep it: the child never releases it.
		m.top.states[m.top.plan.byID[c.Owner.Loop().Carry.ID]].held = true
	}
	return m
}

// delegate makes a new scope run a Task for a child machine.
func (sr *scopeRun) delegate() {
	m := sr.m
	sr.delegated = true
	env := Env{}
	if sr.parent != nil {
		env = sr.parent.view()
	}
	env.Baseline, _ = m.baselineResult()
	m.nextID++
	c := &Child{Owner: sr.owner, Index: sr.index, Prefix: sr.prefix, Iteration: sr.iteration, Prev: sr.prev,
		Matrix: maps.Clone(sr.matrix), Scope: sr.scope, Env: env}
	t := &task{sr: sr, idx: -1, Task: Task{ID: m.nextID, Stage: sr.owner, Path: sr.prefix, Iteration: sr.iteration,
		Matrix: c.Matrix, Scope: sr.scope, Child: c}}
	m.ready = append(m.ready, t)
}

// childCompleted fills a delegated scope run in with what its child
// machine recorded, as if it had run here, and ends it.
func (sr *scopeRun) childCompleted(ev ChildCompleted) {
	m := sr.m
	if len(ev.Records) != len(sr.records) {
		panic("sched: a child reported " + sr.prefix + " with the wrong number of stages")
	}
	if ev.Cancelled == ReasonFailFast && m.opts.FailFast {
		m.cancelAll(ReasonFailFast)
		m.out.CancelRunning = true
	}
	for i, rec := range ev.Records {
		st := &sr.states[i]
		st.phase, st.status, st.result = final, rec.Status, nil
		if rec.Status == pipeline.StageRunning || rec.Status == pipeline.StagePending {
			// The child abandoned it (it did not stop after a cancellation):
			// its record says so; here it counts as cancelled.
			st.status = pipeline.StageCancelled
		}
		*sr.records[i] = *rec
		if i < len(ev.Results) && ev.Results[i] != nil {
			st.result = ev.Results[i]
			sr.records[i].SetResult(st.result)
		}
	}
	sr.open = 0
	if sr.onFinal != nil {
		sr.onFinal()
	}
}

// cancelPending cancels every stage of a delegated scope run whose child
// never started.
func (sr *scopeRun) cancelPending(reason string) {
	for i := range sr.states {
		if sr.states[i].phase != final {
			sr.finish(i, pipeline.StageCancelled, nil, reason, nil)
		}
	}
}

// Results returns the results of the top-level stages, in the order of
// Records: nil where a stage did not succeed (or is not final).
func (m *Machine) Results() []*pipeline.Result {
	out := make([]*pipeline.Result, len(m.top.states))
	for i := range m.top.states {
		out[i], _ = m.top.states[i].final()
	}
	return out
}
