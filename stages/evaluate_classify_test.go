package stages

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lopper/eval"
	"lopper/pipeline"
	"lopper/pipeline/runner"
)

// bertQuickstart is the encoder quickstart's model and dev set.
func bertQuickstart(t testing.TB) (modelDir, dev, trainFile string) {
	root := filepath.Join(repoRoot(t), "quickstart", "bert")
	return filepath.Join(root, "model"), filepath.Join(root, "dev.tsv"), filepath.Join(root, "train.tsv")
}

// evaluate with classify gives the labelled task's metrics, the model's
// recorded dev accuracy, and acc_drop against a baseline by the one rule;
// a problem type the model does not have is an error that says which.
func TestEvaluateClassify(t *testing.T) {
	dir, dev, _ := bertQuickstart(t)
	var rec struct {
		Metadata struct {
			Result struct {
				Accuracy float64 `json:"accuracy"`
			} `json:"result"`
		} `json:"metadata"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "lopper.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf(`version: 1
name: classify
stages:
  base: {uses: load, with: {path: %q}}
  dense: {uses: evaluate, with: {model: base, classify: %q, size: true}}
  pruned: {uses: prune, with: {model: base, sparsity: 0.8}}
  check: {uses: evaluate, with: {model: pruned, classify: %q, batch: 3, max_length: 32, size: true, baseline: dense}}
`, dir, dev, dev)
	res := run(t, parseRecipe(t, t.TempDir(), src))
	d, c := stage(t, res, "dense").Metrics, stage(t, res, "check").Metrics
	if d["accuracy"] != rec.Metadata.Result.Accuracy || d["examples"] != 500 || d["macro_f1"] == 0 || d["mcc"] == 0 {
		t.Errorf("dense %v; lopper.json says accuracy %g", d, rec.Metadata.Result.Accuracy)
	}
	if c["acc_drop"] != d["accuracy"]-c["accuracy"] || c["acc_drop"] == 0 || c["size_ratio"] >= 1 {
		t.Errorf("pruned: acc_drop %g, accuracy %g → %g, size_ratio %g", c["acc_drop"], d["accuracy"], c["accuracy"], c["size_ratio"])
	}
	det, ok := stage(t, res, "check").Result().Details.(evaluateDetails)
	if !ok || det.Classify == nil || det.Classify.Protocol.MaxLength != 32 || det.Classify.Protocol.Batch != 3 || det.Classify.PerExample != nil {
		t.Errorf("details %+v", det)
	}

	bad := strings.Replace(src, "classify: "+fmt.Sprintf("%q", dev)+", size: true}", "classify: "+fmt.Sprintf("%q", dev)+", problem_type: regression}", 1)
	failed, err := runner.Run(t.Context(), parseRecipe(t, t.TempDir(), bad), runner.Options{Jobs: 2, RunDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if s := stage(t, failed, "dense"); s.Status != pipeline.StageFailed || !strings.Contains(s.Error, "set problem_type: single_label_classification") {
		t.Errorf("problem type: %s %q", s.Status, s.Error)
	}
}

// classify's fields are checked at load time, at their position.
func TestEvaluateClassifyConfigProblems(t *testing.T) {
	src := `version: 1
name: bad
stages:
  base: {uses: load, with: {path: m}}
  e1: {uses: evaluate, with: {model: base, classify: d.tsv, text: t.txt}}
  e2: {uses: evaluate, with: {model: base, text: t.txt, max_length: 8, problem_type: regression}}
  e3: {uses: evaluate, with: {model: base, classify: d.tsv, problem_type: ordinal, max_length: -1, limit: 5, sample: true}}
`
	want := []wantProblem{
		{5, "classify: a labelled task evaluates an encoder classifier"},
		{6, "max_length: applies to classify"},
		{6, "problem_type: applies to classify"},
		{7, `problem_type: "ordinal" is not a problem type`},
		{7, "max_length: must be positive"},
		{7, "sample: applies to multiple choice"},
	}
	checkProblems(t, loadInvalid(t, filepath.Join(t.TempDir(), "bad.yaml"), src), want)
	if got := classifyMetrics(eval.Regression); len(got) != 2 {
		t.Errorf("regression declares %v", got)
	}
}
