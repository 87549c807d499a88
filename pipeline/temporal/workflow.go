package temporal

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	sdktemporal "go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"lopper/pipeline"
	"lopper/pipeline/runner"
	"lopper/pipeline/sched"
)

// Workflows serves the run workflow with the stage kinds of Registry.
type Workflows struct {
	Registry *pipeline.Registry
	// Payloads, when set, is the codec of the worker's data converter:
	// a run's workflow tells it the run's store (see Payloads).
	Payloads *Payloads
}

// Run is the run workflow: it compiles the plan's recipe and drives the
// scheduling machine of pipeline/sched, the same as the local executor,
// each task being a stage activity (ActivityStage) on its queue. Workflow
// code must replay exactly: the machine is deterministic (no clock but
// workflow.Now, no map order, no goroutines), completions come back
// through one workflow channel in the order Temporal delivers them, and
// the recipe is compiled from the plan alone.
//
// A history holds at most 51,200 events, and a stage costs about six. So
// the iterations of a loop and the branches of a matrix whose inline cost
// would pass Plan.ChildEvents run as child workflows (Scope), one each,
// which cost their parent about six events whatever they hold; and a
// workflow whose own history passes Plan.HistoryEvents lets its running
// tasks end and continues as new, carrying the completions it applied
// (Carry): the machine, fed them again, is where it was.
func (w *Workflows) Run(ctx workflow.Context, plan Plan) (*Result, error) {
	run, err := w.newRun(ctx, &plan, nil)
	if err != nil {
		return nil, err
	}
	if err := workflow.SetQueryHandler(ctx, QueryProgress, run.progress); err != nil {
		return nil, err
	}
	out, err := run.run(ctx)
	if err != nil || out == nil {
		return nil, err
	}
	return &Result{Stages: out.Records, Abandoned: out.Abandoned}, nil
}

// newRun compiles the plan's recipe and makes the machine of a run (scope
// nil) or of a child's scope.
func (w *Workflows) newRun(ctx workflow.Context, plan *Plan, scope *ScopeTask) (*wfRun, error) {
	plan.withDefaults()
	r, err := plan.Recipe.compile(w.Registry)
	if err != nil {
		return nil, sdktemporal.NewNonRetryableApplicationError(fmt.Sprintf("%v: %v", errNoRecipe, err), ErrInvalidConfig, err)
	}
	var header pipeline.RunRecord
	if err := json.Unmarshal(plan.Recipe.Header, &header); err != nil {
		return nil, sdktemporal.NewNonRetryableApplicationError("the run's record: "+err.Error(), ErrInvalidConfig, err)
	}
	run := &wfRun{plan: plan, header: &header, scope: scope, running: map[int]*sched.Task{}, stopped: map[int]bool{},
		children: map[int]workflow.ChildWorkflowFuture{}, root: workflow.GetInfo(ctx).WorkflowExecution.ID}
	opts := sched.Options{
		Jobs: plan.Jobs, FailFast: plan.FailFast,
		Clock:    func() time.Time { return workflow.Now(ctx).UTC() },
		Log:      func(n sched.Note) { run.addNote(noteOf(n)) },
		Delegate: delegation(plan.ChildEvents),
	}
	// Large payloads of this run go to its store (the codec, outside
	// workflow code, puts them there; this only names the store).
	root := run.root
	if scope != nil {
		root = scope.Root
	}
	w.Payloads.bind(root, plan.Store, nil)
	if scope == nil {
		run.m = sched.New(r, r.ParamValues(), opts)
		return run, nil
	}
	run.root = scope.Root
	c, err := scope.child(r)
	if err != nil {
		return nil, sdktemporal.NewNonRetryableApplicationError("the scope's task: "+err.Error(), ErrInvalidConfig, err)
	}
	run.m = sched.NewChild(r, r.ParamValues(), c, opts)
	return run, nil
}

// wfRun is one run workflow's state, or one child workflow's.
type wfRun struct {
	plan     *Plan
	header   *pipeline.RunRecord
	scope    *ScopeTask // the child's task; nil in the run workflow
	root     string     // the run workflow's id (children are named after it)
	m        *sched.Machine
	notes    []Note
	noteBase int                 // the index of notes[0] (notes before a continue-as-new)
	version  int                 // bumped whenever the records change
	running  map[int]*sched.Task // by task id; only looked up, never ranged over
	stopped  map[int]bool        // tasks whose cancelled activity signalled its end
	children map[int]workflow.ChildWorkflowFuture
	done     workflow.Channel // completions
	log      []Completion     // the completions applied, for continue-as-new
	applied  int              // completions applied by this workflow run
	replay   bool             // applying the carried completions: no notes
	// activities is how many stage activities run (children aside);
	// childAbandoned says a child abandoned stages that did not stop.
	activities     int
	childAbandoned bool
}

// outcome is what run returns: the records and whether cancelled stages
// were abandoned.
type outcome struct {
	Records   []*pipeline.StageRecord
	Abandoned bool
}

func (w *wfRun) run(ctx workflow.Context) (*outcome, error) {
	// After a cancellation request ctx is done: waiting for the stages to
	// stop, and recording them, happens in a context that is not.
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	actCtx, cancelActs := workflow.WithCancel(dctx)
	w.done = workflow.NewChannel(dctx)
	if w.plan.StopSignals {
		w.listenStops(dctx)
	}
	var acts sched.Actions
	add := func(next sched.Actions) {
		acts.Start = append(acts.Start, next.Start...)
		acts.CancelRunning = acts.CancelRunning || next.CancelRunning
		w.version++
	}
	interrupted, abandoned, draining := false, false, false
	var held []*sched.Task // started by the machine while draining for continue-as-new
	var grace workflow.Future
	interrupt := func(reason string) {
		interrupted, draining = true, false
		grace = workflow.NewTimer(dctx, w.plan.Grace)
		add(w.m.Apply(sched.Cancel{Reason: reason}))
		acts.Start = append(held, acts.Start...)
		held = nil
		acts.CancelRunning = true
	}
	cancels := w.cancelSignals(dctx)
	var cancelled string // why the run was cancelled before this workflow started
	switch {
	case w.plan.Interrupted || ctx.Err() != nil:
		cancelled = sched.ReasonInterrupted
	case w.scope != nil && w.scope.Cancel != "":
		cancelled = w.scope.Cancel
	}
	if c := w.plan.Carry; c != nil {
		add(w.m.Start())
		acts.Start = w.replayCarry(c, acts.Start)
		if cancelled != "" {
			interrupt(cancelled)
		}
	} else {
		if cancelled != "" {
			interrupt(cancelled)
		}
		add(w.m.Start())
	}
	for {
		if draining && w.m.Cancelled() != "" { // --fail-fast meanwhile: no continue-as-new
			draining, acts.Start, held = false, append(held, acts.Start...), nil
		}
		if draining {
			held, acts.Start = append(held, acts.Start...), nil
		}
		for _, t := range acts.Start {
			w.start(actCtx, dctx, t)
		}
		if acts.CancelRunning {
			cancelActs()
			w.cancelChildren(dctx, w.m.Cancelled())
		}
		acts = sched.Actions{}
		if w.m.Done() {
			break
		}
		if draining && len(w.running) == 0 {
			return nil, w.continueAsNew(ctx)
		}
		sel := workflow.NewSelector(dctx)
		sel.AddReceive(w.done, func(c workflow.ReceiveChannel, _ bool) {
			var cp Completion
			c.Receive(dctx, &cp)
			add(w.complete(cp))
		})
		if !interrupted {
			sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) { interrupt(sched.ReasonInterrupted) })
			if cancels != nil {
				sel.AddReceive(cancels, func(c workflow.ReceiveChannel, _ bool) {
					var reason string
					c.Receive(dctx, &reason)
					interrupt(reason)
				})
			}
		}
		if grace != nil {
			sel.AddFuture(grace, func(workflow.Future) {
				// Children have the same grace period, and come back with
				// their records, abandoned stages and all.
				if grace = nil; w.activities > 0 {
					abandoned = true
				}
			})
		}
		sel.Select(dctx)
		if abandoned {
			w.addNote(Note{Level: "warn", Msg: "stages did not stop after cancellation; recording the run without them", Args: runner.List{"grace", w.plan.Grace.String()}})
			break
		}
		if !interrupted && !draining && w.m.Cancelled() == "" && w.historyFull(ctx) {
			draining = true
		}
	}
	cancelActs()
	return &outcome{Records: w.m.Records(), Abandoned: abandoned || w.childAbandoned}, nil
}

// start schedules a task: a stage activity on its queue, or a child
// workflow for a delegated scope; its outcome comes back on w.done. A
// stage task of a run already being cancelled (one held back while the
// workflow was draining) is cancelled without an activity.
func (w *wfRun) start(actCtx, dctx workflow.Context, t *sched.Task) {
	w.running[t.ID] = t
	if t.Child != nil {
		w.startChild(dctx, t)
		return
	}
	w.activities++
	if w.m.Cancelled() != "" {
		workflow.Go(dctx, func(gctx workflow.Context) {
			w.done.Send(gctx, Completion{ID: t.ID, Outcome: &runner.StageOutcome{Class: runner.ClassCancelled, Error: context.Canceled.Error()}})
		})
		return
	}
	s := t.Stage
	queue := w.plan.Queues.Stage(s)
	task := runner.NewStageTask(t, w.plan.RunDir, w.plan.Paths)
	if s.Volatile() {
		task.Record = w.recordJSON()
	}
	at := &ActivityTask{ID: t.ID, Task: *task, Recipe: w.plan.Recipe, Store: w.plan.Store, Cache: w.plan.Cache, Root: w.root}
	w.addNote(Note{Level: "info", Stage: s.ID, Scope: runner.List(t.Scope), Msg: "scheduled", Args: runner.List{"queue", queue}})
	opts := workflow.ActivityOptions{
		TaskQueue:           queue,
		StartToCloseTimeout: w.plan.StageTimeout,
		HeartbeatTimeout:    w.plan.Heartbeat,
		WaitForCancellation: true,
		RetryPolicy: &sdktemporal.RetryPolicy{
			InitialInterval:        w.plan.RetryInterval,
			BackoffCoefficient:     2,
			MaximumAttempts:        int32(w.plan.Attempts),
			NonRetryableErrorTypes: []string{ErrInvalidConfig, ErrGate},
		},
	}
	f := workflow.ExecuteActivity(workflow.WithActivityOptions(actCtx, opts), ActivityStage, at)
	workflow.Go(dctx, func(gctx workflow.Context) {
		var out runner.StageOutcome
		err := f.Get(gctx, &out)
		o := outcomeOf(err, &out)
		if o.Class == runner.ClassCancelled && w.plan.StopSignals {
			// Await the activity's end, as the server does for
			// WaitForCancellation (the grace period bounds the wait).
			if werr := workflow.Await(gctx, func() bool { return w.stopped[t.ID] }); werr != nil {
				o.Error = werr.Error()
			}
		}
		w.done.Send(gctx, Completion{ID: t.ID, Outcome: o})
	})
}

// listenStops records the SignalStopped signals.
func (w *wfRun) listenStops(dctx workflow.Context) {
	ch := workflow.GetSignalChannel(dctx, SignalStopped)
	workflow.Go(dctx, func(gctx workflow.Context) {
		for {
			var id int
			ch.Receive(gctx, &id)
			w.stopped[id] = true
		}
	})
}

// complete records a task's outcome on its record and in the machine.
func (w *wfRun) complete(c Completion) sched.Actions {
	t := w.running[c.ID]
	delete(w.running, c.ID)
	logged := c
	if c.Child != nil && len(c.Child.Notes) > 0 { // notes are not replayed: not carried either
		res := *c.Child
		res.Notes, logged.Child = nil, &res
	}
	w.log = append(w.log, logged)
	if !w.replay {
		w.applied++
	}
	if c.Child != nil {
		delete(w.children, c.ID)
		w.childAbandoned = w.childAbandoned || c.Child.Abandoned
		for _, n := range c.Child.Notes {
			w.addNote(n)
		}
		return w.m.Apply(c.Child.event(c.ID))
	}
	w.activities--
	out := c.Outcome
	out.ApplyTo(t.Record)
	if out.Cached {
		w.addNote(Note{Level: "info", Stage: t.Stage.ID, Scope: runner.List(t.Scope), Msg: "cached",
			Args: runner.List{"computed_by", out.ComputedBy, "saved_seconds", fmt.Sprintf("%.2f", out.SavedSeconds), "worker", out.Worker}})
	}
	return w.m.Apply(sched.Completed{Task: c.ID, Result: out.Result(), Cached: out.Cached, Err: out.Err()})
}

// recordJSON is the run record so far, for a stage that reads it (in a
// child, the record as the scope started with the scope's own stages).
func (w *wfRun) recordJSON() json.RawMessage {
	rec := *w.header
	rec.Stages = w.m.Records()
	if w.scope != nil {
		rec.Stages = w.scope.graft(w.m.Records())
	}
	b, err := json.Marshal(&rec)
	if err != nil {
		w.addNote(Note{Level: "warn", Msg: "cannot encode the run record for a stage", Args: runner.List{"error", err.Error()}})
		return nil
	}
	return b
}

func (w *wfRun) addNote(n Note) {
	if !w.replay {
		w.notes = append(w.notes, n)
	}
}

// progress answers QueryProgress: the notes from index from on, and the
// stages' records unless they are still at version known.
func (w *wfRun) progress(from, known int) (*Progress, error) {
	end := w.noteBase + len(w.notes)
	switch {
	case from < 0 || from > end:
		from = end
	case from < w.noteBase: // notes of an earlier run of the workflow, which the client had
		from = w.noteBase
	}
	p := &Progress{Notes: w.notes[from-w.noteBase:], Next: end, Version: w.version}
	if known != w.version {
		p.Stages = w.m.Records()
	}
	return p, nil
}
