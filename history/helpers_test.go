package history_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"lopper/pipeline"
	"lopper/pipeline/pipelinetest"
	"lopper/pipeline/runner"
)

// gradual is a recipe run by the real runner with the engine's test kinds:
// a baseline (accuracy 0.9, perplexity 10), then a loop whose iteration i
// measures accuracy 0.9 − 0.02·i, perplexity 10 + i and sparsity
// 0.1·(i+1), stopping once acc_drop > max_drop and keeping the last
// passing iteration.
const gradual = `version: 1
name: gradual
params: {max_drop: 0.05}
baseline: baseline
stages:
  base: {uses: emit, with: {value: 1}}
  baseline: {uses: emit, with: {reads: [base], metrics: {accuracy: 0.9, perplexity: 10}}}
  loop:
    uses: loop
    with: {max_iterations: 10, until: acc_drop > params.max_drop, from: base, carry: step, measure: check}
    stages:
      step: {uses: emit, with: {input: prev, add: 1, metrics: {sparsity: "${{ 0.1 * (iteration + 1) }}"}}}
      check:
        uses: emit
        with:
          input: step
          metrics: {accuracy: "${{ 0.9 - 0.02 * iteration }}", perplexity: "${{ 10 + iteration }}"}
  final: {uses: emit, with: {input: loop}}
`

// keptIteration is the iteration gradual keeps for max_drop: the last i
// with 0.02·i ≤ max_drop before the first one above it.
func keptIteration(maxDrop float64) int {
	i := 0
	for 0.02*float64(i+1) <= maxDrop+1e-12 {
		i++
	}
	return i
}

// runRecipe runs src with the real runner into outDir and returns its
// record. The recipe file sits next to outDir (OUT.yaml), so that runs into
// one outDir share it.
func runRecipe(t *testing.T, outDir, src string, set ...string) *pipeline.RunRecord {
	t.Helper()
	f := filepath.Join(filepath.Dir(outDir), filepath.Base(outDir)+".yaml")
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	reg := pipeline.NewRegistry()
	pipelinetest.New().Register(reg)
	r, err := pipeline.Load(f, pipeline.LoadOptions{Registry: reg, Set: set})
	if err != nil {
		t.Fatalf("recipe does not load:\n%v", err)
	}
	rec, err := runner.Run(context.Background(), r, runner.Options{OutDir: outDir, Version: "test"})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return rec
}

// writeFile writes a file, making its directory.
func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func fmtF(v float64) string { return fmt.Sprint(v) }

func posInf() float64 { return math.Inf(1) }
func nan() float64    { return math.NaN() }
