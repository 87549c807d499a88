package stages

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"lopper/internal/sharedtest"
)

// A pruned model saved and loaded again has zeros but no mask: retrain
// holds those zeros, reports where the mask came from, computes the
// held-out loss every eval_every steps, and records the loss curve.
func TestRetrainHoldsZerosOfALoadedModel(t *testing.T) {
	out := filepath.Join(t.TempDir(), "pruned")
	set := []string{"model=" + sharedtest.Path(t, "models/tiny-gpt2"), "train=" + sharedtest.Path(t, "data/shakespeare_train.txt"),
		"eval=" + sharedtest.Path(t, "data/shakespeare_eval.txt"), "out=" + out}
	params := `params:
  model: {type: path, default: m}
  train: {type: path, default: t}
  eval: {type: path, default: e}
  out: {type: path, default: o}
`
	run(t, parseRecipe(t, t.TempDir(), `version: 1
name: prune-and-save
`+params+`stages:
  base: {uses: load, with: {path: "${{ params.model }}"}}
  prune: {uses: prune, with: {model: base, sparsity: 0.6}}
  save: {uses: save, with: {model: prune, export: true, path: "${{ params.out }}"}}
`, set...))
	rec := run(t, parseRecipe(t, t.TempDir(), `version: 1
name: retrain-loaded
`+params+`stages:
  pruned: {uses: load, with: {path: "${{ params.out }}"}}
  retrain:
    uses: retrain
    with: {model: pruned, data: "${{ params.train }}", steps: 6, batch_size: 2, seq_len: 32, lr: 0.001,
           eval_every: 3, eval_data: "${{ params.eval }}", eval_batches: 2, debug_masks: true}
`, set...))
	loaded, retrained := modelOf(t, stage(t, rec, "pruned")).Model, modelOf(t, stage(t, rec, "retrain")).Model
	if loaded.Mask != nil {
		t.Fatal("a model loaded from disk should have no mask")
	}
	zeros, moved := 0, 0
	for i, v := range loaded.W {
		if v == 0 && retrained.Mask != nil && !retrained.Mask.Get(i) {
			zeros++
			if retrained.W[i] != 0 {
				moved++
			}
		}
	}
	if zeros == 0 || moved != 0 {
		t.Errorf("%d held zeros, %d moved", zeros, moved)
	}
	s := stage(t, rec, "retrain")
	det := s.Result().Details.(retrainDetails)
	if !strings.Contains(det.Mask, "exactly-zero") || len(det.Curve) != 6 {
		t.Errorf("mask from %q, %d curve points", det.Mask, len(det.Curve))
	}
	evals := []int{}
	for _, p := range det.Curve {
		if p.EvalLoss != nil {
			evals = append(evals, p.Step)
		}
	}
	last := det.Curve[len(det.Curve)-1]
	if len(evals) != 2 || evals[0] != 3 || evals[1] != 6 || s.Metrics["eval_loss"] != *last.EvalLoss {
		t.Errorf("eval steps %v, eval_loss %g", evals, s.Metrics["eval_loss"])
	}
	if sp := s.Metrics["sparsity"]; sp < 0.59 {
		t.Errorf("sparsity %g after retraining a 60 %% sparse model", sp)
	}
}

// trainable and recompute reach the trainer: tensors the pattern does not
// match keep their weights bit for bit, recompute changes nothing, the
// pattern is in the run record's config and the cache key (a default
// retrain's key does not mention either), and plan's estimate shrinks.
func TestRetrainTrainableAndRecompute(t *testing.T) {
	root := repoRoot(t)
	src := `version: 1
stages:
  base: {uses: load, with: {path: ` + filepath.Join(root, "quickstart", "model") + `}}
  all: {uses: retrain, with: {model: base, data: ` + filepath.Join(root, "quickstart", "train.txt") + `, steps: 3, batch_size: 2, seq_len: 32}}
  sel: {uses: retrain, with: {model: base, data: ` + filepath.Join(root, "quickstart", "train.txt") + `, steps: 3, batch_size: 2, seq_len: 32, trainable: 'model\.layers\.1\.mlp\.'}}
  rec: {uses: retrain, with: {model: base, data: ` + filepath.Join(root, "quickstart", "train.txt") + `, steps: 3, batch_size: 2, seq_len: 32, trainable: 'model\.layers\.1\.mlp\.', recompute: true}}
`
	r := parseRecipe(t, t.TempDir(), src)
	p := r.Plan()
	r.EstimateMemory(p)
	mem := map[string]int64{}
	for _, lvl := range p.Levels {
		for _, s := range lvl {
			if s.Memory != nil {
				mem[s.ID] = s.Memory.Bytes
			}
		}
	}
	if !(mem["all"] > mem["sel"] && mem["sel"] > mem["rec"] && mem["rec"] > 0) {
		t.Errorf("plan's estimates: %v; want all > sel > rec", mem)
	}
	rec := run(t, r)
	base, sel, recomputed := modelOf(t, stage(t, rec, "base")).Model, modelOf(t, stage(t, rec, "sel")).Model, modelOf(t, stage(t, rec, "rec")).Model
	re := regexp.MustCompile(`model\.layers\.1\.mlp\.`)
	for _, ti := range base.Layout.Tensors {
		if same := slices.Equal(ti.Of(sel.W), ti.Of(base.W)); same == re.MatchString(ti.Name) {
			t.Errorf("%s: unchanged %v", ti.Name, same)
		}
	}
	if !slices.Equal(sel.W, recomputed.W) {
		t.Error("recompute changed the weights")
	}
	all, s := stage(t, rec, "all"), stage(t, rec, "sel")
	if strings.Contains(string(all.Config), "trainable") || strings.Contains(string(all.Config), "recompute") ||
		!strings.Contains(string(s.Config), `"trainable":"model\\.layers\\.1\\.mlp\\."`) || all.CacheKey == s.CacheKey || s.CacheKey == stage(t, rec, "rec").CacheKey {
		t.Errorf("configs %s and %s, keys %s %s", all.Config, s.Config, all.CacheKey, s.CacheKey)
	}
}
