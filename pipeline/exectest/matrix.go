package exectest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"lopper/pipeline"
	"lopper/pipeline/pipelinetest"
	"lopper/pipeline/runner"
)

func testMatrixCartesianProduct(t *testing.T, ex Executor) {
	kit := pipelinetest.New()
	// Every branch waits at one rendezvous for all four: the run succeeds
	// only if the branches run concurrently.
	src := `version: 1
stages:
  base: {uses: emit, with: {value: 100}}
  sweep:
    uses: matrix
    with: {sparsity: [0.25, 0.5], method: [wanda, magnitude]}
    stages:
      prune:
        uses: emit
        with:
          input: base
          add: "${{ matrix.sparsity }}"
          meet: all
          parties: 4
          details: {method: "${{ matrix.method }}", tag: "${{ matrix.method }}-${{ matrix.sparsity * 100 }}"}
`
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rec := runRecipe(t, ex, ctx, kit, src, runner.Options{Jobs: 4})
	if rec.Status != pipeline.RunSucceeded {
		t.Fatalf("status %s: %s", rec.Status, rec.Error)
	}
	m := stage(t, rec, "sweep")
	if m.Metrics["branches"] != 4 || len(m.Matrix.Branches) != 4 {
		t.Fatalf("branches: metric %v, records %d", m.Metrics["branches"], len(m.Matrix.Branches))
	}
	if got := fmt.Sprint(m.Matrix.Axes); got != "[sparsity method]" {
		t.Errorf("axes %s", got)
	}
	// First axis outermost.
	want := []struct {
		label  string
		value  float64
		method string
		tag    string
	}{
		{"sparsity=0.25, method=wanda", 100.25, "wanda", "wanda-25"},
		{"sparsity=0.25, method=magnitude", 100.25, "magnitude", "magnitude-25"},
		{"sparsity=0.5, method=wanda", 100.5, "wanda", "wanda-50"},
		{"sparsity=0.5, method=magnitude", 100.5, "magnitude", "magnitude-50"},
	}
	for i, w := range want {
		b := m.Matrix.Branches[i]
		if b.Label != w.label || b.Status != pipeline.StageSucceeded {
			t.Errorf("branch %d: %q %s, want %q", i, b.Label, b.Status, w.label)
		}
		p := stage(t, rec, fmt.Sprintf("sweep[%d]/prune", i))
		d := p.Details.(map[string]any)
		if p.Metrics["value"] != w.value || d["method"] != w.method || d["tag"] != w.tag {
			t.Errorf("branch %d: value %v details %v, want %v %s %s", i, p.Metrics["value"], d, w.value, w.method, w.tag)
		}
	}
}

// BranchFailureRecipe is a matrix whose second branch fails.
const BranchFailureRecipe = `version: 1
stages:
  sweep:
    uses: matrix
    with: {n: [1, 2, 3]}
    stages:
      work: {uses: emit, with: {metrics: {n: "${{ matrix.n }}"}, fail: "${{ matrix.n == 2 ? 'nan loss' : '' }}"}}
      after: {uses: emit, with: {reads: [work], metrics: {x: 1}}}
  report: {uses: emit, with: {reads: [sweep], metrics: {x: 1}}}
  independent: {uses: emit, with: {metrics: {x: 1}}}
`

func testMatrixBranchFailure(t *testing.T, ex Executor) {
	kit := pipelinetest.New()
	src := BranchFailureRecipe
	rec := runRecipe(t, ex, context.Background(), kit, src, runner.Options{})
	if rec.Status != pipeline.RunFailed {
		t.Fatalf("status %s", rec.Status)
	}
	if !strings.Contains(rec.Error, "sweep[1]/work: nan loss") {
		t.Errorf("run error %q", rec.Error)
	}
	m := stage(t, rec, "sweep")
	if m.Status != pipeline.StageFailed || !strings.Contains(m.Error, "1 of 3 branches failed; first: branch n=2: stage work failed") {
		t.Errorf("sweep: %s %q", m.Status, m.Error)
	}
	for i, st := range []pipeline.StageStatus{pipeline.StageSucceeded, pipeline.StageFailed, pipeline.StageSucceeded} {
		if got := m.Matrix.Branches[i].Status; got != st {
			t.Errorf("branch %d: %s, want %s", i, got, st)
		}
	}
	if stage(t, rec, "sweep[1]/after").Status != pipeline.StageCancelled || stage(t, rec, "sweep[2]/after").Status != pipeline.StageSucceeded {
		t.Errorf("failure leaked across branches")
	}
	if stage(t, rec, "report").Status != pipeline.StageCancelled || stage(t, rec, "independent").Status != pipeline.StageSucceeded {
		t.Errorf("report/independent wrong")
	}
}

// GateRecipe has a gate that fails (limit 1.1) and a stage behind it.
const GateRecipe = `version: 1
params: {limit: 1.1}
stages:
  baseline: {uses: emit, with: {metrics: {perplexity: 10}}}
  final: {uses: emit, with: {metrics: {perplexity: 12}}}
  gate:
    uses: assert
    with: {that: "final.perplexity < baseline.perplexity * params.limit", message: perplexity regressed}
  save: {uses: emit, with: {reads: [gate], metrics: {x: 1}}}
`

func testAssertGate(t *testing.T, ex Executor) {
	src := GateRecipe
	rec := runRecipe(t, ex, context.Background(), pipelinetest.New(), src, runner.Options{})
	if rec.Status != pipeline.RunGateFailed {
		t.Fatalf("status %s, want gate_failed", rec.Status)
	}
	g := stage(t, rec, "gate")
	want := "gate failed: final.perplexity < baseline.perplexity * params.limit: perplexity regressed (final.perplexity = 12, baseline.perplexity = 10, params.limit = 1.1)"
	if !g.Gate || g.Error != want {
		t.Errorf("gate error:\n got %q\nwant %q", g.Error, want)
	}
	if stage(t, rec, "save").Status != pipeline.StageCancelled {
		t.Errorf("a stage behind a failed gate ran")
	}
	// The same gate passes with a looser limit.
	rec = runRecipe(t, ex, context.Background(), pipelinetest.New(), strings.Replace(src, "limit: 1.1", "limit: 1.3", 1), runner.Options{})
	if rec.Status != pipeline.RunSucceeded {
		t.Errorf("status %s with limit 1.3", rec.Status)
	}
}

// A gate failure and a stage failure in one run: the run failed (exit 1).
func testStageFailureOutranksGate(t *testing.T, ex Executor) {
	src := `version: 1
stages:
  a: {uses: emit, with: {metrics: {x: 1}}}
  gate: {uses: assert, with: {that: "a.x > 1"}}
  bad: {uses: emit, with: {fail: broken}}
`
	rec := runRecipe(t, ex, context.Background(), pipelinetest.New(), src, runner.Options{})
	if rec.Status != pipeline.RunFailed {
		t.Errorf("status %s, want failed", rec.Status)
	}
}

// NestingRecipe nests a loop in a matrix and a matrix in a loop.
const NestingRecipe = `version: 1
stages:
  base: {uses: emit, with: {value: 0}}
  outer:
    uses: matrix
    with: {n: [1, 10]}
    stages:
      grow:
        uses: loop
        with: {max_iterations: 3, from: base, carry: step}
        stages:
          step: {uses: emit, with: {input: prev, add: "${{ matrix.n }}"}}
  around:
    uses: loop
    with: {max_iterations: 2, from: base, carry: pick}
    stages:
      fan:
        uses: matrix
        with: {k: [1, 2]}
        stages:
          leaf: {uses: emit, with: {input: prev, add: "${{ matrix.k * 100 + iteration }}"}}
      pick: {uses: emit, needs: [fan], with: {input: prev, add: 1}}
`

// Loops and matrices nest: a loop per matrix branch, and a matrix per loop
// iteration reading iteration and prev.
func testNesting(t *testing.T, ex Executor) {
	src := NestingRecipe
	rec := runRecipe(t, ex, context.Background(), pipelinetest.New(), src, runner.Options{})
	if rec.Status != pipeline.RunSucceeded {
		t.Fatalf("status %s: %s", rec.Status, rec.Error)
	}
	// Branch n adds n three times.
	for i, n := range []float64{1, 10} {
		if got := stage(t, rec, fmt.Sprintf("outer[%d]/grow", i)).Metrics["value"]; got != 3*n {
			t.Errorf("branch n=%v: loop value %v, want %v", n, got, 3*n)
		}
	}
	// Iteration 1's leaves start from iteration 0's pick (0 + 1 = 1).
	want := map[string]float64{
		"around[0]/fan[0]/leaf": 100, "around[0]/fan[1]/leaf": 200,
		"around[1]/fan[0]/leaf": 1 + 101, "around[1]/fan[1]/leaf": 1 + 201,
		"around": 2,
	}
	for path, v := range want {
		if got := stage(t, rec, path).Metrics["value"]; got != v {
			t.Errorf("%s: value %v, want %v", path, got, v)
		}
	}
}
