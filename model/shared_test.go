package model

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// sharedDir returns the repository's ../shared directory, skipping the test
// when it is absent (the product never needs it).
func sharedDir(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Skip("cannot locate the source file")
	}
	// model/ → repository root → ../shared
	dir := filepath.Join(filepath.Dir(file), "..", "..", "shared")
	if _, err := os.Stat(filepath.Join(dir, "models")); err != nil {
		t.Skipf("shared test data not found at %s", dir)
	}
	return dir
}

// reference is the part of shared/models/*/reference.json these tests use.
type reference struct {
	Top5   [][2]float64 `json:"prompt_last_logits_top5"`
	SumAbs float64      `json:"prompt_logits_sum_abs"`
	Params int          `json:"param_count"`
	Dense  struct {
		PPL    float64 `json:"ppl"`
		Acc    float64 `json:"acc"`
		Tokens int     `json:"tokens"`
	} `json:"dense"`
}

func loadReference(t testing.TB, dir string) reference {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r reference
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}
