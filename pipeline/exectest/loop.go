package exectest

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"lopper/pipeline"
	"lopper/pipeline/pipelinetest"
	"lopper/pipeline/runner"
)

// GradualRecipe: the loop adds 1 to a number each iteration (starting from
// base's 1), and the measured accuracy falls by 0.02 per iteration from the
// baseline's 0.9, so acc_drop after iteration i is 0.02·i.
func GradualRecipe(maxIter int, maxDrop float64, keep string) string {
	return fmt.Sprintf(`version: 1
params: {max_drop: %g}
baseline: baseline
stages:
  base: {uses: emit, with: {value: 1}}
  baseline: {uses: emit, with: {reads: [base], metrics: {accuracy: 0.9, perplexity: 10}}}
  gradual:
    uses: loop
    with:
      max_iterations: %d
      until: acc_drop > params.max_drop
      keep: %s
      from: base
      carry: step
      measure: check
    stages:
      step: {uses: emit, with: {input: prev, add: 1}}
      check:
        uses: emit
        with:
          input: step
          metrics: {accuracy: "${{ 0.9 - 0.02 * iteration }}", perplexity: "${{ 10 + iteration }}"}
  final: {uses: emit, with: {input: gradual}}
`, maxDrop, maxIter, keep)
}

func testLoopUntilStopsAndKeepsLastPassing(t *testing.T, ex Executor) {
	kit := pipelinetest.New()
	rec := runRecipe(t, ex, context.Background(), kit, GradualRecipe(10, 0.05, "last_passing"), runner.Options{})
	if rec.Status != pipeline.RunSucceeded {
		t.Fatalf("status %s: %s", rec.Status, rec.Error)
	}
	// acc_drop = 0, .02, .04, .06: until first true after iteration 3, so
	// iteration 2 is the last passing one; its number is 1 + 3 = 4.
	g := stage(t, rec, "gradual")
	if g.Loop.Kept == nil || *g.Loop.Kept != 2 {
		t.Fatalf("kept %v, want 2", g.Loop.Kept)
	}
	if len(g.Loop.Iterations) != 4 {
		t.Fatalf("%d iterations ran, want 4", len(g.Loop.Iterations))
	}
	for i, it := range g.Loop.Iterations {
		if it.Until == nil || *it.Until != (i == 3) {
			t.Errorf("iteration %d: until %v", i, it.Until)
		}
	}
	if !strings.Contains(g.Loop.StopReason, "until became true after iteration 3") {
		t.Errorf("stop reason %q", g.Loop.StopReason)
	}
	want := map[string]float64{"value": 4, "accuracy": 0.86, "perplexity": 12, "iterations": 4, "kept_iteration": 2,
		"acc_drop": 0.04, "ppl_ratio": 1.2}
	for m, v := range want {
		if got := g.Metrics[m]; math.Abs(got-v) > 1e-12 {
			t.Errorf("gradual.%s = %v, want %v", m, got, v)
		}
	}
	if got := stage(t, rec, "final").Metrics["value"]; got != 4 {
		t.Errorf("downstream of the loop got number %v, want the kept iteration's 4", got)
	}
	if kit.Runs("gradual[4]/step") != 0 {
		t.Errorf("an iteration ran after until became true")
	}
	// Each iteration's step read the previous iteration's number.
	for i := 0; i < 4; i++ {
		if got := stage(t, rec, fmt.Sprintf("gradual[%d]/step", i)).Metrics["value"]; got != float64(2+i) {
			t.Errorf("iteration %d: step value %v, want %d", i, got, 2+i)
		}
	}
}

func testLoopKeepLast(t *testing.T, ex Executor) {
	rec := runRecipe(t, ex, context.Background(), pipelinetest.New(), GradualRecipe(10, 0.05, "last"), runner.Options{})
	g := stage(t, rec, "gradual")
	if g.Loop.Kept == nil || *g.Loop.Kept != 3 || g.Metrics["value"] != 5 {
		t.Errorf("keep last: kept %v value %v, want 3 and 5", g.Loop.Kept, g.Metrics["value"])
	}
}

func testLoopMaxIterationsBounds(t *testing.T, ex Executor) {
	kit := pipelinetest.New()
	rec := runRecipe(t, ex, context.Background(), kit, GradualRecipe(3, 1, "last_passing"), runner.Options{})
	if rec.Status != pipeline.RunSucceeded {
		t.Fatalf("status %s: %s", rec.Status, rec.Error)
	}
	g := stage(t, rec, "gradual")
	if len(g.Loop.Iterations) != 3 || *g.Loop.Kept != 2 || g.Metrics["iterations"] != 3 {
		t.Errorf("ran %d iterations, kept %d, want 3 and 2", len(g.Loop.Iterations), *g.Loop.Kept)
	}
	if g.Loop.StopReason != "reached max_iterations (3)" {
		t.Errorf("stop reason %q", g.Loop.StopReason)
	}
	if kit.Runs("gradual[3]/step") != 0 {
		t.Errorf("a 4th iteration ran")
	}
}

func testLoopNoPassingIterationFails(t *testing.T, ex Executor) {
	// max_drop -1: acc_drop (0) > -1 already after iteration 0.
	rec := runRecipe(t, ex, context.Background(), pipelinetest.New(), GradualRecipe(5, -1, "last_passing"), runner.Options{})
	if rec.Status != pipeline.RunFailed {
		t.Fatalf("status %s", rec.Status)
	}
	g := stage(t, rec, "gradual")
	if g.Status != pipeline.StageFailed || !strings.Contains(g.Error, "no iteration passed: until became true after iteration 0") {
		t.Errorf("gradual: %s %q", g.Status, g.Error)
	}
	if s := stage(t, rec, "final"); s.Status != pipeline.StageCancelled {
		t.Errorf("final: %s", s.Status)
	}
}

func testLoopBodyFailure(t *testing.T, ex Executor) {
	src := `version: 1
stages:
  base: {uses: emit, with: {value: 0}}
  loop:
    uses: loop
    with: {max_iterations: 5, from: base, carry: step}
    stages:
      step: {uses: emit, with: {input: prev, add: 1}}
      check: {uses: emit, with: {reads: [step], fail: "${{ iteration == 1 ? 'diverged' : '' }}"}}
  after: {uses: emit, with: {input: loop}}
`
	kit := pipelinetest.New()
	rec := runRecipe(t, ex, context.Background(), kit, src, runner.Options{})
	if rec.Status != pipeline.RunFailed {
		t.Fatalf("status %s", rec.Status)
	}
	if !strings.Contains(rec.Error, "loop[1]/check: diverged") {
		t.Errorf("run error %q does not name the root cause", rec.Error)
	}
	l := stage(t, rec, "loop")
	if l.Status != pipeline.StageFailed || !strings.Contains(l.Error, "iteration 1: stage check failed") {
		t.Errorf("loop: %s %q", l.Status, l.Error)
	}
	if len(l.Loop.Iterations) != 2 || l.Loop.Iterations[1].Status != pipeline.StageFailed {
		t.Errorf("iterations: %d", len(l.Loop.Iterations))
	}
	if stage(t, rec, "after").Status != pipeline.StageCancelled || kit.Runs("loop[2]/step") != 0 {
		t.Errorf("the loop went on or its dependent ran")
	}
}

// Without until the loop runs max_iterations times; iteration is in scope.
func testLoopWithoutUntil(t *testing.T, ex Executor) {
	src := `version: 1
stages:
  loop:
    uses: loop
    with: {max_iterations: 3, carry: step}
    stages:
      step: {uses: emit, with: {value: "${{ iteration * 10 }}"}}
`
	rec := runRecipe(t, ex, context.Background(), pipelinetest.New(), src, runner.Options{})
	l := stage(t, rec, "loop")
	if rec.Status != pipeline.RunSucceeded || *l.Loop.Kept != 2 || l.Metrics["value"] != 20 {
		t.Errorf("status %s kept %v value %v", rec.Status, l.Loop.Kept, l.Metrics["value"])
	}
}
