package report

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Non-finite values (a diverged perplexity, a NaN loss) are left out of
// plots and said so; a plot with nothing finite is not drawn, and the
// report says why instead of failing.
func TestReportNonFiniteValues(t *testing.T) {
	rec := syntheticRecord(t)
	g, _ := rec.Find("gradual")
	g.Loop.Iterations[3].Stages[2].Metrics["perplexity"] = math.Inf(1)
	for _, it := range g.Loop.Iterations {
		it.Stages[1].Details = map[string]any{"curve": []map[string]any{{"step": 1, "loss": "NaN"}, {"step": 2, "loss": "+Inf"}}}
	}
	runDir := t.TempDir()
	v := Build(roundTrip(t, rec), Options{}, "report", rec.Started)
	out, err := Write(t.Context(), v, runDir, filepath.Join(runDir, "plots"), "report")
	if err != nil {
		t.Fatal(err)
	}
	if out.Plots != 4 {
		t.Errorf("%d plots drawn, want 4 (all but the loss)", out.Plots)
	}
	ppl := figureByName(t, v, "gradual-perplexity")
	if !strings.Contains(ppl.Caption, "1 non-finite values are not drawn.") || ppl.Error != "" {
		t.Errorf("perplexity caption %q, error %q", ppl.Caption, ppl.Error)
	}
	loss := figureByName(t, v, "retrain-loss")
	if !strings.Contains(loss.Error, "no finite points") || loss.File != "" {
		t.Errorf("loss figure: error %q, file %q", loss.Error, loss.File)
	}
	md, err := os.ReadFile(filepath.Join(runDir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"*Plot training loss: retrain not drawn: plot retrain-loss: no finite points*",
		"> Note: training loss: retrain: not drawn", "| 3 | succeeded | true | 0.8 | 0.575 | +Inf |", "| `gradual[0]/retrain` | loss | 2 | NaN | +Inf | - | 2 non-finite values |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	html, err := os.ReadFile(filepath.Join(runDir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	parseXML(t, html)
}
