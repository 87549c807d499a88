package model

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// Forward and backward give bit-identical results with 1 and 2 (and 3)
// goroutines' worth of GOMAXPROCS.
func TestDeterministicAcrossGOMAXPROCS(t *testing.T) {
	cfgs := map[string]Config{
		"llama": {
			Arch: Llama, ModelType: "llama", Hidden: 64, Vocab: 70, MaxPos: 64, HeadDim: 16,
			Layers:  []LayerDims{{4, 2, 96}, {4, 2, 96}},
			NormEps: 1e-5, RopeTheta: 10000, Act: SiLU, TiedEmbeddings: true,
		},
		"gpt2": {
			Arch: GPT2, ModelType: "gpt2", Hidden: 64, Vocab: 70, MaxPos: 64, HeadDim: 16,
			Layers:  []LayerDims{{4, 4, 96}, {4, 4, 96}},
			NormEps: 1e-5, Act: GELUTanh,
		},
	}
	for name, cfg := range cfgs {
		t.Run(name, func(t *testing.T) {
			m := randomModel(t, cfg, 11)
			rng := rand.New(rand.NewPCG(5, 5))
			randomMask(m, rng, 0.5)
			const B, T = 3, 48
			tokens := randomTokens(rng, B*T, cfg.Vocab)
			targets := randomTokens(rng, B*T, cfg.Vocab)
			run := func(procs int) (logits, grads []float32, loss float64) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				st, err := NewState(m, B, T)
				if err != nil {
					t.Fatal(err)
				}
				lg, err := st.Forward(tokens)
				if err != nil {
					t.Fatal(err)
				}
				dl := make([]float32, len(lg))
				if loss, err = CrossEntropy(lg, targets, cfg.Vocab, dl); err != nil {
					t.Fatal(err)
				}
				g := make([]float32, m.Layout.Total)
				if err := st.Backward(dl, g); err != nil {
					t.Fatal(err)
				}
				return slices.Clone(lg), g, loss
			}
			l1, g1, loss1 := run(1)
			for _, procs := range []int{2, 3} {
				l2, g2, loss2 := run(procs)
				if loss1 != loss2 {
					t.Errorf("GOMAXPROCS %d: loss %v, with 1: %v", procs, loss2, loss1)
				}
				if i := firstBitDiff(l1, l2); i >= 0 {
					t.Errorf("GOMAXPROCS %d: logit %d is %v, with 1: %v", procs, i, l2[i], l1[i])
				}
				if i := firstBitDiff(g1, g2); i >= 0 {
					t.Errorf("GOMAXPROCS %d: gradient %d is %v, with 1: %v", procs, i, g2[i], g1[i])
				}
			}
		})
	}
}

func firstBitDiff(a, b []float32) int {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}
