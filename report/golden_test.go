package report

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
	if err := compareGolden(golden, got, *updateReport); err != nil {
		t.Error(err)
	}
}

// compareGolden compares got with the golden file. Only update writes it
// (the code under test never writes its own expectation on an ordinary
// run); without update, a missing golden file is an error, not created.
func compareGolden(golden string, got []byte, update bool) error {
	if update {
		return os.WriteFile(golden, got, 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		return fmt.Errorf("%v (check the output, then run with -update-report to create it)", err)
	}
	if bytes.Equal(got, want) {
		return nil
	}
	g, w := strings.SplitAfter(string(got), "\n"), strings.SplitAfter(string(want), "\n")
	line := 0
	for line < len(g) && line < len(w) && g[line] == w[line] {
		line++
	}
	at := func(l []string) string {
		if line < len(l) {
			return strings.TrimSuffix(l[line], "\n")
		}
		return "(end of file)"
	}
	return fmt.Errorf("output differs from %s at line %d (run with -update-report after checking the new output):\n  want %q\n  got  %q\nthe whole output:\n%s",
		golden, line+1, at(w), at(g), got)
}

// A golden comparison fails on a difference and on a missing golden file
// (which it does not create); only update writes, and then compares equal.
func TestCompareGolden(t *testing.T) {
	golden := filepath.Join(t.TempDir(), "golden.md")
	out := []byte("# title\n\nline one\nline two\n")
	if err := compareGolden(golden, out, false); err == nil || !strings.Contains(err.Error(), "-update-report") {
		t.Errorf("missing golden: %v, want an error that says how to create it", err)
	}
	if _, err := os.Stat(golden); !os.IsNotExist(err) {
		t.Errorf("a comparison without update wrote the golden file (stat: %v)", err)
	}
	if err := compareGolden(golden, out, true); err != nil {
		t.Fatal(err)
	}
	if err := compareGolden(golden, out, false); err != nil {
		t.Errorf("same output: %v", err)
	}
	changed := []byte("# title\n\nline one\nline 2\n")
	err := compareGolden(golden, changed, false)
	if err == nil || !strings.Contains(err.Error(), "at line 4") || !strings.Contains(err.Error(), `want "line two"`) {
		t.Errorf("changed output: %v, want a difference at line 4", err)
	}
	if err := compareGolden(golden, out[:len(out)-1], false); err == nil {
		t.Error("output without the last newline compared equal")
	}
	if b, _ := os.ReadFile(golden); !bytes.Equal(b, out) {
		t.Errorf("comparisons changed the golden file: %q", b)
	}
}
