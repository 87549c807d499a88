package temporal

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"lopper/pipeline"
	"lopper/pipeline/exectest"
	"lopper/pipeline/runner"
	"lopper/pipeline/sched"
)

// childRecipes have loops and matrices whose results depend on what their
// scopes see of the run around them: prev, matrix values, outer stages,
// the baseline's derived metrics, until and keep, a failing gate and a
// failing stage inside a branch.
var childRecipes = []struct{ name, src string }{
	{"loop last_passing", exectest.GradualRecipe(10, 0.05, "last_passing")},
	{"loop last", exectest.GradualRecipe(10, 0.05, "last")},
	{"loop none passing", exectest.GradualRecipe(5, -1, "last_passing")},
	{"nesting", exectest.NestingRecipe},
	{"branch failure", exectest.BranchFailureRecipe},
	{"sweep", `version: 1
params: {limit: 3}
baseline: base
stages:
  base: {uses: emit, with: {value: 1, metrics: {accuracy: 0.9, perplexity: 10}}}
  sweep:
    uses: matrix
    with: {step: [1, 2], scale: [0.5, 1]}
    stages:
      l:
        uses: loop
        with: {max_iterations: 4, from: base, carry: s, measure: m, until: "acc_drop > 0.03", keep: last_passing}
        stages:
          s: {uses: emit, with: {input: prev, add: "${{ matrix.step }}"}}
          m: {uses: emit, with: {input: s, metrics: {accuracy: "${{ 0.9 - 0.01 * matrix.step * (iteration + 1) }}", perplexity: 11}}}
      g: {uses: assert, with: {that: "l.value < params.limit * matrix.scale + 2", message: too far}}
      after: {uses: emit, with: {input: l, add: "${{ matrix.scale }}", metrics: {x: "${{ l.value * matrix.scale }}"}}}
  total: {uses: emit, with: {reads: [sweep], metrics: {n: "${{ sweep.branches }}"}}}
`},
}

// comparable is a run's stages as JSON, without what differs between two
// runs of the same recipe: times, and (with local) who ran each stage.
func comparable(t *testing.T, rec *pipeline.RunRecord, withWorkers bool) string {
	t.Helper()
	c := rec.Clone()
	c.Walk(func(s *pipeline.StageRecord) {
		s.Started, s.Ended, s.Seconds, s.SavedSeconds = time.Time{}, time.Time{}, 0, 0
		if !withWorkers {
			s.Worker, s.Attempts = "", 0
		}
	})
	b, err := json.MarshalIndent(struct {
		Status pipeline.RunStatus
		Error  string
		Stages []*pipeline.StageRecord
	}{c.Status, c.Error, c.Stages}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// forceChildren runs every loop iteration and matrix branch as a child
// workflow.
func forceChildren(p *Plan) { p.ChildEvents = -1 }

// childCount counts the child workflows a run starts.
type childCount struct {
	mu sync.Mutex
	n  int
}

func (c *childCount) listen(env *testsuite.TestWorkflowEnvironment, _ *Activities) {
	env.SetOnChildWorkflowStartedListener(func(*workflow.Info, workflow.Context, converter.EncodedValues) {
		c.mu.Lock()
		c.n++
		c.mu.Unlock()
	})
}

// With every loop iteration and matrix branch in a child workflow, and
// with workflows continuing as new after every task (a tiny history bound),
// a run records what the same run records inline, and what a local run
// records: every status, reason, error, gate, metric, artifact digest,
// config, cache key, loop and matrix record.
func TestChildrenAndContinueAsNewGiveTheInlineRecords(t *testing.T) {
	for _, c := range childRecipes {
		t.Run(c.name, func(t *testing.T) {
			r, _, _ := load(t, c.src)
			opts := runner.Options{Build: "b", Numerics: "n", Jobs: 3}
			local, err := runner.Run(context.Background(), r, runner.Options{OutDir: t.TempDir(), Build: "b", Numerics: "n", Jobs: 3, Logger: exectest.Logger(t)})
			if err != nil {
				t.Fatal(err)
			}
			inline := run(t, &testExecutor{t: t}, r, opts)
			if got, want := comparable(t, inline, false), comparable(t, local, false); got != want {
				t.Fatalf("inline on Temporal\n%s\nlocally\n%s", got, want)
			}
			want := comparable(t, inline, true)
			for _, v := range []struct {
				name              string
				children, history int
			}{{"children", -1, 0}, {"continue-as-new", 0, 1}, {"children continuing as new", -1, 1}} {
				var kids childCount
				x := &testExecutor{t: t, setup: kids.listen, plan: func(p *Plan) { p.ChildEvents, p.HistoryEvents = v.children, v.history }}
				if got := comparable(t, run(t, x, r, opts), true); got != want {
					t.Fatalf("%s:\n%s\ninline\n%s", v.name, got, want)
				}
				if v.children < 0 && kids.n == 0 {
					t.Errorf("%s: no child workflow started", v.name)
				}
				if v.history > 0 && x.runs < 2 {
					t.Errorf("%s: the run workflow never continued as new", v.name)
				}
			}
		})
	}
}

// The default bounds keep a small run in one workflow, and send a large
// matrix's branches to children: the history grows with the children.
func TestChildrenOnlyWhereTheHistoryNeedsThem(t *testing.T) {
	r, _, _ := load(t, exectest.NestingRecipe)
	for _, s := range r.Stages {
		if s.Body != nil && delegation(0)(s) {
			t.Errorf("%s: a small scope goes to child workflows by default", s.ID)
		}
	}
	for _, c := range []struct {
		limit int
		want  map[string]bool
	}{{-1, map[string]bool{"outer": true, "around": true, "fan": true, "grow": true}},
		// outer and around hold 6 stage instances inline, grow 3, fan 2.
		{20, map[string]bool{"outer": true, "around": true, "fan": false, "grow": false}},
		{36, map[string]bool{"outer": false, "around": false, "fan": false, "grow": false}}} {
		d := delegation(c.limit)
		for id, want := range c.want {
			s, _ := r.Stage(id)
			if got := d(s); got != want {
				t.Errorf("limit %d: %s delegated %v, want %v", c.limit, id, got, want)
			}
		}
	}
}

// A failing gate inside a child fails its branch and the run as a gate
// (not retried); the other branches succeed.
func TestGateFailsInsideAChild(t *testing.T) {
	r, _, _ := load(t, `version: 1
stages:
  sweep:
    uses: matrix
    with: {n: [1, 2]}
    stages:
      w: {uses: emit, with: {metrics: {n: "${{ matrix.n }}"}}}
      g: {uses: assert, with: {that: "w.n < 2", message: too big}}
`)
	var st started
	rec := run(t, &testExecutor{t: t, setup: st.listen, plan: forceChildren}, r, runner.Options{})
	g := exectest.Stage(t, rec, "sweep[1]/g")
	if rec.Status != pipeline.RunGateFailed || !g.Gate || !strings.Contains(g.Error, "too big") {
		t.Errorf("run %s; sweep[1]/g: gate %v %q", rec.Status, g.Gate, g.Error)
	}
	if s := exectest.Stage(t, rec, "sweep[0]/g"); s.Status != pipeline.StageSucceeded {
		t.Errorf("sweep[0]/g: %s", s.Status)
	}
	if m := exectest.Stage(t, rec, "sweep"); m.Matrix.Branches[1].Status != pipeline.StageFailed || m.Matrix.Branches[0].Status != pipeline.StageSucceeded {
		t.Errorf("branches: %s %s", m.Matrix.Branches[0].Status, m.Matrix.Branches[1].Status)
	}
	if got := st.attempts(); got != "sweep[0]/w#1 sweep[1]/w#1" && got != "sweep[1]/w#1 sweep[0]/w#1" {
		t.Errorf("activities started: %s", got)
	}
}

// Cancelling the run (Ctrl-C) reaches the stages inside child workflows:
// they stop, those not started never start, and every one records the
// reason "interrupted".
func TestCancellationReachesChildren(t *testing.T) {
	r, kit, _ := load(t, `version: 1
stages:
  sweep:
    uses: matrix
    with: {n: [1, 2]}
    stages:
      stuck: {uses: emit, with: {block: true}}
      later: {uses: emit, with: {reads: [stuck], metrics: {x: 1}}}
  after: {uses: emit, with: {reads: [sweep], metrics: {x: 1}}}
`)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for kit.Runs("sweep[0]/stuck") == 0 || kit.Runs("sweep[1]/stuck") == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	x := &testExecutor{t: t, plan: forceChildren}
	rec, err := x.Run(ctx, r, runner.Options{OutDir: t.TempDir(), Logger: exectest.Logger(t), Jobs: 4, Grace: 5 * time.Second})
	if err != nil || rec.Status != pipeline.RunInterrupted {
		t.Fatalf("run: %v %v", err, rec.Status)
	}
	for _, p := range []string{"sweep[0]/stuck", "sweep[0]/later", "sweep[1]/stuck", "sweep[1]/later", "sweep", "after"} {
		if s := exectest.Stage(t, rec, p); s.Status != pipeline.StageCancelled || s.Reason != sched.ReasonInterrupted {
			t.Errorf("%s: %s (%s)", p, s.Status, s.Reason)
		}
	}
	if kit.Runs("sweep[0]/later")+kit.Runs("sweep[1]/later")+kit.Runs("after") != 0 {
		t.Errorf("a stage after the cancellation ran")
	}
}

// --fail-fast: a stage failing in one child cancels the stages running in
// the others, with the reason fail-fast.
func TestFailFastReachesOtherChildren(t *testing.T) {
	r, kit, _ := load(t, `version: 1
stages:
  sweep:
    uses: matrix
    with: {n: [1, 2]}
    stages:
      work: {uses: emit, with: {block: "${{ matrix.n == 2 }}", fail: "${{ matrix.n == 1 ? 'boom' : '' }}"}}
  after: {uses: emit, with: {reads: [sweep], metrics: {x: 1}}}
`)
	start := time.Now()
	rec := run(t, &testExecutor{t: t, plan: forceChildren}, r, runner.Options{Jobs: 4, FailFast: true})
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("fail-fast took %v", d)
	}
	if rec.Status != pipeline.RunFailed || exectest.Stage(t, rec, "sweep[0]/work").Status != pipeline.StageFailed {
		t.Fatalf("run %s: %s", rec.Status, rec.Error)
	}
	for _, p := range []string{"sweep[1]/work", "after"} {
		if s := exectest.Stage(t, rec, p); s.Status != pipeline.StageCancelled || !strings.Contains(s.Reason, "fail-fast") {
			t.Errorf("%s: %s (%s)", p, s.Status, s.Reason)
		}
	}
	if kit.Runs("after") != 0 {
		t.Errorf("after ran")
	}
}

// A volatile stage inside a child reads the run record as it stood when
// the child started, with the child's own stages in their place: with one
// job, branch 0's stage sees a and its own w; branch 1's sees those, branch
// 0's stage, and its own w.
func TestVolatileStageInAChildReadsTheRecord(t *testing.T) {
	r, _, _ := load(t, `version: 1
stages:
  a: {uses: emit, with: {metrics: {x: 1}}}
  sweep:
    uses: matrix
    with: {n: [1, 2]}
    stages:
      w: {uses: emit, with: {reads: [a], metrics: {x: 1}}}
      rec: {uses: record, needs: [w], with: {volatile: true}}
`)
	rec := run(t, &testExecutor{t: t, plan: forceChildren}, r, runner.Options{Jobs: 1})
	for p, want := range map[string]float64{"sweep[0]/rec": 2, "sweep[1]/rec": 4} {
		if got := exectest.Stage(t, rec, p).Metrics["finished"]; got != want {
			t.Errorf("%s saw %v finished stages, want %v", p, got, want)
		}
	}
}

// A stage inside a child that ignores cancellation is abandoned after the
// grace period, and recorded so, as it would be inline.
func TestChildAbandonsAStageThatDoesNotStop(t *testing.T) {
	r, kit, _ := load(t, `version: 1
stages:
  sweep:
    uses: matrix
    with: {n: [1]}
    stages:
      deaf: {uses: emit, with: {sleep: 600ms, deaf: true}}
`)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for kit.Runs("sweep[0]/deaf") == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	x := &testExecutor{t: t, plan: forceChildren}
	rec, err := x.Run(ctx, r, runner.Options{OutDir: t.TempDir(), Logger: exectest.Logger(t), Grace: 50 * time.Millisecond})
	if err != nil || rec.Status != pipeline.RunInterrupted {
		t.Fatalf("run: %v %v", err, rec.Status)
	}
	if s := exectest.Stage(t, rec, "sweep[0]/deaf"); s.Status != pipeline.StageCancelled || !strings.Contains(s.Reason, "did not stop within 50ms") {
		t.Errorf("deaf: %s (%s)", s.Status, s.Reason)
	}
	time.Sleep(700 * time.Millisecond) // let the deaf stage end
}
