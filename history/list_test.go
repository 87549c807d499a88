package history_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lopper/history"
	"lopper/pipeline"
)

// Two real runs and four broken run directories: List returns the runs
// newest first, reports every broken one with a precise reason, and skips
// directories that are not runs.
func TestListToleratesBrokenRuns(t *testing.T) {
	out := t.TempDir()
	first := runRecipe(t, out, gradual)
	second := runRecipe(t, out, gradual, "max_drop=0.03")

	good, err := os.ReadFile(filepath.Join(first.RunDir, pipeline.RecordFile))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(out, "20200101T000000Z-truncated", "run.json"), string(good[:len(good)/2]))
	writeFile(t, filepath.Join(out, "20200101T000001Z-garbage", "run.json"), "{\n  \"schema\": 1,\n  \"name\": oops\n}")
	writeFile(t, filepath.Join(out, "20200101T000002Z-future", "run.json"), `{"schema": 99, "name": "x"}`)
	if err := os.MkdirAll(filepath.Join(out, "20200101T000003Z-norecord"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(out, "notes"), 0o755); err != nil { // not a run
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(out, "README"), "not a directory")

	entries, err := history.List(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name)
	}
	want := []string{
		filepath.Base(second.RunDir), filepath.Base(first.RunDir),
		"20200101T000003Z-norecord", "20200101T000002Z-future", "20200101T000001Z-garbage", "20200101T000000Z-truncated",
	}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("listed %v\nwant %v", names, want)
	}
	wantErr := map[string]string{
		"20200101T000000Z-truncated": "truncated",
		"20200101T000001Z-garbage":   "line 3, column 11",
		"20200101T000002Z-future":    "schema 99",
		"20200101T000003Z-norecord":  "no such file",
	}
	for _, e := range entries {
		w, broken := wantErr[e.Name]
		switch {
		case broken && (e.Err == nil || !strings.Contains(e.Err.Error(), w)):
			t.Errorf("%s: error %v, want one mentioning %q", e.Name, e.Err, w)
		case !broken && (e.Err != nil || e.Record == nil):
			t.Errorf("%s: %v", e.Name, e.Err)
		}
	}

	list := history.Summarize(entries)
	var buf bytes.Buffer
	if err := history.WriteList(&buf, list); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	t.Logf("\n%s", text)
	for _, s := range []string{"4 run(s) could not be read:", "20200101T000001Z-garbage", "STATUS", "succeeded"} {
		if !strings.Contains(text, s) {
			t.Errorf("listing lacks %q", s)
		}
	}
	lines := strings.Split(text, "\n")
	if !strings.Contains(lines[1], filepath.Base(second.RunDir)) || !strings.Contains(lines[1], "0.88") || !strings.Contains(lines[1], "20.0%") {
		t.Errorf("newest run's line %q: want accuracy 0.88 and sparsity 20.0%%", lines[1])
	}

	b, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	var back []map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back[0]["status"] != "succeeded" || back[5]["status"] != history.StatusUnreadable || back[5]["error"] == "" {
		t.Errorf("JSON listing: %s", b)
	}
}

// The headline of a loop recipe is the kept iteration's numbers, computed
// here from the recipe's own formulas.
func TestHeadlineIsTheKeptIteration(t *testing.T) {
	for _, drop := range []float64{0.05, 0.03, 0.01} {
		rec := runRecipe(t, t.TempDir(), gradual, "max_drop="+fmtF(drop))
		k := keptIteration(drop)
		h := history.HeadlineOf(rec)
		if h.Stage != "loop" {
			t.Errorf("max_drop %g: final stage %q, want loop", drop, h.Stage)
		}
		want := map[string]float64{"accuracy": 0.9 - 0.02*float64(k), "perplexity": 10 + float64(k), "sparsity": 0.1 * float64(k+1)}
		for m, v := range want {
			if got, ok := h.Metrics[m]; !ok || !near(got, v) {
				t.Errorf("max_drop %g: %s = %v (present %v), want %v (kept iteration %d)", drop, m, got, ok, v, k)
			}
		}
		before, after, ok := history.BeforeAfter(rec)
		if !ok || before.ID != "baseline" || after.ID != "loop" {
			t.Errorf("before/after = %v, %v, %v", before, after, ok)
		}
	}
}

// A sweep has no final evaluation: its headline has no accuracy, and the
// baseline's sparsity (0, the dense model) is not the run's.
func TestHeadlineOfASweep(t *testing.T) {
	src := `version: 1
baseline: baseline
stages:
  baseline: {uses: emit, with: {metrics: {accuracy: 0.9, sparsity: 0}}}
  sweep:
    uses: matrix
    with: {sparsity: [0.5, 0.7]}
    stages:
      check: {uses: emit, with: {metrics: {accuracy: 0.5, sparsity: "${{ matrix.sparsity }}"}}}
`
	h := history.HeadlineOf(runRecipe(t, t.TempDir(), src))
	if h.Stage != "" || h.Metrics != nil {
		t.Errorf("headline %+v, want none", h)
	}
}

// Without a declared baseline, before is the first evaluation to finish.
func TestBeforeAfterWithoutBaseline(t *testing.T) {
	src := `version: 1
stages:
  a: {uses: emit, with: {metrics: {accuracy: 0.9}}}
  b: {uses: emit, with: {reads: [a], metrics: {accuracy: 0.7}}}
  c: {uses: emit, with: {reads: [b], metrics: {other: 1}}}
`
	rec := runRecipe(t, t.TempDir(), src)
	before, after, ok := history.BeforeAfter(rec)
	if !ok || before.ID != "a" || after.ID != "b" {
		t.Fatalf("before/after = %v, %v, %v; want a, b", before, after, ok)
	}
	if _, ok := history.Baseline(rec); ok {
		t.Errorf("a baseline was found in a recipe that declares none")
	}
}
