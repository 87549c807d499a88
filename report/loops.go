package report

import (
	"fmt"
	"slices"
	"strings"

	"lopper/eval"
	"lopper/history"
	"lopper/pipeline"
)

// reportLoop is a loop's section: one row per iteration and the curves of
// its evaluations against sparsity.
type reportLoop struct {
	MaxIterations int
	Until, Keep   string
	Stop          string // why it stopped
	Kept          string // "iteration 2", or "none"
	Columns       []string
	Rows          []reportIterRow
	Figures       []*reportFigure
}

type reportIterRow struct {
	Index  int
	Status string
	Until  string // "true", "false" or "-"
	Kept   bool
	Cells  []string
	Note   string
}

// reportMatrix is a matrix's section: one row per branch, and per metric a
// plot with one series per value of the other axes against the sparsity
// axis.
type reportMatrix struct {
	Axes    []string
	Columns []string
	Rows    []reportBranchRow
	Figures []*reportFigure
}

type reportBranchRow struct {
	Label, Status string
	Values        []string // one per axis
	Cells         []string
	Note          string
}

// reportGroupValue is a metric of a group of stages (an iteration, a branch):
// that of the finished stage that ended last among those that have it.
func reportGroupValue(list []*pipeline.StageRecord, name string) (float64, bool) {
	s, ok := history.Latest(list, name)
	if !ok {
		return 0, false
	}
	return history.MetricOf(s, name)
}

func reportCell(list []*pipeline.StageRecord, name string) string {
	if v, ok := reportGroupValue(list, name); ok {
		return history.FormatNumber(v)
	}
	return "-"
}

// reportFirstFailure names a group's first failed stage and its error.
func reportFirstFailure(list []*pipeline.StageRecord) string {
	for _, s := range list {
		if s.Status == pipeline.StageFailed && s.Loop == nil && s.Matrix == nil {
			return reportOneLine(s.Path + ": " + s.Error)
		}
	}
	return ""
}

func (b *reportBuilder) loop(s *pipeline.StageRecord) *reportLoop {
	l := s.Loop
	v := &reportLoop{MaxIterations: l.MaxIterations, Until: l.Until, Keep: l.Keep, Stop: l.StopReason, Kept: "none"}
	if l.Kept != nil {
		v.Kept = fmt.Sprintf("iteration %d", *l.Kept)
	}
	var all []*pipeline.StageRecord
	for _, it := range l.Iterations {
		all = append(all, it.Stages...)
	}
	have := reportMetricSet(all)
	v.Columns = b.pick(have, reportColumnMetrics)
	for _, it := range l.Iterations {
		row := reportIterRow{Index: it.Index, Status: string(it.Status), Until: "-", Note: reportFirstFailure(it.Stages)}
		if it.Until != nil {
			row.Until = fmt.Sprint(*it.Until)
		}
		row.Kept = l.Kept != nil && *l.Kept == it.Index
		for _, c := range v.Columns {
			row.Cells = append(row.Cells, reportCell(it.Stages, c))
		}
		v.Rows = append(v.Rows, row)
	}
	// x is the sparsity when every finished iteration has one, else the
	// iteration number.
	xName := eval.MetricSparsity
	for _, it := range l.Iterations {
		if _, ok := reportGroupValue(it.Stages, xName); !ok && it.Status == pipeline.StageSucceeded {
			xName = "iteration"
		}
	}
	x := func(it *pipeline.IterationRecord) (float64, bool) {
		if xName == "iteration" {
			return float64(it.Index), true
		}
		return reportGroupValue(it.Stages, xName)
	}
	for _, m := range b.curveMetrics(have) {
		spec := reportPlot{Name: s.Path + "-" + m, Title: fmt.Sprintf("%s: %s by %s", s.Path, m, xName), XLabel: xName, YLabel: m,
			Refs: b.baselineRefs(m)}
		var pts []plotPoint
		for _, it := range l.Iterations {
			xv, okx := x(it)
			yv, oky := reportGroupValue(it.Stages, m)
			if !okx || !oky || it.Status != pipeline.StageSucceeded {
				continue
			}
			p := plotPoint{xv, yv}
			pts = append(pts, p)
			if l.Kept != nil && *l.Kept == it.Index {
				spec.Marks = append(spec.Marks, plotMark{Label: fmt.Sprintf("kept: iteration %d", it.Index), At: p, Kind: plotMarkKept})
			}
			if it.Until != nil && *it.Until {
				spec.Marks = append(spec.Marks, plotMark{Label: fmt.Sprintf("until true: iteration %d", it.Index), At: p, Kind: plotMarkStop})
			}
		}
		if len(pts) == 0 {
			continue
		}
		spec.Series = []plotSeries{{Label: "iterations", Points: pts}}
		caption := fmt.Sprintf("Each point is one iteration of %s. Kept: %s. Stopped: %s.", s.Path, v.Kept, reportOrNone(l.StopReason))
		v.Figures = append(v.Figures, b.figure(spec, caption))
	}
	return v
}

func reportOrNone(s string) string {
	if s == "" {
		return "not recorded"
	}
	return s
}

func (b *reportBuilder) matrix(s *pipeline.StageRecord) *reportMatrix {
	m := s.Matrix
	v := &reportMatrix{Axes: m.Axes}
	var all []*pipeline.StageRecord
	for _, br := range m.Branches {
		all = append(all, br.Stages...)
	}
	have := reportMetricSet(all)
	v.Columns = slices.DeleteFunc(b.pick(have, reportColumnMetrics), func(c string) bool {
		return slices.Contains(m.Axes, c) // the axis column shows it
	})
	for _, br := range m.Branches {
		row := reportBranchRow{Label: br.Label, Status: string(br.Status), Note: reportFirstFailure(br.Stages)}
		for _, a := range m.Axes {
			row.Values = append(row.Values, reportValue(br.Values[a]))
		}
		for _, c := range v.Columns {
			row.Cells = append(row.Cells, reportCell(br.Stages, c))
		}
		v.Rows = append(v.Rows, row)
	}
	xAxis, xName := reportMatrixX(m)
	if xName == "" {
		return v
	}
	for _, metric := range b.curveMetrics(have) {
		spec := reportPlot{Name: s.Path + "-" + metric, Title: fmt.Sprintf("%s: %s by %s", s.Path, metric, xName), XLabel: xName, YLabel: metric,
			Refs: b.baselineRefs(metric)}
		index := map[string]int{}
		for _, br := range m.Branches {
			var xv float64
			okx := false
			if xAxis != "" {
				xv, okx = reportNumeric(br.Values[xAxis])
			} else {
				xv, okx = reportGroupValue(br.Stages, xName)
			}
			yv, oky := reportGroupValue(br.Stages, metric)
			if !okx || !oky || br.Status != pipeline.StageSucceeded {
				continue
			}
			label := reportSeriesLabel(m.Axes, xAxis, br.Values, metric)
			i, ok := index[label]
			if !ok {
				i = len(spec.Series)
				index[label] = i
				spec.Series = append(spec.Series, plotSeries{Label: label})
			}
			spec.Series[i].Points = append(spec.Series[i].Points, plotPoint{xv, yv})
		}
		if len(spec.Series) == 0 {
			continue
		}
		for i := range spec.Series {
			sortPlotPoints(spec.Series[i].Points)
		}
		caption := fmt.Sprintf("Each point is one branch of %s; one line per value of the other axes.", s.Path)
		v.Figures = append(v.Figures, b.figure(spec, caption))
	}
	return v
}

// reportMatrixX picks a matrix plot's x: the axis called sparsity when numeric,
// else the first numeric axis, else the branches' measured sparsity. axis
// is "" when x is a metric; name is "" when there is nothing to plot
// against.
func reportMatrixX(m *pipeline.MatrixRecord) (axis, name string) {
	numeric := func(a string) bool {
		for _, br := range m.Branches {
			if _, ok := reportNumeric(br.Values[a]); !ok {
				return false
			}
		}
		return len(m.Branches) > 0
	}
	for _, a := range m.Axes {
		if a == eval.MetricSparsity && numeric(a) {
			return a, a
		}
	}
	for _, a := range m.Axes {
		if numeric(a) {
			return a, a
		}
	}
	for _, br := range m.Branches {
		if _, ok := reportGroupValue(br.Stages, eval.MetricSparsity); !ok && br.Status == pipeline.StageSucceeded {
			return "", ""
		}
	}
	return "", eval.MetricSparsity
}

// reportSeriesLabel names a branch's series by the values of the axes other
// than x ("method=wanda"); with no other axis it is the metric.
func reportSeriesLabel(axes []string, xAxis string, values map[string]any, metric string) string {
	var parts []string
	for _, a := range axes {
		if a != xAxis {
			parts = append(parts, a+"="+reportValue(values[a]))
		}
	}
	if len(parts) == 0 {
		return metric
	}
	return strings.Join(parts, ", ")
}
