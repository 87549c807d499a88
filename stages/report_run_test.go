package stages

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"lopper/pipeline"
	"lopper/pipeline/pipelinetest"
	"lopper/pipeline/runner"
)

// reportRegistry has the engine's test kinds and the report kind only, so
// that these tests need no model.
func reportRegistry() *pipeline.Registry {
	reg := pipeline.NewRegistry()
	pipelinetest.New().Register(reg)
	registerReport(reg)
	return reg
}

func runReportRecipe(t *testing.T, src string) *pipeline.RunRecord {
	t.Helper()
	f := filepath.Join(t.TempDir(), "recipe.yaml")
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := pipeline.Load(f, pipeline.LoadOptions{Registry: reportRegistry()})
	if err != nil {
		t.Fatalf("recipe does not load:\n%v", err)
	}
	rec, err := runner.Run(context.Background(), r, runner.Options{Jobs: 2, RunDir: t.TempDir(), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != pipeline.RunSucceeded {
		t.Fatalf("run %s: %s", rec.Status, rec.Error)
	}
	return rec
}

// A loop and a matrix run by the real runner, then a report that needs the
// last stage: its files are in the run directory, its record (run.json)
// lists them with their sizes and digests, and the report shows the loop's
// kept iteration as the runner chose it.
func TestReportStageInARun(t *testing.T) {
	rec := runReportRecipe(t, `version: 1
name: report-e2e
params: {max_drop: 0.05}
baseline: baseline
stages:
  base: {uses: emit, with: {value: 1}}
  baseline: {uses: emit, with: {reads: [base], metrics: {accuracy: 0.9, perplexity: 10}}}
  gradual:
    uses: loop
    with: {max_iterations: 10, until: acc_drop > params.max_drop, from: base, carry: step, measure: check}
    stages:
      step: {uses: emit, with: {input: prev, add: 1, metrics: {sparsity: "${{ 0.1 * (iteration + 1) }}"}}}
      check:
        uses: emit
        with: {input: step, metrics: {accuracy: "${{ 0.9 - 0.02 * iteration }}", perplexity: "${{ 10 + iteration }}"}}
  sweep:
    uses: matrix
    with: {sparsity: [0.2, 0.4], method: [a, b]}
    stages:
      probe: {uses: emit, with: {metrics: {accuracy: "${{ 0.9 - matrix.sparsity }}"}}}
  final: {uses: emit, with: {input: gradual}}
  report: {uses: report, needs: [final, sweep], with: {title: "E2E <report>"}}
`)
	st, ok := rec.Find("report")
	if !ok || st.Status != pipeline.StageSucceeded {
		t.Fatalf("report stage: %+v", st)
	}
	// 0.02·i > 0.05 first at i = 3, so iteration 2 is kept.
	md := readRunFile(t, rec, "report.md")
	for _, want := range []string{"# E2E &lt;report&gt;", "| 2 (kept) | succeeded | false | 0.3 | 0.86 | 12 |", "Kept: **iteration 2**",
		"until became true after iteration 3", "| `sparsity=0.4, method=b` | `0.4` | `b` | succeeded | 0.5 |", "`baseline` against `gradual`."} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	html := readRunFile(t, rec, "report.html")
	if got := strings.Count(html, "<svg "); got != 3 {
		t.Errorf("report.html has %d plots, want 3 (the loop's accuracy and perplexity, the sweep's accuracy)", got)
	}
	if st.Metrics[MetricReportPlots] != 3 || st.Metrics[MetricReportMarkdownBytes] != float64(len(md)) || st.Metrics[MetricReportHTMLBytes] != float64(len(html)) {
		t.Errorf("report metrics %v; md %d bytes, html %d bytes, want 3 plots", st.Metrics, len(md), len(html))
	}
	det, ok := st.Details.(ReportDetails)
	if !ok {
		t.Fatalf("details %T", st.Details)
	}
	var paths []string
	for _, f := range det.Files {
		paths = append(paths, f.Path)
		data := readRunFile(t, rec, f.Path)
		if f.Bytes != int64(len(data)) || f.SHA256 != fmt.Sprintf("%x", sha256.Sum256([]byte(data))) {
			t.Errorf("%s: recorded %d bytes %s, file has %d", f.Path, f.Bytes, f.SHA256, len(data))
		}
	}
	want := []string{"stages/report/gradual-accuracy.svg", "stages/report/gradual-perplexity.svg", "stages/report/sweep-accuracy.svg", "report.html", "report.md"}
	if !slices.Equal(paths, want) {
		t.Errorf("files %v, want %v", paths, want)
	}
	if !slices.Equal(det.Covered, []string{"base", "baseline", "gradual", "sweep", "final"}) || len(det.Unfinished) != 0 {
		t.Errorf("covered %v, unfinished %v", det.Covered, det.Unfinished)
	}
	if a := st.Artifacts[ArtifactReport]; a.Kind != ArtifactReport || !strings.HasPrefix(a.Digest, "sha256:") {
		t.Errorf("artifact %+v", a)
	}
}

// A report covers what finished before it: with include it waits for the
// stages it names; stages still to run are listed as not finished.
func TestReportListsUnfinishedStages(t *testing.T) {
	rec := runReportRecipe(t, `version: 1
stages:
  slow: {uses: emit, with: {sleep: 30ms, metrics: {accuracy: 0.5}}}
  included: {uses: report, with: {include: [slow], format: [md]}}
  early: {uses: report, with: {format: [md]}}
  later: {uses: emit, with: {reads: [early], metrics: {x: 1}}}
`)
	included := readRunFile(t, rec, "included.md")
	if !strings.Contains(included, "| `slow` | emit | succeeded |") || strings.Contains(included, "later") {
		t.Errorf("included.md must show slow finished (include makes it a dependency) and nothing else:\n%s", included)
	}
	early := readRunFile(t, rec, "early.md")
	if !regexp.MustCompile("Not finished when this report was written:\\*\\* .*`later`").MatchString(early) {
		t.Errorf("early.md does not list later as unfinished:\n%s", early)
	}
	if _, err := os.Stat(filepath.Join(rec.RunDir, "early.html")); err == nil {
		t.Errorf("early.html written with format [md]")
	}
}

func readRunFile(t *testing.T, rec *pipeline.RunRecord, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(rec.RunDir, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Bad report configs are load-time errors at their FILE:LINE:COL.
func TestReportConfigErrors(t *testing.T) {
	cases := []struct{ with, want string }{
		{`{format: [pdf]}`, `recipe.yaml:4:42: stage report: format.0: unknown format "pdf"; want html or md`},
		{`{format: [md, md]}`, `recipe.yaml:4:46: stage report: format.1: format md given twice`},
		{`{format: []}`, `recipe.yaml:4:41: stage report: format: empty`},
		{`{metrics: [acc, acc]}`, `recipe.yaml:4:48: stage report: metrics.1: metric acc given twice`},
		{`{include: [a, a]}`, `recipe.yaml:4:46: stage report: include.1: stage a given twice`},
		{`{include: [nope]}`, `recipe.yaml:4:43: stage report: unknown stage "nope"`},
		{`{titel: x}`, `recipe.yaml:4:33: stage report: with: unknown field "titel" (did you mean "title"?)`},
	}
	for _, c := range cases {
		src := "version: 1\nstages:\n  a: {uses: emit, with: {metrics: {x: 1}}}\n  report: {uses: report, with: " + c.with + "}\n"
		f := filepath.Join(t.TempDir(), "recipe.yaml")
		if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := pipeline.Load(f, pipeline.LoadOptions{Registry: reportRegistry()})
		if err == nil {
			t.Errorf("%s: loaded, want an error", c.with)
			continue
		}
		if msg := strings.ReplaceAll(err.Error(), f, "recipe.yaml"); !strings.Contains(msg, c.want) {
			t.Errorf("%s: error\n%s\nwant %q", c.with, msg, c.want)
		}
	}
}
