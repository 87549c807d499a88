package pruning

import (
	"context"
	"math"
	"testing"
)

// The shared models pruned as the references were match PyTorch's
// perplexities (within 1 %, SparseGPT 2 %) and sparsities. Each
// perplexity is a full pass over the evaluation text, which the race
// detector slows about eightfold: under it, each reference runs on one of
// the two models (alternating, so both models and all eight references
// are covered); without it, all sixteen run.
func TestFidelityShared(t *testing.T) {
	cases := []struct {
		key string
		o   Options
		tol float64
	}{
		{"magnitude_layerwise_50", Options{Method: Magnitude, Sparsity: 0.5, Scope: ScopeLayer}, 0.01},
		{"magnitude_layerwise_70", Options{Method: Magnitude, Sparsity: 0.7, Scope: ScopeLayer}, 0.01},
		{"magnitude_global_50", Options{Method: Magnitude, Sparsity: 0.5, Scope: ScopeGlobal}, 0.01},
		{"magnitude_2of4", Options{Method: Magnitude, Pattern: Pattern{Kind: NM, N: 2, M: 4}}, 0.01},
		{"wanda_50_rowwise_onepass", Options{Method: Wanda, Sparsity: 0.5, Scope: ScopeRow, CalibMode: OnePass}, 0.01},
		{"wanda_50_rowwise_sequential", Options{Method: Wanda, Sparsity: 0.5, Scope: ScopeRow, CalibMode: Sequential}, 0.01},
		{"sparsegpt_50", Options{Method: SparseGPT, Sparsity: 0.5}, 0.02},
		{"sparsegpt_2of4", Options{Method: SparseGPT, Pattern: Pattern{Kind: NM, N: 2, M: 4}}, 0.02},
	}
	for mi, name := range []string{"tiny-llama", "tiny-gpt2"} {
		s := loadShared(t, name)
		for ci, c := range cases {
			t.Run(name+"/"+c.key, func(t *testing.T) {
				if raceEnabled && (mi+ci)%2 == 1 {
					t.Skip("under the race detector this reference runs on the other model")
				}
				ref := s.ref.Result(t, c.key)
				o := c.o
				o.Calib = s.calib
				out, rep, err := Prune(context.Background(), s.m, o)
				if err != nil {
					t.Fatal(err)
				}
				ppl, n := perplexity(t, out, s.eval)
				sp := targetSparsity(out)
				t.Logf("ppl %.4f (reference %.4f, %+.2f%%), sparsity %.6f (reference %.6f), removed %d", ppl, ref.PPL, 100*(ppl/ref.PPL-1), sp, ref.Sparsity, rep.Removed())
				if n != ref.Tokens {
					t.Errorf("scored %d tokens, reference %d", n, ref.Tokens)
				}
				if math.Abs(ppl/ref.PPL-1) > c.tol {
					t.Errorf("perplexity %.4f is not within %.0f%% of the reference %.4f", ppl, 100*c.tol, ref.PPL)
				}
				if math.Abs(sp-ref.Sparsity) > 1e-9 {
					t.Errorf("sparsity %.9f, reference %.9f", sp, ref.Sparsity)
				}
				if err := out.CheckMask(); err != nil {
					t.Error(err)
				}
			})
		}
	}
}
