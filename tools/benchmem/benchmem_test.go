package main

import (
	"math"
	"path/filepath"
	"testing"
)

// The fit recovers a line through its points, and one point gives the
// line through it and the origin.
func TestLeastSquares(t *testing.T) {
	f := leastSquares([]float64{1, 2, 4}, []float64{7, 13, 25}) // y = 6x + 1
	if math.Abs(f.A-6) > 1e-12 || math.Abs(f.B-1) > 1e-12 {
		t.Errorf("fit %+v, want 6x + 1", f)
	}
	if g := leastSquares([]float64{2}, []float64{8}); g.A != 4 || g.B != 0 {
		t.Errorf("one point: %+v", g)
	}
}

// The estimate is read from lopper's JSON log line "memory estimate".
func TestEstimateFromLog(t *testing.T) {
	log := `{"@level":"info","@message":"pruning"}
{"@level":"debug","@message":"memory estimate","bytes":123456,"estimate":"…"}
not json
`
	if got := estimateFromLog([]byte(log)); got != 123456 {
		t.Errorf("got %d", got)
	}
	if got := estimateFromLog([]byte(`{"@message":"other","bytes":5}`)); got != 0 {
		t.Errorf("no estimate line: got %d", got)
	}
}

// A result replaces an earlier one of the same label, checkpoint and
// command, and keeps the others.
func TestAppendResult(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.json")
	for _, r := range []Result{
		{Label: "a", Checkpoint: "x", Command: "eval", PeakRSS: 1},
		{Label: "a", Checkpoint: "x", Command: "prune wanda", PeakRSS: 2},
		{Label: "a", Checkpoint: "x", Command: "eval", PeakRSS: 3},
	} {
		if err := appendResult(path, r); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := readResults(path)
	if err != nil || len(rs) != 2 || rs[0].PeakRSS != 2 || rs[1].PeakRSS != 3 {
		t.Errorf("%v %+v", err, rs)
	}
}
