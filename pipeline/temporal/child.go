package temporal

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/workflow"

	"lopper/pipeline"
	"lopper/pipeline/runner"
	"lopper/pipeline/sched"
)

// ScopeTask is the child workflow's input: one loop iteration or matrix
// branch (a sched.Child) as data, results by reference.
type ScopeTask struct {
	Plan      Plan             `json:"plan"`
	Root      string           `json:"root"`  // the run workflow's id
	Owner     string           `json:"owner"` // the loop's or matrix's id
	Index     int              `json:"index"`
	Prefix    string           `json:"prefix"`
	Iteration int              `json:"iteration"`
	Prev      *runner.InputRef `json:"prev,omitempty"`
	Matrix    runner.Values    `json:"matrix,omitempty"`
	Scope     runner.List      `json:"scope,omitempty"`
	Env       ScopeEnv         `json:"env"`
	// Record is the run record as the scope started (JSON), when a stage of
	// its body reads it (a volatile one).
	Record []*pipeline.StageRecord `json:"record,omitempty"`
	// Cancel: the run was being cancelled, for this reason, when the
	// scope started.
	Cancel string `json:"cancel,omitempty"`
}

// ScopeEnv is sched.Env by reference.
type ScopeEnv struct {
	Results   map[string]runner.InputRef `json:"results,omitempty"`
	Prev      *runner.InputRef           `json:"prev,omitempty"`
	InputPrev *runner.InputRef           `json:"input_prev,omitempty"`
	PrevKnown bool                       `json:"prev_known,omitempty"`
	Baseline  *runner.InputRef           `json:"baseline,omitempty"`
}

// ScopeResult is the child workflow's result: its scope's stage records,
// why it was cancelled, and its log's notes (the run's client asks only
// the run workflow for them).
type ScopeResult struct {
	Records   []*pipeline.StageRecord `json:"records"`
	Cancelled string                  `json:"cancelled,omitempty"`
	Notes     []Note                  `json:"notes,omitempty"`
	Abandoned bool                    `json:"abandoned,omitempty"`
}

// Completion is a task's outcome as the workflow applies it (and carries
// it over a continue-as-new): a stage activity's or a child workflow's.
type Completion struct {
	ID      int                  `json:"id"`
	Outcome *runner.StageOutcome `json:"outcome,omitempty"`
	Child   *ScopeResult         `json:"child,omitempty"`
}

// Scope is the child workflow (WorkflowScope): it runs one loop iteration
// or matrix branch of a run as the run workflow would have run it inline,
// with a machine of its own (sched.NewChild), and returns its records. A
// signal SignalCancel cancels it, with the reason the run was cancelled.
func (w *Workflows) Scope(ctx workflow.Context, task ScopeTask) (*ScopeResult, error) {
	run, err := w.newRun(ctx, &task.Plan, &task)
	if err != nil {
		return nil, err
	}
	out, err := run.run(ctx)
	if err != nil || out == nil {
		return nil, err
	}
	return &ScopeResult{Records: out.Records, Cancelled: run.m.Cancelled(), Notes: run.notes, Abandoned: out.Abandoned}, nil
}

// scopeTaskOf is the child workflow's input for a delegated scope.
func (w *wfRun) scopeTaskOf(t *sched.Task) *ScopeTask {
	c := t.Child
	plan := *w.plan
	plan.Carry, plan.Interrupted = nil, false
	st := &ScopeTask{Plan: plan, Root: w.root, Owner: c.Owner.ID, Index: c.Index, Prefix: c.Prefix, Iteration: c.Iteration,
		Prev: refOrNil(c.Prev), Matrix: runner.Values(c.Matrix), Scope: runner.List(c.Scope), Cancel: w.m.Cancelled(),
		Env: ScopeEnv{Prev: refOrNil(c.Env.Prev), InputPrev: refOrNil(c.Env.InputPrev), PrevKnown: c.Env.PrevKnown, Baseline: refOrNil(c.Env.Baseline)}}
	if len(c.Env.Results) > 0 {
		st.Env.Results = make(map[string]runner.InputRef, len(c.Env.Results))
		for _, id := range slices.Sorted(maps.Keys(c.Env.Results)) {
			st.Env.Results[id] = runner.RefOf(c.Env.Results[id])
		}
	}
	if readsRecord(c.Owner.Body) {
		st.Record = w.m.Records()
		if w.scope != nil {
			st.Record = w.scope.graft(st.Record)
		}
	}
	return st
}

// child is the sched.Child the task describes, in the recipe r.
func (st *ScopeTask) child(r *pipeline.Recipe) (*sched.Child, error) {
	owner, ok := r.Stage(st.Owner)
	if !ok || len(owner.Body) == 0 {
		return nil, fmt.Errorf("the recipe has no loop or matrix %q", st.Owner)
	}
	c := &sched.Child{Owner: owner, Index: st.Index, Prefix: st.Prefix, Iteration: st.Iteration, Prev: resultOrNil(st.Prev),
		Matrix: map[string]any(st.Matrix), Scope: []any(st.Scope),
		Env: sched.Env{Prev: resultOrNil(st.Env.Prev), InputPrev: resultOrNil(st.Env.InputPrev), PrevKnown: st.Env.PrevKnown, Baseline: resultOrNil(st.Env.Baseline)}}
	c.Env.Results = make(map[string]*pipeline.Result, len(st.Env.Results))
	for id, ref := range st.Env.Results {
		c.Env.Results[id] = resultOf(ref)
	}
	return c, nil
}

// graft returns the run record's stages as the scope started with the
// scope's own records in their place (a copy: the record is not changed).
func (st *ScopeTask) graft(own []*pipeline.StageRecord) []*pipeline.StageRecord {
	rec := (&pipeline.RunRecord{Stages: st.Record}).Clone()
	owner := strings.TrimSuffix(st.Prefix, fmt.Sprintf("[%d]/", st.Index))
	rec.Walk(func(s *pipeline.StageRecord) {
		if s.Path != owner {
			return
		}
		switch {
		case s.Matrix != nil && st.Index < len(s.Matrix.Branches):
			s.Matrix.Branches[st.Index].Stages = own
		case s.Loop != nil:
			for _, it := range s.Loop.Iterations {
				if it.Index == st.Index {
					it.Stages = own
					return
				}
			}
			s.Loop.Iterations = append(s.Loop.Iterations, &pipeline.IterationRecord{Index: st.Index, Status: pipeline.StageRunning, Stages: own})
		}
	})
	return rec.Stages
}

// event is the machine's event for the child's result.
func (r *ScopeResult) event(id int) sched.ChildCompleted {
	ev := sched.ChildCompleted{Task: id, Records: r.Records, Cancelled: r.Cancelled, Results: make([]*pipeline.Result, len(r.Records))}
	for i, rec := range r.Records {
		if rec.Status == pipeline.StageSucceeded || rec.Status == pipeline.StageCached {
			ev.Results[i] = resultOf(runner.InputRef{Metrics: rec.Metrics, Artifacts: rec.Artifacts})
			ev.Results[i].Details = rec.Details
		}
	}
	return ev
}

// startChild starts a delegated scope's child workflow; its result comes
// back on w.done. It is started in the disconnected context: a cancelled
// run tells its children why (SignalCancel) and waits for their records.
func (w *wfRun) startChild(dctx workflow.Context, t *sched.Task) {
	st := w.scopeTaskOf(t)
	opts := workflow.ChildWorkflowOptions{
		WorkflowID:        w.root + "/" + strings.TrimSuffix(st.Prefix, "/"),
		TaskQueue:         w.plan.Queues.Workflow(),
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_TERMINATE,
	}
	w.addNote(Note{Level: "debug", Stage: t.Stage.ID, Scope: runner.List(t.Scope), Msg: "child workflow started", Args: runner.List{"workflow_id", opts.WorkflowID}})
	f := workflow.ExecuteChildWorkflow(workflow.WithChildOptions(dctx, opts), WorkflowScope, st)
	w.children[t.ID] = f
	workflow.Go(dctx, func(gctx workflow.Context) {
		var res ScopeResult
		if err := f.Get(gctx, &res); err != nil {
			res = *w.lostScope(t, st, err)
		}
		w.done.Send(gctx, Completion{ID: t.ID, Child: &res})
	})
}

// lostScope is the result of a child workflow that failed (it does not:
// its stages' failures are in its records), was terminated or timed out:
// its stages not final are failed with the error.
func (w *wfRun) lostScope(t *sched.Task, st *ScopeTask, err error) *ScopeResult {
	res := &ScopeResult{Cancelled: w.m.Cancelled()}
	for _, s := range t.Child.Owner.Body {
		rec := &pipeline.StageRecord{ID: s.ID, Path: st.Prefix + s.ID, Uses: s.Uses, Status: pipeline.StageFailed,
			Error: "the child workflow of " + st.Prefix + " failed: " + err.Error()}
		if res.Cancelled != "" {
			rec.Status, rec.Reason, rec.Error = pipeline.StageCancelled, res.Cancelled, ""
		}
		res.Records = append(res.Records, rec)
	}
	return res
}

// cancelChildren tells the running children why the run is cancelled.
func (w *wfRun) cancelChildren(dctx workflow.Context, reason string) {
	ids := slices.Sorted(maps.Keys(w.children))
	for _, id := range ids {
		f := w.children[id]
		workflow.Go(dctx, func(gctx workflow.Context) {
			// A child that ended meanwhile cannot be signalled: its
			// records are on their way anyway.
			if err := f.SignalChildWorkflow(gctx, SignalCancel, reason).Get(gctx, nil); err != nil {
				w.addNote(Note{Level: "debug", Msg: "cannot signal a child workflow", Args: runner.List{"error", err.Error()}})
			}
		})
	}
}

// cancelSignals is the channel of SignalCancel in a child; nil in the run
// workflow, which is cancelled by Temporal.
func (w *wfRun) cancelSignals(dctx workflow.Context) workflow.ReceiveChannel {
	if w.scope == nil {
		return nil
	}
	return workflow.GetSignalChannel(dctx, SignalCancel)
}

// delegation is the machine's Options.Delegate: a loop's iterations or a
// matrix's branches run as child workflows when the scope's inline cost in
// history events (a stage costs about eventsPerTask) would pass limit
// (< 0: always).
func delegation(limit int) func(*pipeline.Stage) bool {
	if limit < 0 {
		return func(*pipeline.Stage) bool { return true }
	}
	if limit == 0 {
		limit = DefaultChildEvents
	}
	return func(owner *pipeline.Stage) bool {
		return eventsPerTask*maxStages([]*pipeline.Stage{owner}) > limit
	}
}

// readsRecord reports whether a stage of the list, or nested in it, reads
// the run record (is volatile).
func readsRecord(list []*pipeline.Stage) bool {
	for _, s := range list {
		if s.Volatile() || readsRecord(s.Body) {
			return true
		}
	}
	return false
}

func refOrNil(res *pipeline.Result) *runner.InputRef {
	if res == nil {
		return nil
	}
	ref := runner.RefOf(res)
	return &ref
}

func resultOrNil(ref *runner.InputRef) *pipeline.Result {
	if ref == nil {
		return nil
	}
	return resultOf(*ref)
}

// resultOf is a result by reference (artifacts known by kind and digest).
func resultOf(ref runner.InputRef) *pipeline.Result {
	o := runner.StageOutcome{Metrics: ref.Metrics, Artifacts: ref.Artifacts}
	return o.Result()
}
