package report

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var updateReport = flag.Bool("update-report", false, "rewrite the report golden files in testdata/")

// writeSynthetic writes the report of the synthetic record with cfg into
// a fresh run directory and returns the directory and the view.
func writeSynthetic(t *testing.T, cfg Options) (string, *View) {
	t.Helper()
	runDir := t.TempDir()
	v := Build(syntheticRecord(t), cfg, "report", time.Date(2026, 3, 1, 12, 1, 5, 0, time.UTC))
	plotDir := filepath.Join(runDir, "stages", "report")
	if err := os.MkdirAll(plotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(context.Background(), v, runDir, plotDir, "report"); err != nil {
		t.Fatal(err)
	}
	return runDir, v
}

// The Markdown of the synthetic record matches the reviewed golden file.
func TestReportMarkdownGolden(t *testing.T) {
	runDir, _ := writeSynthetic(t, Options{})
	got, err := os.ReadFile(filepath.Join(runDir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "report_golden.md")
	if *updateReport {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update-report to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("report.md differs from %s (run with -update-report after checking the new output):\n%s", golden, got)
	}
}
