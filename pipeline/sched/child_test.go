package sched_test

import (
	"testing"

	"lopper/pipeline"
	"lopper/pipeline/sched"
)

// delegating drives a machine like script, but every loop iteration and
// matrix branch is handed to a child machine (Options.Delegate), driven to
// its end the same way, whose records come back as a ChildCompleted
// event: what the Temporal executor does with child workflows.
func delegating(t *testing.T, r *pipeline.Recipe, opts sched.Options, pick func(int) int) *pipeline.RunRecord {
	t.Helper()
	opts.Delegate = func(*pipeline.Stage) bool { return true }
	children := 0
	var drive func(m *sched.Machine) []*pipeline.StageRecord
	drive = func(m *sched.Machine) []*pipeline.StageRecord {
		var running []*sched.Task
		acts := m.Start()
		for {
			running = append(running, acts.Start...)
			if len(running) > opts.Jobs {
				t.Fatalf("%d tasks running with jobs %d", len(running), opts.Jobs)
			}
			if m.Done() {
				return m.Records()
			}
			i := pick(len(running))
			tk := running[i]
			running = append(running[:i], running[i+1:]...)
			if tk.Child == nil {
				acts = m.Apply(fake(r, tk))
				continue
			}
			children++
			cm := sched.NewChild(r, r.ParamValues(), tk.Child, opts)
			recs := drive(cm)
			acts = m.Apply(sched.ChildCompleted{Task: tk.ID, Records: recs, Results: cm.Results(), Cancelled: cm.Cancelled()})
		}
	}
	m := sched.New(r, r.ParamValues(), opts)
	rec := &pipeline.RunRecord{Stages: drive(m)}
	rec.Status, rec.Error = sched.RunOutcome(rec, false)
	if children == 0 {
		t.Fatalf("no scope was delegated")
	}
	return rec
}

// Loop iterations and matrix branches run by child machines record
// exactly what the whole run inline records, in any completion order.
func TestDelegatedAgreesWithInline(t *testing.T) {
	for _, c := range corpus {
		t.Run(c.name, func(t *testing.T) {
			r := load(t, c.src)
			if !hasScopes(r.Stages) {
				t.Skip("no loop or matrix")
			}
			inline, _ := script(t, r, sched.Options{Jobs: 2}, func(int) int { return 0 }, nil)
			want := shape(t, inline)
			for _, o := range orders() {
				for _, jobs := range []int{1, 3} {
					if got := shape(t, delegating(t, r, sched.Options{Jobs: jobs}, o.pick)); got != want {
						t.Fatalf("%s, jobs %d: with child machines\n%s\ninline\n%s", o.name, jobs, got, want)
					}
				}
			}
		})
	}
}

func hasScopes(list []*pipeline.Stage) bool {
	for _, s := range list {
		if s.Loop() != nil || s.MatrixAxes() != nil {
			return true
		}
	}
	return false
}
