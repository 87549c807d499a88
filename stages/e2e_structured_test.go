package stages

import (
	"path/filepath"
	"slices"
	"testing"

	"lopper/internal/sharedtest"
	"lopper/model"
)

// Structured pruning with distillation on both tiny models: heads and
// neurons are physically removed (fewer parameters, smaller dims in the
// saved config), retraining with the dense teacher lowers the loss, and
// the saved model loads back with the in-memory model's logits.
func TestStructuredDistillRecipe(t *testing.T) {
	for _, arch := range []string{"tiny-llama", "tiny-gpt2"} {
		t.Run(arch, func(t *testing.T) {
			// GPT-2 derives head_dim from n_embd / n_head: with a head
			// removed, Hugging Face cannot load it, and save must be told.
			set := sharedSet(t, arch, "train", "calib_samples=8", "retrain_steps=30", "batch_size=8", "lr=0.001")
			if arch == "tiny-gpt2" {
				set = append(set, "hf_incompatible=keep")
			}
			r := loadRecipe(t, filepath.Join(repoRoot(t), "recipes", "structured-distill.yaml"), set...)
			rec := run(t, r)
			base := modelOf(t, stage(t, rec, "base")).Model
			pruned := modelOf(t, stage(t, rec, "neurons")).Model
			final := modelOf(t, stage(t, rec, "retrain")).Model
			b, p := base.Config.Layers[0], pruned.Config.Layers[0]
			group := b.Heads / b.KVHeads
			if p.KVHeads != b.KVHeads-1 || p.Heads != b.Heads-group {
				t.Errorf("heads %d/%d kv, from %d/%d: want one kv group fewer", p.Heads, p.KVHeads, b.Heads, b.KVHeads)
			}
			if want := b.Intermediate - b.Intermediate/4; p.Intermediate != want {
				t.Errorf("intermediate %d, want %d", p.Intermediate, want)
			}
			if !(pruned.NumParams() < base.NumParams()) || final.NumParams() != pruned.NumParams() {
				t.Errorf("params: base %d, pruned %d, retrained %d", base.NumParams(), pruned.NumParams(), final.NumParams())
			}
			train := sharedtest.Tokens(sharedtest.Read(t, "data/shakespeare_train.txt")[:64*64+1])
			before, after := lmLoss(t, pruned, train, 64), lmLoss(t, final, train, 64)
			if !(after < before) {
				t.Errorf("distilled retrain took the training loss from %.4f to %.4f", before, after)
			}
			// The smaller model is smaller on disk too, by what a save writes.
			fm := stage(t, rec, "final").Metrics
			wantBytes, err := final.SavedSize(model.SaveOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if fm["bytes_on_disk"] != float64(wantBytes) || !(fm["disk_ratio"] < 1) {
				t.Errorf("bytes_on_disk %v (a save writes %d), disk_ratio %v: want the bytes and a ratio below 1", fm["bytes_on_disk"], wantBytes, fm["disk_ratio"])
			}
			ratio := fm["size_ratio"]
			t.Logf("params %d → %d (size_ratio %.3f), training loss %.4f → %.4f, ppl_ratio pruned %.3f, retrained %.3f",
				base.NumParams(), final.NumParams(), ratio, before, after,
				stage(t, rec, "pruned").Metrics["ppl_ratio"], stage(t, rec, "final").Metrics["ppl_ratio"])
			saved, err := model.Load(filepath.Join(rec.RunDir, "model"), model.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(saved.Config.Layers, final.Config.Layers) {
				t.Errorf("saved dims %v, model %v", saved.Config.Layers, final.Config.Layers)
			}
			tokens := train[:2*64]
			if !slices.Equal(logits(t, saved, tokens, 64), logits(t, final, tokens, 64)) {
				t.Error("the saved model's logits differ from the in-memory model's")
			}
		})
	}
}

// Layer removal by Block Influence drops one of tiny-llama's two blocks;
// the retrained one-block model saves and loads with one layer.
func TestLayerRemovalRecipe(t *testing.T) {
	r := loadRecipe(t, filepath.Join(repoRoot(t), "recipes", "layer-removal.yaml"),
		sharedSet(t, "tiny-llama", "train", "calib_samples=8", "retrain_steps=10", "batch_size=4")...)
	rec := run(t, r)
	drop := stage(t, rec, "drop")
	if got := modelOf(t, drop).Model.Config.NumLayers(); got != 1 {
		t.Fatalf("%d layers after removing one of two", got)
	}
	if r := stage(t, rec, "dropped").Metrics["ppl_ratio"]; !(r > 1) {
		t.Errorf("ppl_ratio %g after dropping a block", r)
	}
	saved, err := model.Load(filepath.Join(rec.RunDir, "model"), model.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if saved.Config.NumLayers() != 1 || saved.NumParams() != modelOf(t, drop).Model.NumParams() {
		t.Errorf("saved model: %d layers, %d params", saved.Config.NumLayers(), saved.NumParams())
	}
}
