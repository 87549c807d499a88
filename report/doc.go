// Package report writes the report of a run: a self-contained HTML page
// (inline CSS and SVG plots drawn with gonum/plot) and Markdown with the
// plots as SVG files, built from a pipeline.RunRecord as it stands.
//
// Build makes a View of the record with Options (title, formats, the
// stages to cover, the metrics to show); Write draws its plots and writes
// its files atomically, returning them with their sizes and digests.
// BaseName names the files after the report stage's path. The view
// (view.go) gathers the run header, results, before and after
// (results.go), loops and matrices (loops.go) and training losses
// (loss.go); plot.go draws, render.go fills the templates report.md.tmpl
// and report.html.tmpl (with report.css).
//
// The report reads run records only: stage kinds and their details are
// known by name and by the metric names of package eval, and values are
// formatted as package history formats them. The `report` stage kind in
// package stages is a thin adapter over this package.
package report
