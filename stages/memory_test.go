package stages

import (
	"os"
	"path/filepath"
	"testing"

	"lopper/eval"
	"lopper/internal/memgc"
	"lopper/model"
	"lopper/pipeline"
	"lopper/pruning"
	"lopper/train"
)

// A plan's memory estimates: load reads config.json (not the weights) and
// hands the model's config on; prune keeps its input and holds a copy, the
// mask and the calibration its calib block asks for; evaluate, retrain and
// save estimate from the same config; a stage after exec (whose model is
// known only when it runs) says so.
func TestPlanMemoryEstimates(t *testing.T) {
	root := repoRoot(t)
	dir, text := filepath.Join(root, "quickstart", "model"), filepath.Join(root, "quickstart", "train.txt")
	r := loadRecipe(t, filepath.Join(root, "recipes", "quickstart.yaml"))
	p := r.Plan()
	r.EstimateMemory(p)
	got := map[string]*pipeline.PlanMemory{}
	for _, lvl := range p.Levels {
		for _, s := range lvl {
			got[s.ID] = s.Memory
		}
	}
	c, err := model.LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := model.WeightBytes(&c)
	gc := memgc.For(w)
	weights := model.MemoryEstimate{Parts: []model.MemoryPart{{What: "weights", Bytes: w}}}
	pr, err := pruning.EstimateMemory(&c, pruning.MemoryOptions{Options: pruning.Options{Method: pruning.Magnitude, Scope: pruning.ScopeLayer, Sparsity: 0.8}})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(root, "quickstart", "eval.txt"))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := eval.EstimateTextMemory(&c, eval.TextOptions{SeqLen: 128}, fi.Size())
	if err != nil {
		t.Fatal(err)
	}
	tr, err := train.EstimateMemory(&c, train.MemoryOptions{B: 16, T: 128, Mask: true})
	if err != nil {
		t.Fatal(err)
	}
	tr.Add("input model", w)
	for id, want := range map[string]model.MemoryEstimate{"base": weights, "prune": pr, "baseline": ev, "retrain": tr, "save": weights} {
		if m := got[id]; m == nil || m.Bytes != want.WithRuntime(gc).Total() {
			t.Errorf("%s: %+v, want %v", id, m, want.WithRuntime(gc))
		}
	}

	src := `version: 1
stages:
  base: {uses: load, with: {path: ` + dir + `}}
  tool: {uses: exec, with: {run: [cp, -r, "${{ inputs.model }}", "${{ outputs.model }}"], inputs: {model: base}, outputs: {model: out}}}
  prune: {uses: prune, with: {model: tool, method: wanda, sparsity: 0.5, calib: {file: ` + text + `, samples: 2, seq_len: 16}}}
`
	r = parseRecipe(t, t.TempDir(), src)
	p = r.Plan()
	r.EstimateMemory(p)
	if m := p.Levels[2][0].Memory; m == nil || m.Unknown != "the model of stage tool is not known before it runs" {
		t.Errorf("after exec: %+v", m)
	}
}
