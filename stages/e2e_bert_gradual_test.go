package stages

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"lopper/eval"
	"lopper/model"
)

// The shipped recipes/bert-gradual.yaml with its defaults (the encoder
// quickstart): sparsity rises along the cubic schedule, every retrain
// distils the dense classifier and holds the masks, the loop stops at the
// first iteration whose dev accuracy falls more than 1 % below the dense
// model's and keeps the one before it, which is saved (loading back to the
// same dev accuracy) and reported.
func TestBERTGradualRecipe(t *testing.T) {
	r := loadRecipe(t, filepath.Join(repoRoot(t), "recipes", "bert-gradual.yaml"))
	rec := run(t, r)
	loop := stage(t, rec, "gradual").Loop
	base := stage(t, rec, "baseline").Metrics["accuracy"]
	const maxDrop, from, to, iters = 0.01, 0.5, 0.97, 6
	stop := -1
	for i, it := range loop.Iterations {
		prune, retrain, check := stage(t, rec, it.Stages[0].Path), stage(t, rec, it.Stages[1].Path), stage(t, rec, it.Stages[2].Path)
		p := math.Min(1, float64(i)/float64(iters-1))
		if want := to + (from-to)*math.Pow(1-p, 3); math.Abs(prune.Metrics["target_sparsity"]-want) > 1e-12 || math.Abs(prune.Metrics["sparsity"]-want) > 0.01 {
			t.Errorf("iteration %d: sparsity %g (target %g), schedule %g", i, prune.Metrics["sparsity"], prune.Metrics["target_sparsity"], want)
		}
		det := retrain.Result().Details.(retrainDetails)
		if len(det.Curve) != 150 || det.Curve[0].KDLoss <= 0 {
			t.Errorf("iteration %d: %d steps, step 1 KD %g: want the teacher distilled", i, len(det.Curve), det.Curve[0].KDLoss)
		}
		pm, rm := modelOf(t, prune).Model, modelOf(t, retrain).Model
		if err := rm.CheckMask(); err != nil || !pm.Mask.Equal(rm.Mask) {
			t.Errorf("iteration %d: masks after retraining: %v", i, err)
		}
		drop := check.Metrics["acc_drop"]
		if drop != base-check.Metrics["accuracy"] {
			t.Errorf("iteration %d: acc_drop %g, baseline − accuracy %g", i, drop, base-check.Metrics["accuracy"])
		}
		t.Logf("iteration %d: sparsity %.3f, accuracy %.3f, acc_drop %.3f", i, prune.Metrics["sparsity"], check.Metrics["accuracy"], drop)
		if drop > maxDrop && stop < 0 {
			stop = i
		}
	}
	if stop <= 0 || len(loop.Iterations) != stop+1 {
		t.Fatalf("want the loop to stop after its first iteration, at the first drop above %g: stop %d of %d iterations", maxDrop, stop, len(loop.Iterations))
	}
	if loop.Kept == nil || *loop.Kept != stop-1 {
		t.Fatalf("kept iteration %v, want %d", loop.Kept, stop-1)
	}
	kept := stage(t, rec, loop.Iterations[stop-1].Stages[2].Path).Metrics
	saved, err := model.Load(filepath.Join(rec.RunDir, "model"), model.LoadOptions{CheckFinite: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := eval.ClassifyModel(t.Context(), saved, filepath.Join(repoRoot(t), "quickstart", "bert", "dev.tsv"), eval.ClassifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *res.Accuracy != kept["accuracy"] || base-*res.Accuracy > maxDrop {
		t.Errorf("the saved model's dev accuracy %g; the kept iteration's %g, the baseline's %g", *res.Accuracy, kept["accuracy"], base)
	}
	if sp, _ := saved.Sparsity(model.Prunable); sp < from {
		t.Errorf("saved sparsity %g", sp)
	}
	for _, f := range []string{"report.html", "report.md"} {
		if _, err := os.Stat(filepath.Join(rec.RunDir, f)); err != nil {
			t.Errorf("report: %v", err)
		}
	}
}
