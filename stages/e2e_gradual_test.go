package stages

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"lopper/internal/sharedtest"
	"lopper/model"
)

// The gradual recipe on tiny-llama: the loop raises sparsity along the
// cubic schedule, stops on its until expression at the first iteration
// whose accuracy drop exceeds the limit, keeps the iteration before it,
// the masks hold through every retrain, retraining lowers the training
// loss, and save writes a directory that loads back with the kept model's
// logits and a manifest of its history.
func TestGradualLoopEndToEnd(t *testing.T) {
	modelDir := sharedtest.Path(t, "models/tiny-llama")
	const maxDrop, from, to, iters = 0.2, 0.5, 0.9, 5
	r := loadRecipe(t, filepath.Join(repoRoot(t), "recipes", "gradual-magnitude.yaml"),
		"model="+modelDir, "train="+sharedtest.Path(t, "data/shakespeare_train.txt"), "eval="+sharedtest.Path(t, "data/shakespeare_eval.txt"),
		"max_acc_drop=0.2", "from=0.5", "to=0.9", "iterations=5", "retrain_steps=20", "lr=0.0003",
		"batch_size=8", "seq_len=64", "eval_limit=24")
	rec := run(t, r)
	loop := stage(t, rec, "gradual").Loop
	train := sharedtest.Tokens(sharedtest.Read(t, "data/shakespeare_train.txt")[:64*64+1])
	base := stage(t, rec, "baseline").Metrics["accuracy"]

	// The stop: the first iteration whose drop exceeds the limit.
	stop := -1
	for i, it := range loop.Iterations {
		check := stage(t, rec, it.Stages[2].Path).Metrics
		drop := base - check["accuracy"]
		if math.Abs(check["acc_drop"]-drop) > 1e-12 {
			t.Errorf("iteration %d: acc_drop %g, baseline − accuracy %g", i, check["acc_drop"], drop)
		}
		if drop > maxDrop && stop < 0 {
			stop = i
		}
		// The schedule, written out: cubic from `from` to `to` over iters steps.
		p := math.Min(1, float64(i)/float64(iters-1))
		want := to + (from-to)*math.Pow(1-p, 3)
		prune := stage(t, rec, it.Stages[0].Path)
		if got := prune.Metrics["target_sparsity"]; math.Abs(got-want) > 1e-12 {
			t.Errorf("iteration %d: target sparsity %g, schedule %g", i, got, want)
		}
		if got := prune.Metrics["sparsity"]; math.Abs(got-want) > 0.01 {
			t.Errorf("iteration %d: sparsity %g, target %g", i, got, want)
		}
		retrain := stage(t, rec, it.Stages[1].Path)
		pm, rm := modelOf(t, prune).Model, modelOf(t, retrain).Model
		if before, after := lmLoss(t, pm, train, 64), lmLoss(t, rm, train, 64); !(after < before) {
			t.Errorf("iteration %d: retraining took the training loss from %.4f to %.4f", i, before, after)
		} else {
			t.Logf("iteration %d: sparsity %.3f, training loss %.4f → %.4f, acc_drop %.4f", i, prune.Metrics["sparsity"], before, after, drop)
		}
		if err := rm.CheckMask(); err != nil {
			t.Errorf("iteration %d: %v", i, err)
		}
		if !pm.Mask.Equal(rm.Mask) {
			t.Errorf("iteration %d: retrain changed the mask", i)
		}
		if retrain.Metrics["sparsity"] < prune.Metrics["sparsity"] {
			t.Errorf("iteration %d: sparsity fell from %g to %g in retrain", i, prune.Metrics["sparsity"], retrain.Metrics["sparsity"])
		}
	}
	if stop <= 0 {
		t.Fatalf("want the accuracy limit crossed after the first iteration, got stop %d (iterations %d)", stop, len(loop.Iterations))
	}
	if len(loop.Iterations) != stop+1 {
		t.Errorf("the loop ran %d iterations, want to stop at iteration %d", len(loop.Iterations), stop)
	}
	if loop.Kept == nil || *loop.Kept != stop-1 {
		t.Fatalf("kept iteration %v, want %d (the last within the limit)", loop.Kept, stop-1)
	}
	g := stage(t, rec, "gradual")
	kept := modelOf(t, stage(t, rec, loop.Iterations[stop-1].Stages[1].Path))
	if modelOf(t, g).Digest() != kept.Digest() || g.Metrics["kept_iteration"] != float64(stop-1) {
		t.Errorf("the loop's model is not the kept iteration's retrained model")
	}

	// save → load gives the kept model's logits, and the manifest says what was done.
	dir := filepath.Join(rec.RunDir, "model")
	saved, err := model.Load(dir, model.LoadOptions{CheckFinite: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(saved.W, kept.Model.W) {
		t.Error("saved weights differ from the kept model's")
	}
	tokens := sharedtest.Tokens(sharedtest.Read(t, "data/shakespeare_eval.txt")[:2*64])
	if a, b := logits(t, kept.Model, tokens, 64), logits(t, saved, tokens, 64); !slices.Equal(a, b) {
		t.Error("the saved model's logits differ from the in-memory model's")
	}
	var doc struct {
		Metadata saveManifest `json:"metadata"`
	}
	raw, err := os.ReadFile(filepath.Join(dir, "lopper.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	man := doc.Metadata
	kinds := []string{}
	for _, h := range man.History {
		kinds = append(kinds, h.Kind)
	}
	wantKinds := []string{"load"}
	for range stop {
		wantKinds = append(wantKinds, "prune", "retrain")
	}
	if !slices.Equal(kinds, wantKinds) || man.Recipe != "gradual-magnitude" || man.Stage != "save" ||
		man.ModelDigest != kept.Digest() || man.MasksDigest != "sha256:"+sha256Hex(kept.Model.Mask.Bytes()) {
		t.Errorf("manifest %+v, history %v (want %v)", man, kinds, wantKinds)
	}
	if sp, _ := saved.Sparsity(model.Prunable); math.Abs(sp-man.Sparsity) > 1e-12 || sp < from {
		t.Errorf("saved sparsity %g, manifest %g", sp, man.Sparsity)
	}
}

// logits runs m on tokens (sequences of T) and returns a copy of the logits.
func logits(t testing.TB, m *model.Model, tokens []int32, T int) []float32 {
	t.Helper()
	st, err := model.NewInferenceState(m, len(tokens)/T, T)
	if err != nil {
		t.Fatal(err)
	}
	out, err := st.Forward(tokens)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Clone(out)
}

// lmLoss is m's mean next-token loss over the windows of T tokens of
// tokens (which holds one extra token for the last target).
func lmLoss(t testing.TB, m *model.Model, tokens []int32, T int) float64 {
	t.Helper()
	n := (len(tokens) - 1) / T
	st, err := model.NewInferenceState(m, n, T)
	if err != nil {
		t.Fatal(err)
	}
	in, targets := make([]int32, 0, n*T), make([]int32, 0, n*T)
	for w := range n {
		in = append(in, tokens[w*T:(w+1)*T]...)
		targets = append(targets, tokens[w*T+1:(w+1)*T+1]...)
	}
	lg, err := st.Forward(in)
	if err != nil {
		t.Fatal(err)
	}
	l, err := model.CrossEntropy(lg, targets, m.Config.Vocab, nil)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
