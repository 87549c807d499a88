package report

import (
	"fmt"
	"html/template"
	"maps"
	"slices"
	"strings"
	"time"

	"lopper/eval"
	"lopper/history"
	"lopper/pipeline"
)

// Options say what a report covers and which files it is written as.
// Every field is optional.
type Options struct {
	Title   string   // the page title; default "lopper report: NAME", NAME being the run's
	Formats []string // HTML, Markdown or both (the default); see Formats
	Include []string // ids of the top-level stages to cover; default every stage but the report's own
	Metrics []string // metrics of tables, curves and before/after, in this order; default all
}

// View is everything a report shows, already formatted, built from a run
// record (Build) and written by Write. The Markdown and HTML templates only
// lay it out. Overview lists the covered stages.
type View struct {
	Title       string
	Run         reportRunInfo
	Params      []reportParam
	Overview    []reportStageRow
	Sections    []reportSection
	Results     *reportResults
	BeforeAfter *reportBeforeAfter
	Losses      []reportLoss
	Unfinished  []string // stages still pending or running when the report was written
	Notes       []string // metrics asked for but absent, plots that could not be drawn
	figures     []*reportFigure
	formats     []string // to write, in order
}

type reportRunInfo struct {
	Name, Description, File, Digest, Status, Error string
	Started, Written, Writer                       string
	Lopper, Go, Platform                           string
	Jobs                                           int
}

type reportParam struct{ Name, Type, Value, Source string }

type reportStageRow struct{ Path, Kind, Status, Time, Note string }

// reportSection is one covered top-level stage.
type reportSection struct {
	reportStageRow
	Metrics   []reportKV
	Artifacts []reportArtifactRow
	Loop      *reportLoop
	Matrix    *reportMatrix
}

type reportKV struct{ Name, Value string }

type reportArtifactRow struct{ Name, Kind, Digest string }

// reportFigure is a plot: rendered to File (linked from Markdown) and SVG
// (inlined in HTML), or, when it cannot be drawn, Error.
type reportFigure struct {
	Title, Caption string
	File           string // relative to the run directory, slash-separated
	SVG            template.HTML
	Error          string
	spec           reportPlot
}

type reportBeforeAfter struct {
	Before, After string // stage paths
	Rows          []reportChange
}

type reportChange struct{ Metric, Before, After, Change string }

// reportBuilder builds a View from a run record.
type reportBuilder struct {
	rec     *pipeline.RunRecord
	cfg     *Options
	self    string // the report stage's path
	view    *View
	names   map[string]int  // plot file stems used so far, for uniqueness
	seen    map[string]bool // metric names seen in covered stages
	covered []*pipeline.StageRecord
}

// Metric names of the before/after table and of curves, in display order.
var (
	reportBeforeAfterMetrics = []string{
		eval.MetricAccuracy, eval.MetricAcc, eval.MetricAccNorm, eval.MetricPerplexity, eval.MetricSparsity,
		eval.MetricParams, eval.MetricNonZero, eval.MetricBytes, eval.MetricTokensPerSec, eval.MetricLatencyMS,
	}
	reportCurveMetrics  = []string{eval.MetricAccuracy, eval.MetricAcc, eval.MetricAccNorm, eval.MetricPerplexity}
	reportColumnMetrics = []string{
		eval.MetricSparsity, eval.MetricAccuracy, eval.MetricAcc, eval.MetricAccNorm, eval.MetricPerplexity,
		eval.MetricAccDrop, eval.MetricPPLRatio, "final_loss",
	}
)

// Build builds the view of rec with cfg as seen by the report stage at
// path self, written at now.
func Build(rec *pipeline.RunRecord, cfg Options, self string, now time.Time) *View {
	b := &reportBuilder{rec: rec, cfg: &cfg, self: self, view: &View{formats: Formats(cfg.Formats)}, names: map[string]int{}, seen: map[string]bool{}}
	v := b.view
	v.Title = cfg.Title
	if v.Title == "" {
		v.Title = "lopper report: " + rec.Name
	}
	v.Run = reportRunInfo{
		Name: rec.Name, Description: rec.Description, File: rec.Recipe.File, Digest: rec.Recipe.Digest,
		Status: string(rec.Status), Error: rec.Error, Started: reportTime(rec.Started), Written: reportTime(now),
		Writer: self, Lopper: rec.Lopper, Go: rec.Go, Platform: rec.Platform, Jobs: rec.Jobs,
	}
	for _, p := range rec.Params {
		v.Params = append(v.Params, reportParam{Name: p.Name, Type: string(p.Type), Value: reportValue(p.Value), Source: p.Source})
	}
	b.cover()
	for _, s := range b.covered {
		row := reportStageOf(s)
		v.Overview = append(v.Overview, row)
		sec := reportSection{reportStageRow: row}
		switch {
		case s.Loop != nil:
			sec.Loop = b.loop(s)
		case s.Matrix != nil:
			sec.Matrix = b.matrix(s)
		}
		for _, m := range b.pick(s.Metrics, nil) {
			sec.Metrics = append(sec.Metrics, reportKV{m, history.FormatNumber(s.Metrics[m])})
		}
		for _, a := range slices.Sorted(maps.Keys(s.Artifacts)) {
			sec.Artifacts = append(sec.Artifacts, reportArtifactRow{a, s.Artifacts[a].Kind, s.Artifacts[a].Digest})
		}
		if sec.Loop != nil || sec.Matrix != nil || len(sec.Metrics) > 0 || len(sec.Artifacts) > 0 {
			v.Sections = append(v.Sections, sec) // the overview has the rest
		}
	}
	v.Results = b.results()
	v.BeforeAfter = b.beforeAfter()
	v.Losses = b.losses()
	for _, m := range cfg.Metrics {
		if !b.seen[m] {
			v.Notes = append(v.Notes, fmt.Sprintf("metric %s (asked for in with.metrics) is not produced by any covered stage", m))
		}
	}
	return v
}

// cover picks the top-level stages the report covers (with.include, or
// every stage but the report itself), notes the unfinished ones, and
// records which metrics they have.
func (b *reportBuilder) cover() {
	include := map[string]bool{}
	for _, id := range b.cfg.Include {
		include[id] = true
	}
	for _, s := range b.rec.Stages {
		if s.Path == b.self || strings.HasPrefix(b.self, s.Path+"[") {
			continue // the report, or the loop or matrix it runs in
		}
		if len(include) > 0 && !include[s.ID] {
			continue
		}
		if s.Status == pipeline.StagePending || s.Status == pipeline.StageRunning {
			b.view.Unfinished = append(b.view.Unfinished, s.Path)
		}
		b.covered = append(b.covered, s)
	}
	b.rec.Walk(func(s *pipeline.StageRecord) {
		for m := range s.Metrics {
			b.seen[m] = true
		}
	})
}

// pick chooses metric names of m to show: with.metrics (those present) in
// their order, else preferred (those present), else all, sorted. A nil
// preferred means all.
func (b *reportBuilder) pick(present map[string]float64, preferred []string) []string {
	var out []string
	switch {
	case len(b.cfg.Metrics) > 0:
		for _, n := range b.cfg.Metrics {
			if _, ok := present[n]; ok {
				out = append(out, n)
			}
		}
	case preferred != nil:
		for _, n := range preferred {
			if _, ok := present[n]; ok {
				out = append(out, n)
			}
		}
		if len(out) == 0 {
			out = slices.Sorted(maps.Keys(present))
		}
	default:
		out = slices.Sorted(maps.Keys(present))
	}
	return out
}

// figure registers a plot under a file stem unique within the report.
func (b *reportBuilder) figure(spec reportPlot, caption string) *reportFigure {
	stem := reportFileStem(spec.Name)
	b.names[stem]++
	if n := b.names[stem]; n > 1 {
		stem = fmt.Sprintf("%s-%d", stem, n)
	}
	spec.Name = stem
	f := &reportFigure{Title: spec.Title, Caption: caption, spec: spec}
	b.view.figures = append(b.view.figures, f)
	return f
}

// beforeAfter compares the baseline with the final evaluation.
func (b *reportBuilder) beforeAfter() *reportBeforeAfter {
	before, after, ok := history.BeforeAfter(b.rec)
	if !ok {
		return nil
	}
	ba := &reportBeforeAfter{Before: before.Path, After: after.Path}
	names := reportBeforeAfterMetrics
	if len(b.cfg.Metrics) > 0 {
		names = b.cfg.Metrics
	}
	for _, m := range names {
		x, okx := history.MetricOf(before, m)
		y, oky := history.MetricOf(after, m)
		if !okx && !oky {
			continue
		}
		row := reportChange{Metric: m, Before: "-", After: "-", Change: "-"}
		if okx {
			row.Before = history.FormatNumber(x)
		}
		if oky {
			row.After = history.FormatNumber(y)
		}
		if okx && oky {
			row.Change = history.FormatDelta(x, y)
		}
		ba.Rows = append(ba.Rows, row)
	}
	if len(ba.Rows) == 0 {
		return nil
	}
	return ba
}

func reportStageOf(s *pipeline.StageRecord) reportStageRow {
	r := reportStageRow{Path: s.Path, Kind: s.Uses, Status: string(s.Status), Time: "-", Note: s.Reason}
	if !s.Ended.IsZero() {
		r.Time = history.FormatSeconds(s.Seconds)
	}
	if s.Error != "" {
		r.Note = s.Error
	}
	r.Note = reportOneLine(r.Note)
	return r
}

func reportOneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func reportTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// reportValue formats a param or matrix value.
func reportValue(v any) string {
	switch x := v.(type) {
	case float64:
		return history.FormatNumber(x)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// reportNumeric reads a matrix value as a number.
func reportNumeric(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}

// reportFileStem makes a file name stem of a plot name.
func reportFileStem(s string) string {
	var sb strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			sb.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			sb.WriteRune(r - 'A' + 'a')
		default:
			sb.WriteByte('-')
		}
	}
	return strings.Trim(sb.String(), "-")
}

// reportMetricSet collects the metric names of stages into a set (values unused).
func reportMetricSet(list []*pipeline.StageRecord) map[string]float64 {
	out := map[string]float64{}
	for _, s := range list {
		for m := range s.Metrics {
			out[m] = 0
		}
	}
	return out
}

// curveMetrics are the y metrics to plot among those present.
func (b *reportBuilder) curveMetrics(have map[string]float64) []string {
	if len(b.cfg.Metrics) == 0 {
		return b.pickFrom(have, reportCurveMetrics)
	}
	return slices.DeleteFunc(b.pick(have, nil), func(m string) bool { return m == eval.MetricSparsity })
}

// baselineRefs is the baseline's value of metric as a reference line, when
// the recipe declares a baseline that has it.
func (b *reportBuilder) baselineRefs(metric string) []plotRef {
	s, ok := history.Baseline(b.rec)
	if !ok {
		return nil
	}
	v, ok := history.MetricOf(s, metric)
	if !ok {
		return nil
	}
	label := "baseline"
	if s.Path != label {
		label += " (" + s.Path + ")"
	}
	return []plotRef{{Label: label, Y: v}}
}

// pickFrom is the names of list present in have, in list order.
func (b *reportBuilder) pickFrom(have map[string]float64, list []string) []string {
	var out []string
	for _, n := range list {
		if _, ok := have[n]; ok {
			out = append(out, n)
		}
	}
	return out
}
