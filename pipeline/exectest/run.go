package exectest

import (
	"context"
	"strings"
	"testing"
	"time"

	"lopper/pipeline"
	"lopper/pipeline/pipelinetest"
	"lopper/pipeline/runner"
)

// Two independent stages meet at a rendezvous that only opens when both are
// running: the run can only succeed if they overlap in time.
func testIndependentStagesOverlap(t *testing.T, ex Executor) {
	kit := pipelinetest.New()
	src := `version: 1
stages:
  a: {uses: emit, with: {meet: both, parties: 2, metrics: {x: 1}}}
  b: {uses: emit, with: {meet: both, parties: 2, metrics: {x: 2}}}
  c: {uses: emit, with: {reads: [a, b], metrics: {x: 3}}}
`
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rec := runRecipe(t, ex, ctx, kit, src, runner.Options{Jobs: 2})
	if rec.Status != pipeline.RunSucceeded {
		t.Fatalf("status %s (%s): a and b did not run at the same time", rec.Status, rec.Error)
	}
	if got := kit.MaxActive(); got != 2 {
		t.Errorf("max concurrent stages = %d, want 2", got)
	}
	a, b, c := stage(t, rec, "a"), stage(t, rec, "b"), stage(t, rec, "c")
	if !a.Started.Before(b.Ended) || !b.Started.Before(a.Ended) {
		t.Errorf("a [%v, %v] and b [%v, %v] do not overlap", a.Started, a.Ended, b.Started, b.Ended)
	}
	if c.Started.Before(a.Ended) || c.Started.Before(b.Ended) {
		t.Errorf("c started before its dependencies ended")
	}
}

// With --jobs 1, independent stages run one at a time.
func testJobsOneSerialises(t *testing.T, ex Executor) {
	kit := pipelinetest.New()
	src := `version: 1
stages:
  a: {uses: emit, with: {sleep: 20ms, metrics: {x: 1}}}
  b: {uses: emit, with: {sleep: 20ms, metrics: {x: 1}}}
  c: {uses: emit, with: {sleep: 20ms, metrics: {x: 1}}}
  d:
    uses: matrix
    with: {n: [1, 2, 3]}
    stages:
      e: {uses: emit, with: {sleep: 5ms, metrics: {x: 1}}}
`
	rec := runRecipe(t, ex, context.Background(), kit, src, runner.Options{Jobs: 1})
	if rec.Status != pipeline.RunSucceeded {
		t.Fatalf("status %s: %s", rec.Status, rec.Error)
	}
	if got := kit.MaxActive(); got != 1 {
		t.Errorf("max concurrent stages = %d with --jobs 1, want 1", got)
	}
	var spans [][2]time.Time
	rec.Walk(func(s *pipeline.StageRecord) {
		if s.Uses == "emit" {
			spans = append(spans, [2]time.Time{s.Started, s.Ended})
		}
	})
	if len(spans) != 6 {
		t.Fatalf("%d emit stages ran, want 6", len(spans))
	}
	for i := range spans {
		for j := range spans {
			if i != j && spans[i][0].Before(spans[j][1]) && spans[j][0].Before(spans[i][1]) {
				t.Errorf("stages %d and %d overlap with --jobs 1", i, j)
			}
		}
	}
}

// A failed stage cancels its dependents only; independent stages finish.
func testFailureCancelsOnlyDependents(t *testing.T, ex Executor) {
	kit := pipelinetest.New()
	src := `version: 1
stages:
  bad: {uses: emit, with: {fail: "disk on fire"}}
  child: {uses: emit, with: {reads: [bad], metrics: {x: 1}}}
  grandchild: {uses: emit, with: {reads: [child], metrics: {x: 1}}}
  other: {uses: emit, with: {sleep: 30ms, metrics: {x: 1}}}
  after_other: {uses: emit, with: {reads: [other], metrics: {x: 1}}}
`
	rec := runRecipe(t, ex, context.Background(), kit, src, runner.Options{Jobs: 4})
	if rec.Status != pipeline.RunFailed {
		t.Fatalf("status %s, want failed", rec.Status)
	}
	if !strings.Contains(rec.Error, "bad: disk on fire") {
		t.Errorf("run error %q does not name the root cause", rec.Error)
	}
	want := map[string]pipeline.StageStatus{
		"bad": pipeline.StageFailed, "child": pipeline.StageCancelled, "grandchild": pipeline.StageCancelled,
		"other": pipeline.StageSucceeded, "after_other": pipeline.StageSucceeded,
	}
	for path, st := range want {
		if got := stage(t, rec, path).Status; got != st {
			t.Errorf("%s: status %s, want %s", path, got, st)
		}
	}
	if r := stage(t, rec, "child").Reason; r != "dependency bad failed" {
		t.Errorf("child reason %q", r)
	}
	if r := stage(t, rec, "grandchild").Reason; r != "dependency child cancelled" {
		t.Errorf("grandchild reason %q", r)
	}
	if kit.Runs("child") != 0 {
		t.Errorf("child ran after its dependency failed")
	}
}

// --fail-fast cancels everything, including independent running stages.
func testFailFastCancelsEverything(t *testing.T, ex Executor) {
	kit := pipelinetest.New()
	src := `version: 1
stages:
  bad: {uses: emit, with: {sleep: 10ms, fail: boom}}
  slow: {uses: emit, with: {block: true}}
  later: {uses: emit, with: {reads: [slow], metrics: {x: 1}}}
`
	start := time.Now()
	rec := runRecipe(t, ex, context.Background(), kit, src, runner.Options{Jobs: 4, FailFast: true})
	if time.Since(start) > 5*time.Second {
		t.Errorf("fail-fast took %v", time.Since(start))
	}
	if rec.Status != pipeline.RunFailed {
		t.Fatalf("status %s, want failed", rec.Status)
	}
	for path, st := range map[string]pipeline.StageStatus{"bad": pipeline.StageFailed, "slow": pipeline.StageCancelled, "later": pipeline.StageCancelled} {
		if got := stage(t, rec, path).Status; got != st {
			t.Errorf("%s: status %s, want %s", path, got, st)
		}
	}
	if r := stage(t, rec, "slow").Reason; !strings.Contains(r, "fail-fast") {
		t.Errorf("slow: reason %q does not mention --fail-fast", r)
	}
}

// Cancelling the context (what SIGINT does) stops running stages promptly
// and records the run as interrupted.
func testCancellationInterruptsRun(t *testing.T, ex Executor) {
	kit := pipelinetest.New()
	src := `version: 1
stages:
  quick: {uses: emit, with: {metrics: {x: 1}}}
  stuck: {uses: emit, with: {reads: [quick], block: true}}
  waiting: {uses: emit, with: {reads: [stuck], metrics: {x: 1}}}
`
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for kit.Runs("stuck") == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	start := time.Now()
	rec := runRecipe(t, ex, ctx, kit, src, runner.Options{Jobs: 4, Grace: 5 * time.Second})
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("interrupted run took %v to stop", d)
	}
	if rec.Status != pipeline.RunInterrupted {
		t.Fatalf("status %s, want interrupted", rec.Status)
	}
	if got := stage(t, rec, "quick").Status; got != pipeline.StageSucceeded {
		t.Errorf("quick: %s", got)
	}
	for _, p := range []string{"stuck", "waiting"} {
		if s := stage(t, rec, p); s.Status != pipeline.StageCancelled || s.Reason != "interrupted" {
			t.Errorf("%s: status %s reason %q, want cancelled/interrupted", p, s.Status, s.Reason)
		}
	}
	if got := readRecord(t, rec)["status"]; got != "interrupted" {
		t.Errorf("run.json status %v", got)
	}
}

// A stage that ignores cancellation does not hold the run hostage: after the
// grace period the run is recorded without it.
func testCancellationGracePeriod(t *testing.T, ex Executor) {
	kit := pipelinetest.New()
	src := `version: 1
stages:
  deaf: {uses: emit, with: {sleep: 2s, deaf: true}}
`
	// The stage sleeps 2 s: a run that waits for it takes longer than that,
	// one that keeps to the grace period ends long before (1.5 s leaves
	// room for a loaded machine under -race).
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for kit.Runs("deaf") == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	start := time.Now()
	rec := runRecipe(t, ex, ctx, kit, src, runner.Options{Grace: 50 * time.Millisecond})
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("run took %v; the grace period is 50ms", d)
	}
	if rec.Status != pipeline.RunInterrupted {
		t.Fatalf("status %s, want interrupted", rec.Status)
	}
	if s := stage(t, rec, "deaf"); s.Status != pipeline.StageCancelled || !strings.Contains(s.Reason, "did not stop within 50ms") {
		t.Errorf("deaf: status %s reason %q", s.Status, s.Reason)
	}
	time.Sleep(2300*time.Millisecond - time.Since(start)) // let the deaf stage end: its late update must be dropped
	if got := readRecord(t, rec)["status"]; got != "interrupted" {
		t.Errorf("run.json status after the late stage ended: %v", got)
	}
}

// A panic in a stage becomes that stage's error; the process survives.
func testPanicBecomesStageError(t *testing.T, ex Executor) {
	kit := pipelinetest.New()
	src := `version: 1
stages:
  crash: {uses: emit, with: {panic: "index out of range"}}
  fine: {uses: emit, with: {metrics: {x: 1}}}
`
	rec := runRecipe(t, ex, context.Background(), kit, src, runner.Options{})
	s := stage(t, rec, "crash")
	if s.Status != pipeline.StageFailed || s.Error != "panic: index out of range" {
		t.Errorf("crash: status %s error %q", s.Status, s.Error)
	}
	if stage(t, rec, "fine").Status != pipeline.StageSucceeded {
		t.Errorf("fine did not succeed")
	}
	if rec.Status != pipeline.RunFailed {
		t.Errorf("status %s", rec.Status)
	}
}

// when: false skips a stage and its dependents, and the run succeeds.
func testWhenSkips(t *testing.T, ex Executor) {
	kit := pipelinetest.New()
	src := `version: 1
params: {strict: false}
stages:
  a: {uses: emit, with: {metrics: {x: 2}}}
  b: {uses: emit, when: "params.strict || a.x > 5", with: {metrics: {x: 1}}}
  c: {uses: emit, with: {reads: [b], metrics: {x: 1}}}
  d: {uses: emit, when: "a.x == 2", with: {metrics: {x: 1}}}
`
	rec := runRecipe(t, ex, context.Background(), kit, src, runner.Options{})
	if rec.Status != pipeline.RunSucceeded {
		t.Fatalf("status %s: %s", rec.Status, rec.Error)
	}
	for path, st := range map[string]pipeline.StageStatus{"a": pipeline.StageSucceeded, "b": pipeline.StageSkipped, "c": pipeline.StageSkipped, "d": pipeline.StageSucceeded} {
		if got := stage(t, rec, path).Status; got != st {
			t.Errorf("%s: %s, want %s", path, got, st)
		}
	}
	if r := stage(t, rec, "b").Reason; r != "when is false: params.strict || a.x > 5" {
		t.Errorf("b reason %q", r)
	}
	// b's when reads a, so b depends on a without a needs: evaluated
	// before a finished, a.x would have been an error, not false.
}

// Stages named like expression functions run, and expressions read them as
// stages (the function of that name is hidden where they are visible).
func testStagesNamedLikeFunctionsRun(t *testing.T, ex Executor) {
	kit := pipelinetest.New()
	src := `version: 1
stages:
  first: {uses: emit, with: {value: 1, metrics: {n: 3}}}
  count: {uses: emit, with: {input: first, add: "${{ len([1, 2]) }}"}}
  sum: {uses: emit, when: "first.n + count.value == 6", with: {metrics: {n: 1}}}
  gate: {uses: assert, with: {that: "sum.n == 1"}}
`
	rec := runRecipe(t, ex, context.Background(), kit, src, runner.Options{})
	if rec.Status != pipeline.RunSucceeded {
		t.Fatalf("status %s: %s", rec.Status, rec.Error)
	}
	if s := stage(t, rec, "sum"); s.Status != pipeline.StageSucceeded {
		t.Errorf("sum: %s, want it run (first.n + count.value = 3 + 3)", s.Status)
	}
}

// A run whose context is already cancelled starts no stage: every one is
// cancelled as interrupted, none failed.
func testCancelledBeforeStart(t *testing.T, ex Executor) {
	kit := pipelinetest.New()
	src := `version: 1
stages:
  a: {uses: emit, with: {metrics: {x: 1}}}
  b: {uses: emit, with: {sleep: 10ms, metrics: {x: 1}}}
  c: {uses: emit, with: {reads: [a], metrics: {x: 1}}}
`
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := runRecipe(t, ex, ctx, kit, src, runner.Options{Jobs: 4})
	if rec.Status != pipeline.RunInterrupted {
		t.Fatalf("status %s, want interrupted", rec.Status)
	}
	for _, p := range []string{"a", "b", "c"} {
		if s := stage(t, rec, p); s.Status != pipeline.StageCancelled || s.Reason != "interrupted" || kit.Runs(p) != 0 {
			t.Errorf("%s: status %s reason %q, ran %d times; want cancelled/interrupted, never run", p, s.Status, s.Reason, kit.Runs(p))
		}
	}
}
