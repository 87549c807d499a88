package history_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"lopper/history"
	"lopper/pipeline"
)

// Two real runs of one recipe with different params: the comparison shows
// the changed param, the stage that ran in only one run, metric deltas
// computed from the recipe's formulas, and which artifact digests differ.
func TestCompareRealRuns(t *testing.T) {
	out := t.TempDir()
	a := runRecipe(t, out, gradual, "max_drop=0.05") // keeps iteration 2, runs 4
	b := runRecipe(t, out, gradual, "max_drop=0.03") // keeps iteration 1, runs 3
	fa, fb := filepath.Join(a.RunDir, pipeline.RecordFile), filepath.Join(b.RunDir, pipeline.RecordFile)
	ra, err := history.Read(fa)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := history.Read(fb)
	if err != nil {
		t.Fatal(err)
	}
	c := history.Compare(fa, ra, fb, rb)

	if len(c.Params) != 1 || c.Params[0].Name != "max_drop" || !c.Params[0].Changed || c.Params[0].A != 0.05 || c.Params[0].B != 0.03 {
		t.Errorf("params: %+v", c.Params)
	}
	for _, f := range c.Run {
		if f.Changed {
			t.Errorf("run field %s marked changed: %q vs %q", f.Field, f.A, f.B)
		}
	}
	stages := map[string]history.StageRow{}
	var order []string
	for _, s := range c.Stages {
		stages[s.Stage] = s
		order = append(order, s.Stage)
	}
	// B ran iterations 0..2: A's extra iteration 3 sits after iteration 2.
	wantOrder := []string{"base", "baseline", "loop", "loop[0]/step", "loop[0]/check", "loop[1]/step", "loop[1]/check",
		"loop[2]/step", "loop[2]/check", "loop[3]/step", "loop[3]/check", "final"}
	if !slices.Equal(order, wantOrder) {
		t.Errorf("stage order %v\nwant %v", order, wantOrder)
	}
	// Reversed, B's extra iteration is merged in at the same place.
	var rev []string
	for _, s := range history.Compare(fb, rb, fa, ra).Stages {
		rev = append(rev, s.Stage)
	}
	if !slices.Equal(rev, wantOrder) {
		t.Errorf("reversed stage order %v\nwant %v", rev, wantOrder)
	}
	if s := stages["loop[3]/check"]; s.StatusA != "succeeded" || s.StatusB != "" || s.SecondsB != nil {
		t.Errorf("loop[3]/check ran only in A: %+v", s)
	}
	if s := stages["baseline"]; s.ConfigChanged || s.StatusA != s.StatusB {
		t.Errorf("baseline: %+v", s)
	}
	metrics := map[string]history.MetricRow{}
	for _, m := range c.Metrics {
		metrics[m.Stage+"."+m.Metric] = m
	}
	acc := metrics["loop.accuracy"]
	if acc.A == nil || acc.B == nil || acc.Delta == nil ||
		!near(float64(*acc.A), 0.86) || !near(float64(*acc.B), 0.88) || !near(float64(*acc.Delta), 0.02) {
		t.Errorf("loop.accuracy: %+v", acc)
	}
	if m := metrics["loop[3]/check.accuracy"]; m.A == nil || m.B != nil || m.Delta != nil {
		t.Errorf("loop[3]/check.accuracy only in A: %+v", m)
	}
	arts := map[string]history.ArtifactRow{}
	for _, r := range c.Artifacts {
		arts[r.Stage+"."+r.Artifact] = r
	}
	// base's number is 1 in both; the loop carries 1 + kept + 1.
	if r := arts["base.number"]; !r.Same || r.A != "number:1" {
		t.Errorf("base.number: %+v", r)
	}
	if r := arts["final.number"]; r.Same || r.A != "number:4" || r.B != "number:3" {
		t.Errorf("final.number: %+v", r)
	}

	var buf bytes.Buffer
	if err := history.WriteComparison(&buf, c); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	t.Logf("\n%s", text)
	for _, line := range []string{"max_drop", "loop.accuracy", "final.number"} {
		if !hasLine(text, "*", line) {
			t.Errorf("no changed (*) line for %s", line)
		}
	}
	for _, line := range []string{"base.number", "baseline.accuracy"} {
		if hasLine(text, "*", line) || !hasLine(text, " ", line) {
			t.Errorf("%s should be listed unchanged", line)
		}
	}
	if !strings.Contains(text, "+0.02 (+2.3%)") {
		t.Errorf("loop.accuracy delta not shown as +0.02 (+2.3%%)")
	}

	j, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Metrics []struct {
			Stage, Metric string
			A, B, Delta   *float64
		}
	}
	if err := json.Unmarshal(j, &back); err != nil {
		t.Fatalf("diff JSON does not decode: %v", err)
	}
	if len(back.Metrics) != len(c.Metrics) {
		t.Errorf("JSON has %d metric rows, want %d", len(back.Metrics), len(c.Metrics))
	}
}

// NaN and ±Inf metrics survive the JSON comparison and read as unchanged
// when equal.
func TestCompareNonFinite(t *testing.T) {
	src := `version: 1
stages:
  a: {uses: emit, with: {metrics: {x: 1}}}
`
	out := t.TempDir()
	ra, rb := runRecipe(t, out, src), runRecipe(t, out, src)
	ra.Stages[0].Metrics["ppl"] = posInf()
	rb.Stages[0].Metrics["ppl"] = posInf()
	ra.Stages[0].Metrics["nan"] = nan()
	c := history.Compare("a", ra, "b", rb)
	if _, err := json.Marshal(c); err != nil {
		t.Fatalf("comparison with NaN/Inf does not encode: %v", err)
	}
	var buf bytes.Buffer
	if err := history.WriteComparison(&buf, c); err != nil {
		t.Fatal(err)
	}
	if !hasLine(buf.String(), " ", "a.ppl") || !hasLine(buf.String(), "*", "a.nan") {
		t.Errorf("non-finite metrics:\n%s", buf.String())
	}
}

// hasLine reports whether text has a line starting with mark and then,
// after spaces, cell.
func hasLine(text, mark, cell string) bool {
	for l := range strings.SplitSeq(text, "\n") {
		if strings.HasPrefix(l, mark) && strings.HasPrefix(strings.TrimLeft(l[1:], " "), cell+" ") {
			return true
		}
	}
	return false
}

func TestResolve(t *testing.T) {
	out := t.TempDir()
	for _, d := range []string{"20260101T000000Z-alpha", "20260101T000001Z-alpha", "20260102T000000Z-beta"} {
		writeFile(t, filepath.Join(out, d, "run.json"), "{}")
	}
	if err := os.MkdirAll(filepath.Join(out, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	rel := func(p string) string { return filepath.Join(out, p, "run.json") }
	ok := []struct{ arg, want string }{
		{"20260102", rel("20260102T000000Z-beta")},
		{"20260101T000001Z-alpha", rel("20260101T000001Z-alpha")},
		{filepath.Join(out, "20260101T000000Z-alpha"), rel("20260101T000000Z-alpha")},
		{rel("20260101T000000Z-alpha"), rel("20260101T000000Z-alpha")},
	}
	for _, c := range ok {
		got, err := history.Resolve(out, c.arg)
		if err != nil || got != c.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", c.arg, got, err, c.want)
		}
	}
	bad := []struct{ arg, want string }{
		{"20260101", `"20260101" matches 2 runs`},
		{"2027", `no run in ` + out + ` matches "2027"`},
		{filepath.Join(out, "empty"), "directory without a run.json"},
		{filepath.Join(out, "missing", "x"), "no such run directory or file"},
	}
	for _, c := range bad {
		_, err := history.Resolve(out, c.arg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Resolve(%q) error %v, want %q", c.arg, err, c.want)
		}
	}
}
