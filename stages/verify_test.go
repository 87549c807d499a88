package stages

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lopper/model"
	"lopper/pipeline"
	"lopper/pipeline/runner"
	"lopper/pruning"
)

// reviveConfig is the with block of the test-only kind `revive`: a copy of
// model with its first pruned weight of tensor set to 0.5, mask kept — a
// stage that broke the mask.
type reviveConfig struct {
	Model  pipeline.Ref `yaml:"model"`
	Tensor string       `yaml:"tensor"`
}

func registerRevive(reg *pipeline.Registry) {
	reg.Register("revive", pipeline.Typed(pipeline.KindOf[reviveConfig]{
		Declare: func(cfg *reviveConfig) pipeline.Decl {
			return pipeline.Decl{Inputs: []pipeline.Input{modelInput(cfg.Model)}, Artifacts: []string{ArtifactModel}}
		},
		Run: func(_ context.Context, sc *pipeline.StageContext, cfg *reviveConfig) (*pipeline.Result, error) {
			in, err := inputModel(sc, cfg.Model)
			if err != nil {
				return nil, err
			}
			m := in.Model.Clone()
			t, ok := m.Layout.Lookup(cfg.Tensor)
			if !ok {
				return nil, fmt.Errorf("no tensor %s", cfg.Tensor)
			}
			w := t.Of(m.W)
			for i, v := range w {
				if v == 0 {
					w[i] = 0.5
					sc.Log.Info("revived", "index", i)
					a := NewModelArtifact(m, in.History, HistoryStep{Stage: sc.Path, Kind: "revive"})
					return &pipeline.Result{Artifacts: map[string]pipeline.Artifact{ArtifactModel: a}, Details: i}, nil
				}
			}
			return nil, fmt.Errorf("%s has no pruned weight", cfg.Tensor)
		},
	}))
}

// runVerifyRecipe runs src (a recipe in a fresh directory) with the
// revive kind and returns its record, whatever its status.
func runVerifyRecipe(t *testing.T, src string) *pipeline.RunRecord {
	t.Helper()
	dir := t.TempDir()
	reg := newRegistry()
	registerRevive(reg)
	file := filepath.Join(dir, "recipe.yaml")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := pipeline.Load(file, pipeline.LoadOptions{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := runner.Run(context.Background(), r, runner.Options{Jobs: 2, RunDir: filepath.Join(dir, "run"), Version: "test", KeepArtifacts: true})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// The verify stage on Llama and GPT-2: a freshly pruned model's masks
// hold (checked = its pruned weights); a stage that revives a pruned
// weight breaks the model's own mask, and a dense model breaks its pruned
// version's; the failures name the tensor, the entry and the count.
// Saved models have no mask: their zeros are checked through masks_of.
func TestVerifyStage(t *testing.T) {
	for _, tc := range []struct{ golden, tensor string }{
		{"llama-bf16", "model.layers.1.mlp.up_proj.weight"},
		{"gpt2-gelu-new", "transformer.h.1.mlp.c_fc.weight"},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			src := fmt.Sprintf(`version: 1
name: v
stages:
  base: {uses: load, with: {path: %q}}
  prune: {uses: prune, with: {model: base, method: magnitude, sparsity: 0.5}}
  own: {uses: verify, with: {model: prune}}
  both: {uses: verify, with: {model: prune, masks_of: prune}}
  revived: {uses: revive, with: {model: prune, tensor: %s}}
  broken_own: {uses: verify, with: {model: revived}}
  dense: {uses: verify, with: {model: base, masks_of: prune}}
`, filepath.Join(repoRoot(t), "model", "testdata", "goldens", tc.golden), tc.tensor)
			rec := runVerifyRecipe(t, src)
			pm := modelOf(t, stage(t, rec, "prune")).Model
			frac, n := pm.Sparsity(model.Prunable)
			zeros := float64(int(frac*float64(n) + 0.5))
			for _, id := range []string{"own", "both"} {
				s := stage(t, rec, id)
				if s.Status != pipeline.StageSucceeded || s.Metrics["violations"] != 0 || s.Metrics["checked"] != zeros || s.Metrics["sparsity"] != frac {
					t.Errorf("%s: %s %v %s; want %g checked", id, s.Status, s.Metrics, s.Error, zeros)
				}
			}
			s := stage(t, rec, "broken_own")
			idx := fmt.Sprint(stage(t, rec, "revived").Details)
			if s.Status != pipeline.StageFailed || !strings.Contains(s.Error, "1 pruned weight in 1 tensor is not zero") ||
				!strings.Contains(s.Error, tc.tensor) || !strings.Contains(s.Error, "entry "+idx+" ") {
				t.Errorf("revived weight %s: %s %q", idx, s.Status, s.Error)
			}
			s = stage(t, rec, "dense")
			want := fmt.Sprintf("%d pruned weights in", int(zeros))
			if s.Status != pipeline.StageFailed || !strings.Contains(s.Error, want) {
				t.Errorf("dense model: %s %q; want %q", s.Status, s.Error, want)
			}
		})
	}
}

// A pruned model saved to disk keeps no mask: loaded back, its zeros are
// what masks_of checks; a copy with one pruned weight revived fails. A
// structurally pruned model against its unsliced source is a clear error.
func TestVerifyStageFromDisk(t *testing.T) {
	src := filepath.Join(repoRoot(t), "model", "testdata", "goldens", "llama-bf16")
	m, err := model.Load(src, model.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pruned, _, err := pruning.Prune(context.Background(), m, pruning.Options{Method: pruning.Magnitude, Sparsity: 0.6})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "pruned"), filepath.Join(dir, "retrained")
	if err := pruned.Save(good, model.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	const name = "model.layers.0.self_attn.q_proj.weight"
	broken := pruned.Clone()
	ti, _ := broken.Layout.Lookup(name)
	w := ti.Of(broken.W)
	k := 0
	for w[k] != 0 {
		k++
	}
	w[k] = -0.125 // exact in BF16
	if err := broken.Save(bad, model.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	rec := runVerifyRecipe(t, fmt.Sprintf(`version: 1
name: v
stages:
  pruned: {uses: load, with: {path: %q}}
  retrained: {uses: load, with: {path: %q}}
  dense: {uses: load, with: {path: %q}}
  ok: {uses: verify, with: {model: pruned, masks_of: pruned}}
  broken: {uses: verify, with: {model: retrained, masks_of: pruned}}
  small: {uses: prune, with: {model: dense, pattern: neurons, method: l2, sparsity: 0.5}}
  shapes: {uses: verify, with: {model: small, masks_of: dense}}
`, good, bad, src))
	if s := stage(t, rec, "ok"); s.Status != pipeline.StageSucceeded || s.Metrics["checked"] == 0 {
		t.Errorf("ok: %s %v %s", s.Status, s.Metrics, s.Error)
	}
	want := fmt.Sprintf("tensor %q entry %d (row %d, column %d) is -0.125", name, k, k/ti.Shape[1], k%ti.Shape[1])
	if s := stage(t, rec, "broken"); s.Status != pipeline.StageFailed || !strings.Contains(s.Error, want) || !strings.Contains(s.Error, "1 pruned weight") {
		t.Errorf("broken: %s %q; want %q", s.Status, s.Error, want)
	}
	if s := stage(t, rec, "shapes"); s.Status != pipeline.StageFailed || !strings.Contains(s.Error, "masks_of dense") || !strings.Contains(s.Error, "unsliced source") {
		t.Errorf("shapes: %s %q", s.Status, s.Error)
	}
}
