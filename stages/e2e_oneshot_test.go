package stages

import (
	"math"
	"path/filepath"
	"testing"

	"lopper/internal/sharedtest"
	"lopper/model"
)

// sharedSet returns the --set values that point a recipe at a shared tiny
// model, with trainParam (the recipe's calibration or training text param)
// and eval naming the Shakespeare texts, and small, fast sizes.
func sharedSet(t testing.TB, name, trainParam string, extra ...string) []string {
	t.Helper()
	set := []string{
		"model=" + sharedtest.Path(t, "models/"+name), trainParam + "=" + sharedtest.Path(t, "data/shakespeare_train.txt"),
		"eval=" + sharedtest.Path(t, "data/shakespeare_eval.txt"), "seq_len=64", "eval_limit=16",
	}
	return append(set, extra...)
}

// One-shot Wanda 50 % and SparseGPT 2:4 on both tiny models: the saved
// model has the pattern (half of every row / 2 of every 4 inputs zero),
// costs perplexity against the dense baseline, and loads back.
func TestOneShotRecipes(t *testing.T) {
	for _, arch := range []string{"tiny-llama", "tiny-gpt2"} {
		for _, recipe := range []string{"wanda-oneshot", "sparsegpt-2of4"} {
			t.Run(arch+"/"+recipe, func(t *testing.T) {
				r := loadRecipe(t, filepath.Join(repoRoot(t), "recipes", recipe+".yaml"), sharedSet(t, arch, "calib", "calib_samples=8")...)
				rec := run(t, r)
				final := stage(t, rec, "final").Metrics
				if !(final["ppl_ratio"] > 1) || final["ppl_ratio"] > 10 {
					t.Errorf("ppl_ratio %g: want pruning to cost some perplexity, not all of it", final["ppl_ratio"])
				}
				if math.Abs(final["sparsity"]-0.5) > 1e-9 {
					t.Errorf("sparsity %g, want 0.5", final["sparsity"])
				}
				saved, err := model.Load(filepath.Join(rec.RunDir, "model"), model.LoadOptions{})
				if err != nil {
					t.Fatal(err)
				}
				for _, ti := range saved.Layout.Tensors {
					if !model.Prunable(ti) {
						continue
					}
					w, cols := ti.Of(saved.W), ti.Cols()
					group := cols // wanda: per output row, half
					if recipe == "sparsegpt-2of4" {
						group = 4
					}
					for g := 0; g < len(w); g += group {
						zeros := 0
						for _, v := range w[g : g+group] {
							if v == 0 {
								zeros++
							}
						}
						if zeros != group/2 {
							t.Fatalf("%s: group at %d has %d zeros of %d", ti.Name, g, zeros, group)
						}
					}
				}
			})
		}
	}
}

// The sweep runs every method × sparsity branch against the baseline:
// sparsity follows the axis and, for each method, perplexity rises with it.
func TestSweepRecipe(t *testing.T) {
	if testing.Short() {
		t.Skip("nine prune+evaluate branches")
	}
	r := loadRecipe(t, filepath.Join(repoRoot(t), "recipes", "sweep.yaml"), sharedSet(t, "tiny-llama", "calib", "calib_samples=8")...)
	rec := run(t, r)
	sw := stage(t, rec, "sweep").Matrix
	if len(sw.Branches) != 9 {
		t.Fatalf("%d branches, want 9", len(sw.Branches))
	}
	ppl := map[string]map[float64]float64{}
	for _, b := range sw.Branches {
		method, s := b.Values["method"].(string), b.Values["sparsity"].(float64)
		check := stage(t, rec, b.Stages[1].Path).Metrics
		if math.Abs(check["sparsity"]-s) > 0.01 {
			t.Errorf("%s: sparsity %g", b.Label, check["sparsity"])
		}
		if ppl[method] == nil {
			ppl[method] = map[float64]float64{}
		}
		ppl[method][s] = check["perplexity"]
	}
	for method, by := range ppl {
		if !(by[0.3] < by[0.5] && by[0.5] < by[0.7]) {
			t.Errorf("%s: perplexity at 0.3/0.5/0.7 = %v", method, by)
		}
	}
	t.Logf("perplexity by method and sparsity: %v", ppl)
}
