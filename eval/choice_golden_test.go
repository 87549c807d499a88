package eval

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"lopper/internal/sharedtest"
)

// TestChoicesMatchHarnessGolden compares multiple-choice scores with
// testdata/hellaswag_golden.json: lm-evaluation-harness's algorithm
// (encode pair, left truncation, continuation rows) run in Python with an
// independent float64 PyTorch forward pass of tiny-llama
// (testdata/gen_hellaswag_golden.py).
func TestChoicesMatchHarnessGolden(t *testing.T) {
	var golden struct {
		Tasks []struct {
			Line     int       `json:"line"`
			Label    int       `json:"label"`
			LogLik   []float64 `json:"loglik"`
			Pred     int       `json:"pred"`
			PredNorm int       `json:"pred_norm"`
		} `json:"tasks"`
	}
	data, err := os.ReadFile(filepath.Join("testdata", "hellaswag_golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &golden); err != nil {
		t.Fatal(err)
	}
	all, err := ReadHellaSwag(sharedtest.Path(t, "data", "hellaswag", "hellaswag_val_200.txt"))
	if err != nil {
		t.Fatal(err)
	}
	byLine := map[int]Task{}
	for _, task := range all.Tasks {
		byLine[task.Line] = task
	}
	tf := &TaskFile{Format: all.Format, Path: all.Path}
	for _, g := range golden.Tasks {
		tf.Tasks = append(tf.Tasks, byLine[g.Line])
	}
	m, _ := loadShared(t, "tiny-llama")
	res, err := Choices(context.Background(), m, tf, ChoiceOptions{Details: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Truncated == 0 || res.Split != 0 {
		t.Errorf("truncated %d split %d: the golden tasks should exercise left truncation only", res.Truncated, res.Split)
	}
	correct, correctNorm := 0, 0
	for k, g := range golden.Tasks {
		got := res.PerTask[k]
		if got.Line != g.Line || got.Label != g.Label {
			t.Fatalf("task %d: line %d label %d, golden %d and %d", k, got.Line, got.Label, g.Line, g.Label)
		}
		for i, want := range g.LogLik {
			if d := math.Abs(got.LogLik[i] - want); d > 1e-5*math.Abs(want) {
				t.Errorf("line %d choice %d: log-likelihood %.9g, PyTorch %.9g", g.Line, i, got.LogLik[i], want)
			}
		}
		if got.Pred != g.Pred || got.PredNorm != g.PredNorm {
			t.Errorf("line %d: pred %d pred_norm %d, harness %d and %d", g.Line, got.Pred, got.PredNorm, g.Pred, g.PredNorm)
		}
		if g.Pred == g.Label {
			correct++
		}
		if g.PredNorm == g.Label {
			correctNorm++
		}
	}
	if res.Correct != correct || res.CorrectNorm != correctNorm {
		t.Errorf("correct %d/%d, harness %d/%d", res.Correct, res.CorrectNorm, correct, correctNorm)
	}
}
