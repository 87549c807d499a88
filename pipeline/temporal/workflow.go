package temporal

import (
	"context"
	"encoding/json"
	"errors"
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
}

// Run is the run workflow: it compiles the plan's recipe and drives the
// scheduling machine of pipeline/sched, the same as the local executor,
// each task being a stage activity (ActivityStage) on its queue. Workflow
// code must replay exactly: the machine is deterministic (no clock but
// workflow.Now, no map order, no goroutines), completions come back
// through one workflow channel in the order Temporal delivers them, and
// the recipe is compiled from the plan alone.
//
// Loops and matrices run inline, in this one workflow: the machine's state
// is not serialisable, so neither child workflows nor continue-as-new can
// carry it. A stage costs about six history events, so a run may hold some
// 8,000 stage instances before Temporal's 51,200-event limit; `lopper run
// --temporal` warns before starting a larger one.
func (w *Workflows) Run(ctx workflow.Context, plan Plan) (*Result, error) {
	plan.withDefaults()
	r, err := plan.Recipe.compile(w.Registry)
	if err != nil {
		return nil, sdktemporal.NewNonRetryableApplicationError(fmt.Sprintf("%v: %v", errNoRecipe, err), ErrInvalidConfig, err)
	}
	var header pipeline.RunRecord
	if err := json.Unmarshal(plan.Recipe.Header, &header); err != nil {
		return nil, sdktemporal.NewNonRetryableApplicationError("the run's record: "+err.Error(), ErrInvalidConfig, err)
	}
	run := &wfRun{plan: &plan, header: &header, running: map[int]*sched.Task{}, stopped: map[int]bool{}}
	run.m = sched.New(r, r.ParamValues(), sched.Options{
		Jobs: plan.Jobs, FailFast: plan.FailFast,
		Clock: func() time.Time { return workflow.Now(ctx).UTC() },
		Log:   func(n sched.Note) { run.addNote(noteOf(n)) },
	})
	if err := workflow.SetQueryHandler(ctx, QueryProgress, run.progress); err != nil {
		return nil, err
	}
	return run.run(ctx)
}

// wfRun is one run workflow's state.
type wfRun struct {
	plan    *Plan
	header  *pipeline.RunRecord
	m       *sched.Machine
	notes   []Note
	version int                 // bumped whenever the records change
	running map[int]*sched.Task // by task id; only looked up, never ranged over
	stopped map[int]bool        // tasks whose cancelled activity signalled its end
	done    workflow.Channel    // completions
}

// completion is a stage activity's outcome, for the main loop.
type completion struct {
	id  int
	out *runner.StageOutcome
}

func (w *wfRun) run(ctx workflow.Context) (*Result, error) {
	// After a cancellation request ctx is done: waiting for the stages to
	// stop, and recording them, happens in a context that is not.
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	actCtx, cancelActs := workflow.WithCancel(ctx)
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
	interrupted, abandoned := false, false
	var grace workflow.Future
	interrupt := func() {
		interrupted = true
		grace = workflow.NewTimer(dctx, w.plan.Grace)
		add(w.m.Apply(sched.Interrupted{}))
	}
	if w.plan.Interrupted || ctx.Err() != nil {
		interrupt()
	}
	add(w.m.Start())
	for {
		for _, t := range acts.Start {
			w.start(actCtx, dctx, t)
		}
		if acts.CancelRunning {
			cancelActs()
		}
		acts = sched.Actions{}
		if w.m.Done() {
			break
		}
		sel := workflow.NewSelector(dctx)
		sel.AddReceive(w.done, func(c workflow.ReceiveChannel, _ bool) {
			var cp completion
			c.Receive(dctx, &cp)
			add(w.complete(cp))
		})
		if !interrupted {
			sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) { interrupt() })
		}
		if grace != nil {
			sel.AddFuture(grace, func(workflow.Future) { abandoned = true })
		}
		sel.Select(dctx)
		if abandoned {
			w.addNote(Note{Level: "warn", Msg: "stages did not stop after cancellation; recording the run without them", Args: runner.List{"grace", w.plan.Grace.String()}})
			break
		}
	}
	cancelActs()
	return &Result{Stages: w.m.Records(), Abandoned: abandoned}, nil
}

// start schedules a task's stage activity on its queue; its outcome comes
// back on w.done.
func (w *wfRun) start(actCtx, dctx workflow.Context, t *sched.Task) {
	s := t.Stage
	queue := w.plan.Queues.Stage(s)
	task := runner.NewStageTask(t, w.plan.RunDir, w.plan.Paths)
	if s.Volatile() {
		task.Record = w.recordJSON()
	}
	at := &ActivityTask{ID: t.ID, Task: *task, Recipe: w.plan.Recipe, Store: w.plan.Store, Cache: w.plan.Cache}
	w.running[t.ID] = t
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
		w.done.Send(gctx, completion{id: t.ID, out: o})
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
func (w *wfRun) complete(c completion) sched.Actions {
	t := w.running[c.id]
	delete(w.running, c.id)
	c.out.ApplyTo(t.Record)
	if c.out.Cached {
		w.addNote(Note{Level: "info", Stage: t.Stage.ID, Scope: runner.List(t.Scope), Msg: "cached",
			Args: runner.List{"computed_by", c.out.ComputedBy, "saved_seconds", fmt.Sprintf("%.2f", c.out.SavedSeconds), "worker", c.out.Worker}})
	}
	return w.m.Apply(sched.Completed{Task: c.id, Result: c.out.Result(), Cached: c.out.Cached, Err: c.out.Err()})
}

// outcomeOf is a stage activity's outcome: its result, or what its
// failure carries (the outcome the activity attached, or what Temporal
// says happened: cancelled, timed out, lost).
func outcomeOf(err error, out *runner.StageOutcome) *runner.StageOutcome {
	if err == nil {
		return out
	}
	var app *sdktemporal.ApplicationError
	if errors.As(err, &app) && app.HasDetails() {
		var o runner.StageOutcome
		if app.Details(&o) == nil && o.Error != "" {
			return &o
		}
	}
	o := &runner.StageOutcome{Class: runner.ClassTransient, Error: err.Error()}
	var canceled *sdktemporal.CanceledError
	var timeout *sdktemporal.TimeoutError
	var act *sdktemporal.ActivityError
	switch {
	case errors.As(err, &canceled):
		var d runner.StageOutcome
		if canceled.HasDetails() && canceled.Details(&d) == nil {
			o = &d
		}
		o.Class, o.Error = runner.ClassCancelled, context.Canceled.Error()
	case errors.As(err, &timeout):
		o.Error = fmt.Sprintf("the stage timed out (%s): its worker died or stopped answering", timeout.TimeoutType())
		var hb Heartbeat
		if timeout.HasLastHeartbeatDetails() && timeout.LastHeartbeatDetails(&hb) == nil {
			o.Worker, o.Attempt = hb.Worker, hb.Attempt
		}
	case app != nil:
		o.Error = app.Message()
	case errors.As(err, &act) && errors.Unwrap(act) != nil:
		o.Error = errors.Unwrap(act).Error()
	}
	return o
}

// recordJSON is the run record so far, for a stage that reads it.
func (w *wfRun) recordJSON() json.RawMessage {
	rec := *w.header
	rec.Stages = w.m.Records()
	b, err := json.Marshal(&rec)
	if err != nil {
		w.addNote(Note{Level: "warn", Msg: "cannot encode the run record for a stage", Args: runner.List{"error", err.Error()}})
		return nil
	}
	return b
}

func (w *wfRun) addNote(n Note) {
	w.notes = append(w.notes, n)
}

// progress answers QueryProgress: the notes from index from on, and the
// stages' records unless they are still at version known.
func (w *wfRun) progress(from, known int) (*Progress, error) {
	if from < 0 || from > len(w.notes) {
		from = len(w.notes)
	}
	p := &Progress{Notes: w.notes[from:], Next: len(w.notes), Version: w.version}
	if known != w.version {
		p.Stages = w.m.Records()
	}
	return p, nil
}
