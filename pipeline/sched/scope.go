package sched

import (
	"errors"
	"fmt"
	"maps"

	"github.com/hashicorp/go-hclog"

	"lopper/pipeline"
)

// scopeRun is one execution of a scope: the top level, one loop iteration
// or one matrix branch.
type scopeRun struct {
	m         *Machine
	plan      *scopePlan
	parent    *scopeRun
	owner     *pipeline.Stage // the loop or matrix whose body this is; nil at the top
	prefix    string          // instance path prefix, e.g. "gradual[2]/"
	iteration int             // innermost loop iteration, -1 outside loops
	prev      *pipeline.Result
	matrix    map[string]any
	scope     []any // log fields
	records   []*pipeline.StageRecord
	states    []stageState
	open      int    // stages not yet final
	onFinal   func() // called once every stage is final
	dirty     bool   // queued for advance
	delegated bool   // run by a child machine (a Task with Child set)
	index     int    // the loop iteration's or matrix branch's index
}

// scopePlan is a scope's stages with their dependencies as indexes.
type scopePlan struct {
	stages  []*pipeline.Stage
	byID    map[string]int
	deps    [][]int
	readers [][]int // the stages that depend on each (see lifetime.go)
}

type phase int

const (
	pending phase = iota
	started       // waiting for a slot, running, or a loop or matrix in progress
	final
)

// stageState is a stage's state within its scope run.
type stageState struct {
	phase  phase
	status pipeline.StageStatus
	result *pipeline.Result
	// held: a loop may still keep this carry; released: the result's
	// artifacts were dropped (see lifetime.go).
	held, released bool
}

func newPlan(stages []*pipeline.Stage) *scopePlan {
	p := &scopePlan{stages: stages, byID: map[string]int{}, deps: make([][]int, len(stages))}
	for i, s := range stages {
		p.byID[s.ID] = i
	}
	for i, s := range stages {
		for _, d := range s.DependsOn() {
			p.deps[i] = append(p.deps[i], p.byID[d.ID])
		}
	}
	p.readers = readersOf(p.deps)
	return p
}

func (m *Machine) newScopeRun(stages []*pipeline.Stage, parent *scopeRun, owner *pipeline.Stage, prefix string, iteration int, prev *pipeline.Result, matrix map[string]any, scope []any) *scopeRun {
	plan, ok := m.plans[owner]
	if !ok {
		plan = newPlan(stages)
		m.plans[owner] = plan
	}
	sr := &scopeRun{m: m, plan: plan, parent: parent, owner: owner, prefix: prefix, iteration: iteration,
		prev: prev, matrix: matrix, scope: scope, states: make([]stageState, len(stages)), open: len(stages)}
	for _, s := range stages {
		sr.records = append(sr.records, &pipeline.StageRecord{ID: s.ID, Path: prefix + s.ID, Uses: s.Uses, Status: pipeline.StagePending})
	}
	m.scopes = append(m.scopes, sr)
	m.touch(sr)
	return sr
}

// start makes a new scope run's end known to its owner, and hands it to a
// child machine when Options.Delegate says so.
func (sr *scopeRun) start(onFinal func()) {
	sr.onFinal = onFinal
	if sr.open == 0 {
		onFinal()
		return
	}
	if d := sr.m.opts.Delegate; d != nil && sr.owner != nil && d(sr.owner) {
		sr.delegate()
	}
}

// advance resolves every pending stage that can be. A stage that becomes
// final meanwhile queues the scope run again, for the stages after it.
func (sr *scopeRun) advance() {
	if sr.delegated {
		return
	}
	for i := range sr.states {
		if sr.states[i].phase != pending {
			continue
		}
		if sr.m.cancel != "" {
			sr.finish(i, pipeline.StageCancelled, nil, sr.m.cancel, nil)
			continue
		}
		if sr.depsFinal(i) {
			sr.resolve(i)
		}
	}
}

func (sr *scopeRun) depsFinal(i int) bool {
	for _, d := range sr.plan.deps[i] {
		if sr.states[d].phase != final {
			return false
		}
	}
	return true
}

// resolve decides a stage whose dependencies are final: cancelled or
// skipped because of one, skipped by its when, or started.
func (sr *scopeRun) resolve(i int) {
	s := sr.plan.stages[i]
	for _, d := range sr.plan.deps[i] {
		dep := sr.plan.stages[d]
		switch st := sr.states[d].status; st {
		case pipeline.StageFailed, pipeline.StageCancelled:
			reason := fmt.Sprintf("dependency %s %s", dep.ID, st)
			sr.finish(i, pipeline.StageCancelled, nil, reason, nil)
			sr.note(hclog.Warn, i, "cancelled", "reason", reason)
			return
		case pipeline.StageSkipped:
			reason := fmt.Sprintf("dependency %s was skipped", dep.ID)
			sr.finish(i, pipeline.StageSkipped, nil, reason, nil)
			sr.note(hclog.Info, i, "skipped", "reason", reason)
			return
		}
	}
	values := sr.values()
	if s.When != nil {
		ok, err := s.When.EvalBool(values)
		if err != nil {
			sr.fail(i, err)
			return
		}
		if !ok {
			reason := "when is false: " + s.When.Source
			sr.finish(i, pipeline.StageSkipped, nil, reason, nil)
			sr.note(hclog.Info, i, "skipped", "reason", reason)
			return
		}
	}
	rec := sr.records[i]
	rec.Status, rec.Started = pipeline.StageRunning, sr.m.now()
	sr.states[i].phase = started
	switch s.Uses {
	case pipeline.KindLoop:
		sr.startLoop(i)
	case pipeline.KindMatrix:
		sr.startMatrix(i)
	case pipeline.KindAssert:
		if err := s.Gate(values); err != nil {
			sr.fail(i, err)
			return
		}
		sr.succeed(i, &pipeline.Result{Metrics: pipeline.Metrics{}}, pipeline.StageSucceeded)
	default:
		m := sr.m
		m.nextID++
		inputs, owned := sr.inputs(i)
		t := &task{sr: sr, idx: i, Task: Task{ID: m.nextID, Stage: s, Path: rec.Path, Iteration: sr.iteration,
			Matrix: maps.Clone(sr.matrix), Values: values, Inputs: inputs, Owned: owned, Record: rec, Scope: sr.scope}}
		m.ready = append(m.ready, t)
	}
}

// completed records a task's outcome.
func (sr *scopeRun) completed(t *task, ev Completed) {
	switch {
	case ev.Err != nil:
		sr.fail(t.idx, ev.Err)
	case ev.Result == nil:
		sr.fail(t.idx, fmt.Errorf("kind %s returned no result", t.Stage.Uses))
	case ev.Cached:
		sr.succeed(t.idx, ev.Result, pipeline.StageCached)
	default:
		sr.succeed(t.idx, ev.Result, pipeline.StageSucceeded)
	}
}

// succeed makes a stage final with its result and derived metrics.
func (sr *scopeRun) succeed(i int, res *pipeline.Result, status pipeline.StageStatus) {
	sr.finish(i, status, sr.m.withDerived(sr.plan.stages[i], res), "", nil)
	if status == pipeline.StageSucceeded {
		sr.note(hclog.Info, i, "succeeded", "seconds", fmt.Sprintf("%.2f", sr.records[i].Seconds))
	}
}

// fail records a stage error: cancelled when the run is being cancelled,
// failed otherwise (logged once here, with --fail-fast applied).
func (sr *scopeRun) fail(i int, err error) {
	m := sr.m
	if m.cancel != "" {
		sr.finish(i, pipeline.StageCancelled, nil, m.cancel, err)
		sr.note(hclog.Warn, i, "cancelled", "reason", m.cancel)
		return
	}
	sr.finish(i, pipeline.StageFailed, nil, "", err)
	var inner *innerFailure
	var gate *pipeline.GateError
	switch {
	case errors.As(err, &inner):
		sr.note(hclog.Warn, i, "failed", "reason", err) // the root cause was logged by the inner stage
	case errors.As(err, &gate):
		sr.note(hclog.Error, i, "gate failed", "error", err)
	default:
		sr.note(hclog.Error, i, "failed", "error", err)
	}
	if m.opts.FailFast {
		m.cancelAll(ReasonFailFast)
		m.out.CancelRunning = true
	}
}

// innerFailure is a loop's or matrix's error caused by a stage inside it.
type innerFailure struct{ msg string }

func (e *innerFailure) Error() string { return e.msg }

// finish makes a stage final.
func (sr *scopeRun) finish(i int, status pipeline.StageStatus, res *pipeline.Result, reason string, err error) {
	st := &sr.states[i]
	if st.phase == final {
		panic("sched: stage " + sr.records[i].Path + " finished twice")
	}
	st.phase, st.status, st.result = final, status, res
	rec := sr.records[i]
	rec.Status, rec.Reason = status, reason
	if err != nil {
		rec.Error = err.Error()
		var ge *pipeline.GateError
		rec.Gate = errors.As(err, &ge)
	}
	if !rec.Started.IsZero() {
		if rec.Ended.IsZero() {
			rec.Ended = sr.m.now()
		}
		rec.Seconds = rec.Ended.Sub(rec.Started).Seconds()
	}
	if res != nil {
		rec.SetResult(res)
		sr.m.hold(res)
	}
	sr.released(i)
	sr.open--
	sr.m.touch(sr)
	if sr.open == 0 && sr.onFinal != nil {
		sr.onFinal()
	}
}

// final returns a stage's result if it succeeded (or was cached).
func (st *stageState) final() (*pipeline.Result, bool) {
	ok := st.phase == final && st.result != nil && (st.status == pipeline.StageSucceeded || st.status == pipeline.StageCached)
	if !ok {
		return nil, false
	}
	return st.result, true
}

// failure returns an error naming the first stage of a finished scope run
// that failed or was cancelled, or nil.
func (sr *scopeRun) failure() error {
	for i, s := range sr.plan.stages {
		switch st := sr.states[i].status; st {
		case pipeline.StageFailed:
			return fmt.Errorf("stage %s failed", s.ID)
		case pipeline.StageCancelled:
			if sr.m.cancel != "" {
				return errors.New(sr.m.cancel)
			}
			return fmt.Errorf("stage %s was cancelled", s.ID)
		}
	}
	return nil
}

// statusOf is the status of a loop iteration or matrix branch that did not
// succeed.
func (m *Machine) statusOf() pipeline.StageStatus {
	if m.cancel != "" {
		return pipeline.StageCancelled
	}
	return pipeline.StageFailed
}

// note logs a line about stage i of this scope.
func (sr *scopeRun) note(level hclog.Level, i int, msg string, args ...any) {
	if sr.m.opts.Log != nil {
		sr.m.opts.Log(Note{Level: level, Stage: sr.plan.stages[i].ID, Scope: sr.scope, Msg: msg, Args: args})
	}
}
