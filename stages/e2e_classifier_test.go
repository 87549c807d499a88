package stages

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lopper/eval"
	"lopper/model"
	"lopper/pruning"
)

// Calibrated pruning of the encoder quickstart through the stages: the
// calib file is a labelled task (its examples, padded and masked), Wanda,
// SparseGPT and Taylor prune by weights, activation and Taylor remove
// heads and neurons, Block Influence a layer; each result evaluates on the
// dev set, and saved and loaded back it scores the same.
func TestPruneClassifierWithCalibration(t *testing.T) {
	dir, dev, trainTSV := bertQuickstart(t)
	out := t.TempDir()
	type variant struct{ name, with string }
	variants := []variant{
		{"wanda", `method: wanda, sparsity: 0.5`},
		{"sparsegpt24", `method: sparsegpt, pattern: "2:4"`},
		{"taylor", `method: taylor, sparsity: 0.5`},
		{"heads", `method: activation, pattern: heads, sparsity: 0.25`},
		{"neurons", `method: taylor, pattern: neurons, sparsity: 0.5`},
		{"layers", `method: block_influence, pattern: layers, count: 1`},
	}
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nname: prune-bert\nstages:\n  base: {uses: load, with: {path: %q}}\n", dir)
	fmt.Fprintf(&b, "  dense: {uses: evaluate, with: {model: base, classify: %q, size: true}}\n", dev)
	for _, v := range variants {
		fmt.Fprintf(&b, "  p_%s: {uses: prune, with: {model: base, %s, calib: {file: %q, samples: 32, seq_len: 32, batch: 8}}}\n", v.name, v.with, trainTSV)
		fmt.Fprintf(&b, "  e_%s: {uses: evaluate, with: {model: p_%s, classify: %q, baseline: dense, size: true}}\n", v.name, v.name, dev)
	}
	rec := run(t, parseRecipe(t, t.TempDir(), b.String()))
	base := modelOf(t, stage(t, rec, "base")).Model
	for _, v := range variants {
		m := stage(t, rec, "e_"+v.name).Metrics
		pm := modelOf(t, stage(t, rec, "p_"+v.name)).Model
		det, weights := stage(t, rec, "p_"+v.name).Result().Details.(*pruning.Report)
		if weights != (v.name == "wanda" || v.name == "sparsegpt24" || v.name == "taylor") {
			t.Errorf("%s: details %T", v.name, stage(t, rec, "p_"+v.name).Result().Details)
		}
		t.Logf("%s: accuracy %.3f (acc_drop %.3f), params %g", v.name, m["accuracy"], m["acc_drop"], m["params"])
		if !(m["accuracy"] > 0.5) || m["examples"] != 500 {
			t.Errorf("%s: accuracy %g on %g examples", v.name, m["accuracy"], m["examples"])
		}
		if weights && (det.CalibSamples != 32 || det.EmbeddingParams == 0) {
			t.Errorf("%s: report calibrated on %d examples, %d embedding parameters", v.name, det.CalibSamples, det.EmbeddingParams)
		}
		saved := filepath.Join(out, v.name)
		if err := pm.Save(saved, model.SaveOptions{}); err != nil {
			t.Fatal(err)
		}
		back, err := model.Load(saved, model.LoadOptions{CheckFinite: true})
		if err != nil {
			t.Fatal(err)
		}
		r, err := eval.ClassifyModel(t.Context(), back, dev, eval.ClassifyOptions{})
		if err != nil || *r.Accuracy != m["accuracy"] {
			t.Errorf("%s: saved and loaded, accuracy %v (%v); in the run %g", v.name, r.Accuracy, err, m["accuracy"])
		}
		if v.name == "heads" {
			if pm.Config.Layers[0].Heads != 3 {
				t.Errorf("heads: %v", pm.Config.Layers)
			}
			cfg, err := os.ReadFile(filepath.Join(out, v.name, "config.json"))
			if err != nil || !strings.Contains(string(cfg), "pruned_heads") {
				t.Errorf("heads: config.json %s (%v)", cfg, err)
			}
		}
		if (v.name == "neurons" || v.name == "layers") && !(pm.NumParams() < base.NumParams()) {
			t.Errorf("%s: %d parameters, the dense model %d", v.name, pm.NumParams(), base.NumParams())
		}
	}
}
