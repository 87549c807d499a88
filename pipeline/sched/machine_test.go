package sched_test

import (
	"context"
	"fmt"
	"testing"

	"lopper/pipeline"
	"lopper/pipeline/exectest"
	"lopper/pipeline/sched"
)

// find returns the record at path.
func find(t *testing.T, recs []*pipeline.StageRecord, path string) *pipeline.StageRecord {
	t.Helper()
	var found *pipeline.StageRecord
	(&pipeline.RunRecord{Stages: recs}).Walk(func(s *pipeline.StageRecord) {
		if s.Path == path {
			found = s
		}
	})
	if found == nil {
		t.Fatalf("no record %s", path)
	}
	return found
}

func paths(ts []*sched.Task) string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Path)
	}
	return fmt.Sprint(out)
}

func wantStatus(t *testing.T, recs []*pipeline.StageRecord, path string, st pipeline.StageStatus, reason string) {
	t.Helper()
	s := find(t, recs, path)
	if s.Status != st || s.Reason != reason {
		t.Errorf("%s: %s (%q), want %s (%q)", path, s.Status, s.Reason, st, reason)
	}
}

const failFastRecipe = `version: 1
stages:
  bad: {uses: emit, with: {fail: boom}}
  slow: {uses: emit, with: {metrics: {x: 1}}}
  quick: {uses: emit, with: {metrics: {x: 1}}}
  later: {uses: emit, with: {reads: [slow], metrics: {x: 1}}}
`

// --fail-fast: the first failure cancels what has not started at once and
// asks the executor to cancel the running tasks; those that then fail are
// cancelled, those that finish anyway keep their result.
func TestFailFast(t *testing.T) {
	r := load(t, failFastRecipe)
	m := sched.New(r, r.ParamValues(), sched.Options{Jobs: 4, FailFast: true})
	acts := m.Start()
	if got := paths(acts.Start); got != "[bad slow quick]" {
		t.Fatalf("started %s", got)
	}
	bad, slow, quick := acts.Start[0], acts.Start[1], acts.Start[2]
	acts = m.Apply(fake(r, bad))
	if !acts.CancelRunning || len(acts.Start) != 0 {
		t.Fatalf("after the failure: %+v, want the running tasks cancelled", acts)
	}
	wantStatus(t, m.Records(), "later", pipeline.StageCancelled, sched.ReasonFailFast)
	m.Apply(sched.Completed{Task: slow.ID, Err: context.Canceled})
	m.Apply(fake(r, quick))
	if !m.Done() {
		t.Fatal("not done")
	}
	wantStatus(t, m.Records(), "bad", pipeline.StageFailed, "")
	wantStatus(t, m.Records(), "slow", pipeline.StageCancelled, sched.ReasonFailFast)
	wantStatus(t, m.Records(), "quick", pipeline.StageSucceeded, "")
	if st, msg := sched.RunOutcome(&pipeline.RunRecord{Stages: m.Records()}, false); st != pipeline.RunFailed || msg != "stage bad: boom" {
		t.Errorf("run %s %q", st, msg)
	}
}

// With one slot, what waits for it is cancelled without ever starting.
func TestFailFastCancelsWaitingTasks(t *testing.T) {
	r := load(t, failFastRecipe)
	m := sched.New(r, r.ParamValues(), sched.Options{Jobs: 1, FailFast: true})
	acts := m.Start()
	if got := paths(acts.Start); got != "[bad]" {
		t.Fatalf("started %s with one job", got)
	}
	acts = m.Apply(fake(r, acts.Start[0]))
	if len(acts.Start) != 0 || !m.Done() {
		t.Fatalf("after the failure: started %s, done %v", paths(acts.Start), m.Done())
	}
	for _, p := range []string{"slow", "quick", "later"} {
		wantStatus(t, m.Records(), p, pipeline.StageCancelled, sched.ReasonFailFast)
	}
}

// Without --fail-fast one slot serves the stages in file order, and a
// failure cancels only its dependents.
func TestJobsServeInOrder(t *testing.T) {
	r := load(t, failFastRecipe)
	m := sched.New(r, r.ParamValues(), sched.Options{Jobs: 1})
	var started []*sched.Task
	acts := m.Start()
	for !m.Done() {
		if len(acts.Start) != 1 || m.Running() != 1 {
			t.Fatalf("started %s with %d running, want one at a time", paths(acts.Start), m.Running())
		}
		started = append(started, acts.Start...)
		acts = m.Apply(fake(r, acts.Start[0]))
	}
	if got := paths(started); got != "[bad slow quick later]" {
		t.Errorf("order %s", got)
	}
	if st, _ := sched.RunOutcome(&pipeline.RunRecord{Stages: m.Records()}, false); st != pipeline.RunFailed {
		t.Errorf("run %s", st)
	}
}

// An interrupt during a loop: the stages that have not started are
// cancelled, a running task that stops is cancelled, and the loop with it;
// no new task starts.
func TestInterruptInLoop(t *testing.T) {
	r := load(t, exectest.GradualRecipe(10, 0.05, "last_passing"))
	m := sched.New(r, r.ParamValues(), sched.Options{Jobs: 2})
	acts := m.Start()
	var running []*sched.Task
	var step *sched.Task
	for step == nil {
		running = append(running, acts.Start...)
		for _, tk := range running {
			if tk.Path == "gradual[1]/step" {
				step = tk
			}
		}
		if step == nil {
			tk := running[0]
			running = running[1:]
			acts = m.Apply(fake(r, tk))
		}
	}
	if m.Running() != 1 {
		t.Fatalf("%d tasks running, want gradual[1]/step alone", m.Running())
	}
	acts = m.Apply(sched.Interrupted{})
	if len(acts.Start) != 0 || m.Done() {
		t.Fatalf("after the interrupt: started %s, done %v", paths(acts.Start), m.Done())
	}
	wantStatus(t, m.Records(), "gradual[1]/check", pipeline.StageCancelled, sched.ReasonInterrupted)
	wantStatus(t, m.Records(), "final", pipeline.StageCancelled, sched.ReasonInterrupted)
	acts = m.Apply(sched.Completed{Task: step.ID, Err: context.Canceled})
	if len(acts.Start) != 0 || !m.Done() {
		t.Fatalf("after the last task: started %s, done %v", paths(acts.Start), m.Done())
	}
	g := find(t, m.Records(), "gradual")
	if g.Status != pipeline.StageCancelled || g.Error != "iteration 1: interrupted" || g.Loop.Iterations[1].Status != pipeline.StageCancelled {
		t.Errorf("gradual: %s %q, iteration 1 %s", g.Status, g.Error, g.Loop.Iterations[1].Status)
	}
	if st, _ := sched.RunOutcome(&pipeline.RunRecord{Stages: m.Records()}, true); st != pipeline.RunInterrupted {
		t.Errorf("run %s", st)
	}
}

// A task's inputs are the finished stages it can see, and prev in a loop.
func TestTaskInputs(t *testing.T) {
	r := load(t, exectest.GradualRecipe(2, 0.5, "last"))
	m := sched.New(r, r.ParamValues(), sched.Options{Jobs: 1})
	acts := m.Start()
	for !m.Done() {
		tk := acts.Start[0]
		if tk.Path == "gradual[1]/check" {
			if _, ok := tk.Inputs["step"]; !ok || tk.Inputs["prev"] == nil || tk.Inputs["baseline"] == nil {
				t.Errorf("gradual[1]/check inputs: %v", keys(tk.Inputs))
			}
			if tk.Iteration != 1 || tk.Values["iteration"] != 1 {
				t.Errorf("gradual[1]/check: iteration %d, values %v", tk.Iteration, tk.Values["iteration"])
			}
		}
		acts = m.Apply(fake(r, tk))
	}
}

func keys(m map[string]*pipeline.Result) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
