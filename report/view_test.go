package report

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// figureByName finds a figure of the view by its file stem.
func figureByName(t *testing.T, v *View, name string) *reportFigure {
	t.Helper()
	var names []string
	for _, f := range v.figures {
		if f.spec.Name == name {
			return f
		}
		names = append(names, f.spec.Name)
	}
	t.Fatalf("no figure %s; have %v", name, names)
	return nil
}

func samePoints(got, want []plotPoint) bool {
	return slices.EqualFunc(got, want, func(a, b plotPoint) bool {
		return math.Abs(a.X-b.X) < 1e-12 && math.Abs(a.Y-b.Y) < 1e-12
	})
}

// The plotted data is the record's, recomputed here from the formulas that
// built the synthetic record: the loop curve has one point per iteration
// at its prune's sparsity, marks the kept iteration and the one whose until
// stopped the loop; the sweep has one series per method over the sparsity
// axis, without the failed branch.
func TestReportPlotData(t *testing.T) {
	v := Build(syntheticRecord(t), Options{}, "report", time.Time{})
	const baseAcc, basePPL = 0.62, 8.5
	var acc, ppl []plotPoint
	for i := range 4 {
		sp := 0.2 * float64(i+1)
		acc = append(acc, plotPoint{sp, baseAcc - 0.005*float64(i*i)})
		ppl = append(ppl, plotPoint{sp, basePPL * (1 + 0.05*float64(i*i))})
	}
	for name, want := range map[string][]plotPoint{"gradual-accuracy": acc, "gradual-perplexity": ppl} {
		base := map[string]float64{"gradual-accuracy": baseAcc, "gradual-perplexity": basePPL}[name]
		f := figureByName(t, v, name)
		if len(f.spec.Series) != 1 || !samePoints(f.spec.Series[0].Points, want) {
			t.Errorf("%s series %+v, want %v", name, f.spec.Series, want)
		}
		if len(f.spec.Marks) != 2 {
			t.Fatalf("%s marks %+v, want kept and stop", name, f.spec.Marks)
		}
		kept, stop := f.spec.Marks[0], f.spec.Marks[1]
		if kept.Kind != plotMarkKept || kept.At != want[2] || kept.Label != "kept: iteration 2" {
			t.Errorf("%s kept mark %+v, want iteration 2 at %v", name, kept, want[2])
		}
		if stop.Kind != plotMarkStop || stop.At != want[3] || stop.Label != "until true: iteration 3" {
			t.Errorf("%s stop mark %+v, want iteration 3 at %v", name, stop, want[3])
		}
		if f.spec.XLabel != "sparsity" {
			t.Errorf("%s x label %q", name, f.spec.XLabel)
		}
		if len(f.spec.Refs) != 1 || f.spec.Refs[0].Y != base || f.spec.Refs[0].Label != "baseline" {
			t.Errorf("%s reference lines %+v, want the baseline's %v", name, f.spec.Refs, base)
		}
	}
	sweep := figureByName(t, v, "sweep-accuracy")
	want := map[string][]plotPoint{
		"method=magnitude": {{0.5, baseAcc - 0.05*0.5*10}, {0.7, baseAcc - 0.05*0.7*10}},
		"method=wanda":     {{0.5, baseAcc - 0.02*0.5*10}},
	}
	if len(sweep.spec.Series) != len(want) {
		t.Fatalf("sweep series %+v", sweep.spec.Series)
	}
	for _, s := range sweep.spec.Series {
		if !samePoints(s.Points, want[s.Label]) {
			t.Errorf("sweep series %s = %v, want %v", s.Label, s.Points, want[s.Label])
		}
	}
	loss := figureByName(t, v, "retrain-loss")
	if len(loss.spec.Series) != 4 {
		t.Fatalf("loss series: %d, want one per iteration", len(loss.spec.Series))
	}
	for i, s := range loss.spec.Series {
		var w []plotPoint
		for step := 1; step <= 4; step++ {
			w = append(w, plotPoint{float64(10 * step), 3.0 - 0.2*float64(step) + 0.1*float64(i)})
		}
		if !samePoints(s.Points, w) || !strings.HasPrefix(s.Label, "gradual[") {
			t.Errorf("loss series %d %q = %v, want %v", i, s.Label, s.Points, w)
		}
	}
}

// with.metrics narrows every table and curve to the metrics named, and
// with.include to the stages named; asking for an absent metric is noted.
func TestReportIncludeAndMetrics(t *testing.T) {
	rec := syntheticRecord(t)
	cfg := Options{Metrics: []string{"perplexity", "sparsity", "no_such_metric"}, Include: []string{"gradual", "final_eval"}}
	v := Build(rec, cfg, "report", time.Time{})
	var paths []string
	for _, r := range v.Overview {
		paths = append(paths, r.Path)
	}
	if !slices.Equal(paths, []string{"gradual", "final_eval"}) {
		t.Errorf("covered %v, want [gradual final_eval]", paths)
	}
	if len(v.Unfinished) != 0 {
		t.Errorf("unfinished %v: bench is not included", v.Unfinished)
	}
	loop := v.Sections[0].Loop
	if !slices.Equal(loop.Columns, []string{"perplexity", "sparsity"}) {
		t.Errorf("loop columns %v", loop.Columns)
	}
	if len(loop.Figures) != 1 || loop.Figures[0].spec.YLabel != "perplexity" {
		t.Errorf("loop figures: want perplexity only")
	}
	var ba []string
	for _, r := range v.BeforeAfter.Rows {
		ba = append(ba, r.Metric)
	}
	if !slices.Equal(ba, []string{"perplexity", "sparsity"}) {
		t.Errorf("before/after rows %v", ba)
	}
	if len(v.Notes) != 1 || !strings.Contains(v.Notes[0], "no_such_metric") {
		t.Errorf("notes %v", v.Notes)
	}
}

// A loop without sparsity plots against the iteration number.
func TestReportLoopWithoutSparsity(t *testing.T) {
	rec := syntheticRecord(t)
	g, _ := rec.Find("gradual")
	for _, it := range g.Loop.Iterations {
		for _, s := range it.Stages {
			delete(s.Metrics, "sparsity")
		}
	}
	v := Build(rec, Options{}, "report", time.Time{})
	f := figureByName(t, v, "gradual-accuracy")
	if f.spec.XLabel != "iteration" || f.spec.Series[0].Points[3].X != 3 {
		t.Errorf("x = %s, points %v; want the iteration number", f.spec.XLabel, f.spec.Series[0].Points)
	}
}
