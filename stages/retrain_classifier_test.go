package stages

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"lopper/model"
	"lopper/train"
)

// retrain on a pruned encoder classifier: the labelled training file, the
// loss going down, distillation from the dense teacher, the held-out loss
// on the dev file, the masks held, accuracy won back, and the same weights
// on a second run.
func TestRetrainClassifier(t *testing.T) {
	dir, dev, trainTSV := bertQuickstart(t)
	src := fmt.Sprintf(`version: 1
name: retrain-bert
stages:
  base: {uses: load, with: {path: %q}}
  dense: {uses: evaluate, with: {model: base, classify: %q}}
  pruned: {uses: prune, with: {model: base, sparsity: 0.85}}
  before: {uses: evaluate, with: {model: pruned, classify: %q, baseline: dense}}
  retrain:
    uses: retrain
    with: {model: pruned, data: %q, steps: 120, batch_size: 16, lr: 0.002, warmup_steps: 10, seed: 3,
           teacher: base, distill: {temperature: 2, alpha: 0.5}, eval_every: 60, eval_data: %q, debug_masks: true}
  after: {uses: evaluate, with: {model: retrain, classify: %q, baseline: dense}}
`, dir, dev, dev, trainTSV, dev, dev)
	rec := run(t, parseRecipe(t, t.TempDir(), src))
	before, after, r := stage(t, rec, "before").Metrics, stage(t, rec, "after").Metrics, stage(t, rec, "retrain")
	if !(before["acc_drop"] > 0.02) || !(after["acc_drop"] < before["acc_drop"]/2) {
		t.Errorf("acc_drop %g after pruning, %g after retraining: retraining should win back at least half", before["acc_drop"], after["acc_drop"])
	}
	if !(r.Metrics["final_loss"] < r.Metrics["initial_loss"]) || r.Metrics["tokens"] != 120*16 || r.Metrics["eval_loss"] <= 0 {
		t.Errorf("retrain metrics %v", r.Metrics)
	}
	det := r.Result().Details.(retrainDetails)
	if len(det.Curve) != 120 || det.Curve[0].KDLoss <= 0 || det.Curve[59].EvalLoss == nil {
		t.Errorf("curve: %d steps, step 1 KD %g", len(det.Curve), det.Curve[0].KDLoss)
	}
	pruned, retrained := modelOf(t, stage(t, rec, "pruned")).Model, modelOf(t, r).Model
	for i, k := range pruned.Mask.Bytes() {
		if k == 0 && retrained.W[i] != 0 {
			t.Fatalf("pruned weight %d is %g after retraining", i, retrained.W[i])
		}
	}
	if sp := r.Metrics["sparsity"]; sp < 0.84 {
		t.Errorf("sparsity %g after retraining an 85 %% sparse model", sp)
	}
	again := run(t, parseRecipe(t, t.TempDir(), src))
	if !slices.Equal(modelOf(t, stage(t, again, "retrain")).Model.W, retrained.W) {
		t.Error("a second run retrained to other weights")
	}
}

// Labelled files become the examples of the model's problem type: a class,
// one 0/1 per label, or the regression target; examples are truncated to
// the max length.
func TestClassifierExamples(t *testing.T) {
	tok, err := os.ReadFile(filepath.Join(repoRoot(t), "quickstart", "bert", "model", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		config, file string
		want         train.Example
	}{
		{`"id2label": {"0": "neg", "1": "pos"}`, "sentence\tlabel\nthe film was good\tpos\n", train.Example{Class: 1}},
		{`"id2label": {"0": "a", "1": "b", "2": "c"}, "problem_type": "multi_label_classification"`, "sentence\tlabel\nthe film was good\ta,c\n",
			train.Example{Values: []float32{1, 0, 1}}},
		{`"num_labels": 1`, "sentence\tlabel\nthe film was good\t2.5\n", train.Example{Values: []float32{2.5}}},
	} {
		cfg, err := model.ParseConfig(fmt.Appendf(nil, `{"model_type": "bert", "hidden_size": 8, "num_hidden_layers": 1,
			"num_attention_heads": 2, "intermediate_size": 8, "vocab_size": 113, "max_position_embeddings": 16, %s}`, c.config))
		if err != nil {
			t.Fatal(err)
		}
		m, err := model.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		m.TokenizerJSON = tok
		path := filepath.Join(t.TempDir(), "task.tsv")
		if err := os.WriteFile(path, []byte(c.file), 0o644); err != nil {
			t.Fatal(err)
		}
		exs, err := classifierExamples(m, path, 4)
		if err != nil {
			t.Fatal(err)
		}
		e := exs[0]
		if len(exs) != 1 || len(e.IDs) != 4 || e.Class != c.want.Class || !slices.Equal(e.Values, c.want.Values) {
			t.Errorf("%s: %+v, want label %+v and 4 tokens", cfg.Problem, e, c.want)
		}
	}
}
