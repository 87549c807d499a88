package temporal

import (
	"go.temporal.io/sdk/workflow"

	"lopper/pipeline"
	"lopper/pipeline/sched"
)

// Carry is what a workflow hands the next run of itself when it continues
// as new: the completions it applied, in order (the scheduling machine is
// deterministic: fed them again, it is where it was, with the same task
// ids), and how far its notes and records' version went.
type Carry struct {
	Completions []Completion `json:"completions"`
	Notes       int          `json:"notes"`
	Version     int          `json:"version"`
}

// History bounds: a task (stage activity or child workflow) costs about
// eventsPerTask events of its workflow's history, which Temporal caps at
// 51,200 (and warns about from 10,240).
const (
	eventsPerTask = 6
	// DefaultChildEvents is Plan.ChildEvents's default: a loop or matrix
	// whose inline cost would pass it runs its iterations or branches as
	// child workflows.
	DefaultChildEvents = 5000
	// DefaultHistoryEvents is Plan.HistoryEvents's default: a workflow
	// whose own tasks' cost passes it continues as new.
	DefaultHistoryEvents = 10000
)

// maxStages returns how many stage instances the list schedules at most:
// every loop running all its iterations, every matrix branch.
func maxStages(list []*pipeline.Stage) int {
	n := 0
	for _, s := range list {
		switch {
		case s.Loop() != nil:
			n += s.Loop().MaxIterations * maxStages(s.Body)
		case s.MatrixAxes() != nil:
			n += len(s.MatrixBranches()) * maxStages(s.Body)
		case s.Kind() != nil:
			n++
		}
	}
	return n
}

// historyFull reports whether the workflow should continue as new: the
// tasks it completed passed the plan's bound, or the server suggests it.
// Both are deterministic (the suggestion is in the history).
func (w *wfRun) historyFull(ctx workflow.Context) bool {
	return eventsPerTask*w.applied >= w.plan.HistoryEvents || workflow.GetInfo(ctx).GetContinueAsNewSuggested()
}

// replayCarry feeds the machine the carried completions, and returns the
// tasks it started that none of them completed (they were held back when
// the last run drained), to start now, in order. started are the tasks of
// m.Start().
func (w *wfRun) replayCarry(c *Carry, started []*sched.Task) []*sched.Task {
	w.replay = true
	defer func() { w.replay = false }()
	var order []*sched.Task
	for _, cp := range c.Completions {
		for _, t := range started {
			w.running[t.ID] = t
			order = append(order, t)
		}
		started = w.complete(cp).Start
	}
	for _, t := range started {
		w.running[t.ID] = t
		order = append(order, t)
	}
	var left []*sched.Task
	for _, t := range order {
		if _, ok := w.running[t.ID]; ok {
			delete(w.running, t.ID)
			left = append(left, t)
		}
	}
	w.noteBase, w.version, w.activities = c.Notes, c.Version, 0
	return left
}

// continueAsNew ends this run of the workflow with a new one that carries
// its state (the tasks held back while it drained start there).
func (w *wfRun) continueAsNew(ctx workflow.Context) error {
	plan := *w.plan
	plan.Carry = &Carry{Completions: w.log, Notes: w.noteBase + len(w.notes), Version: w.version}
	if w.scope != nil {
		st := *w.scope
		st.Plan = plan
		return workflow.NewContinueAsNewError(ctx, WorkflowScope, st)
	}
	return workflow.NewContinueAsNewError(ctx, WorkflowRun, plan)
}
