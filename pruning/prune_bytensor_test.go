package pruning

import (
	"context"
	"testing"

	"lopper/model"
)

// Scoring and pruning tensor by tensor chooses exactly the weights that
// scoring every target first (a score per parameter of the model) and
// then pruning chooses: magnitude, random and one-pass Wanda, per row,
// per tensor and N:M, on a dense and an already sparse model, with a
// target outside the blocks.
func TestPruneByTensorMatchesScoringAll(t *testing.T) {
	cal := tinyCalib(3, 8, 32, 9)
	for _, arch := range []model.Arch{model.Llama, model.GPT2} {
		for _, o := range []Options{
			{Method: Magnitude, Sparsity: 0.45, Scope: ScopeLayer},
			{Method: Magnitude, Sparsity: 0.45, Scope: ScopeRow},
			{Method: Magnitude, Pattern: Pattern{Kind: NM, N: 2, M: 4}},
			{Method: Magnitude, Sparsity: 0.3, Scope: ScopeLayer, Targets: TargetSpec{Include: []string{`lm_head|wte|down_proj|c_proj`}}},
			{Method: Random, Sparsity: 0.3, Scope: ScopeRow, Seed: 4},
			{Method: Random, Sparsity: 0.3, Scope: ScopeLayer, Seed: 4},
			{Method: Wanda, Sparsity: 0.5, Scope: ScopeRow, CalibMode: OnePass},
			{Method: Wanda, Sparsity: 0.5, Scope: ScopeLayer, CalibMode: OnePass},
			{Method: Wanda, Pattern: Pattern{Kind: NM, N: 4, M: 8}, CalibMode: OnePass},
		} {
			o.Calib = cal
			for _, sparse := range []bool{false, true} {
				m := tinyModel(t, arch, 13)
				if sparse {
					m.Mask, _ = m.ZerosMask(nil)
					for i := range m.W {
						if i%7 == 0 {
							m.W[i] = 0
							m.Mask.Set(i, false)
						}
					}
				}
				n, err := o.normalize()
				if err != nil {
					t.Fatal(err)
				}
				if !byTensor(n) {
					t.Fatalf("%+v: not pruned tensor by tensor", n)
				}
				targets, err := n.targets(m, true)
				if err != nil {
					t.Fatal(err)
				}
				all := m.Clone()
				wantMask := workingMask(all, targets)
				zeroMasked(all.W, wantMask, targets)
				scores := make([]float32, all.Layout.Total)
				if err := scoreTargets(context.Background(), all, n.Method, targets, n.Calib, n.Seed, scores, nil); err != nil {
					t.Fatal(err)
				}
				selectOver(n, all, targets, scores, wantMask, nil)

				one := m.Clone()
				gotMask := workingMask(one, targets)
				zeroMasked(one.W, gotMask, targets)
				fin := newFinisher(one, gotMask, newReport(one, n, targets, true), targets, nil)
				if err := pruneByTensor(context.Background(), one, targets, n, fin); err != nil {
					t.Fatal(err)
				}
				if !gotMask.Equal(wantMask) {
					t.Errorf("%s %+v (sparse %v): tensor by tensor chose other weights", arch, o, sparse)
				}
			}
		}
	}
}
