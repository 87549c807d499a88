package stages

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"lopper/pipeline"
	"lopper/report"
)

// ReportConfig is the `report` stage's with block. Every field is
// optional:
//
//	report:
//	  uses: report
//	  needs: [save]              # run after what it should cover
//	  with:
//	    title: Gradual Wanda     # default "lopper report: RECIPE"
//	    format: [html, md]       # default both
//	    include: [baseline, gradual, final]  # default every stage
//	    metrics: [accuracy, perplexity, sparsity]  # default all
//
// The stage writes ID.md and ID.html (report.md, report.html for a stage
// called report) into the run directory, and the Markdown's plots as SVG
// files into its work directory. It covers the run record as it stands
// when the stage runs: stages listed in include become dependencies;
// otherwise give it needs (or let it read a late stage) so that it runs
// last. Stages not finished by then are listed as such in the report.
type ReportConfig struct {
	Title   string         `yaml:"title"`
	Format  []string       `yaml:"format"`
	Include []pipeline.Ref `yaml:"include"`
	Metrics []string       `yaml:"metrics"`
}

// Report metrics and artifact.
const (
	MetricReportMarkdownBytes = "md_bytes"   // size of ID.md
	MetricReportHTMLBytes     = "html_bytes" // size of ID.html
	MetricReportPlots         = "plots"      // plots drawn
	ArtifactReport            = "report"
)

func registerReport(reg *pipeline.Registry) {
	reg.Register("report", pipeline.Typed(pipeline.KindOf[ReportConfig]{
		Check: checkReport, Declare: declareReport, Run: runReport,
	}))
}

func checkReport(c *pipeline.Checker, cfg *ReportConfig) {
	if cfg.Format != nil && len(cfg.Format) == 0 {
		c.Errorf("format", "empty: give %s or %s, or leave format out for both", report.HTML, report.Markdown)
	}
	formats := report.Formats(nil)
	seen := map[string]bool{}
	for i, f := range cfg.Format {
		path := fmt.Sprintf("format.%d", i)
		switch {
		case !slices.Contains(formats, f):
			c.Errorf(path, "unknown format %q; want %s", f, strings.Join(formats, " or "))
		case seen[f]:
			c.Errorf(path, "format %s given twice", f)
		}
		seen[f] = true
	}
	seen = map[string]bool{}
	for i, m := range cfg.Metrics {
		path := fmt.Sprintf("metrics.%d", i)
		switch {
		case strings.TrimSpace(m) == "":
			c.Errorf(path, "empty metric name")
		case seen[m]:
			c.Errorf(path, "metric %s given twice", m)
		}
		seen[m] = true
	}
	seen = map[string]bool{}
	for i, r := range cfg.Include {
		if seen[r.ID] {
			c.Errorf(fmt.Sprintf("include.%d", i), "stage %s given twice", r.ID)
		}
		seen[r.ID] = true
	}
}

// options are the report's options of cfg.
func (cfg *ReportConfig) options() report.Options {
	opt := report.Options{Title: cfg.Title, Formats: cfg.Format, Metrics: cfg.Metrics}
	for _, r := range cfg.Include {
		opt.Include = append(opt.Include, r.ID)
	}
	return opt
}

func declareReport(cfg *ReportConfig) pipeline.Decl {
	// Volatile: a report covers the run record as it stands and writes files.
	d := pipeline.Decl{Metrics: []string{MetricReportPlots}, Artifacts: []string{ArtifactReport}, Volatile: true}
	for _, r := range cfg.Include {
		d.Inputs = append(d.Inputs, pipeline.Input{Ref: r})
	}
	for _, f := range report.Formats(cfg.Format) {
		d.Metrics = append(d.Metrics, reportBytesMetric(f))
	}
	return d
}

func reportBytesMetric(format string) string {
	if format == report.HTML {
		return MetricReportHTMLBytes
	}
	return MetricReportMarkdownBytes
}

// ReportDetails are the report stage's details in run.json.
type ReportDetails struct {
	Files      []report.File `json:"files"`
	Covered    []string      `json:"covered"`              // top-level stages in the report
	Unfinished []string      `json:"unfinished,omitempty"` // of those, still pending or running
	Notes      []string      `json:"notes,omitempty"`
}

func runReport(ctx context.Context, sc *pipeline.StageContext, cfg *ReportConfig) (*pipeline.Result, error) {
	view := report.Build(sc.Record(), cfg.options(), sc.Path, time.Now())
	if len(view.Unfinished) > 0 {
		sc.Log.Warn("stages not finished yet are reported as such; give the report needs: to run after them",
			"unfinished", strings.Join(view.Unfinished, ", "))
	}
	plotDir, err := sc.WorkDir()
	if err != nil {
		return nil, err
	}
	out, err := report.Write(ctx, view, sc.RunDir, plotDir, report.BaseName(sc.Path))
	if err != nil {
		return nil, err
	}
	for _, n := range view.Notes {
		sc.Log.Warn(n)
	}
	res := &pipeline.Result{
		Metrics:   pipeline.Metrics{MetricReportPlots: float64(out.Plots)},
		Artifacts: map[string]pipeline.Artifact{ArtifactReport: &reportArtifact{Files: out.Files, digest: out.Digest}},
	}
	det := ReportDetails{Files: out.Files, Unfinished: view.Unfinished, Notes: view.Notes}
	for _, r := range view.Overview {
		det.Covered = append(det.Covered, r.Path)
	}
	for f, n := range out.Bytes {
		res.Metrics[reportBytesMetric(f)] = float64(n)
	}
	res.Details = det
	for _, f := range out.Files {
		sc.Log.Info("wrote", "file", f.Path, "bytes", f.Bytes)
	}
	return res, nil
}

// reportArtifact is the report stage's artifact: the files it wrote.
type reportArtifact struct {
	Files  []report.File
	digest string
}

// Kind implements pipeline.Artifact.
func (a *reportArtifact) Kind() string { return ArtifactReport }

// Digest implements pipeline.Artifact: over the files' paths and digests.
func (a *reportArtifact) Digest() string { return a.digest }

// ReportPages returns the HTML pages the report stages of a run wrote,
// as absolute paths, in run order: what a user opens after a run.
func ReportPages(rec *pipeline.RunRecord) []string {
	var pages []string
	rec.Walk(func(st *pipeline.StageRecord) {
		if st.Uses != "report" || (st.Status != pipeline.StageSucceeded && st.Status != pipeline.StageCached) {
			return
		}
		det, ok := st.Details.(ReportDetails)
		if !ok { // a record that travelled as JSON (a distributed run)
			raw, err := json.Marshal(st.Details)
			if err != nil || json.Unmarshal(raw, &det) != nil {
				return
			}
		}
		for _, f := range det.Files {
			if strings.HasSuffix(f.Path, ".html") {
				pages = append(pages, filepath.Join(rec.RunDir, filepath.FromSlash(f.Path)))
			}
		}
	})
	return pages
}
