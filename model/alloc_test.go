package model

import (
	"testing"
)

// Once a State has run a pass, further passes allocate nothing: the
// activations, scratch and GEMM packing buffers are reused. (AllocsPerRun
// runs with GOMAXPROCS 1; with more, only handing work to other goroutines
// allocates.) The models are the shared tiny models' shapes over two
// sequences longer than one attention block.
func TestPassesDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop buffers at random")
	}
	cfgs := map[string]Config{
		"llama": {
			Arch: Llama, ModelType: "llama", Hidden: 64, Vocab: 256, MaxPos: 128, HeadDim: 16,
			Layers:  []LayerDims{{4, 2, 192}, {4, 2, 192}},
			NormEps: 1e-5, RopeTheta: 10000, Act: SiLU, TiedEmbeddings: true, QKVBias: true, OBias: true, MLPBias: true,
		},
		"gpt2": {
			Arch: GPT2, ModelType: "gpt2", Hidden: 64, Vocab: 256, MaxPos: 128, HeadDim: 16,
			Layers:  []LayerDims{{4, 4, 256}, {4, 4, 256}},
			NormEps: 1e-5, Act: GELU, TiedEmbeddings: true,
		},
	}
	const B, T = 2, attnBlock + 16
	for name, cfg := range cfgs {
		t.Run(name, func(t *testing.T) {
			m := randomModel(t, cfg, 1)
			tokens := make([]int32, B*T)
			for i := range tokens {
				tokens[i] = int32(i * 7 % cfg.Vocab)
			}
			st, err := NewState(m, B, T)
			if err != nil {
				t.Fatal(err)
			}
			inf, err := NewInferenceState(m, B, T)
			if err != nil {
				t.Fatal(err)
			}
			dlogits := make([]float32, B*T*cfg.Vocab)
			for i := range dlogits {
				dlogits[i] = float32(i%5) - 2
			}
			grads := make([]float32, m.Layout.Total)
			passes := map[string]func() error{
				"inference forward": func() error { _, err := inf.Forward(tokens); return err },
				"forward":           func() error { _, err := st.Forward(tokens); return err },
				"forward+backward": func() error {
					if _, err := st.Forward(tokens); err != nil {
						return err
					}
					return st.Backward(dlogits, grads)
				},
			}
			for pass, fn := range passes {
				if err := fn(); err != nil {
					t.Fatal(err)
				}
				var failed error
				allocs := testing.AllocsPerRun(10, func() {
					if err := fn(); err != nil {
						failed = err
					}
				})
				if failed != nil {
					t.Fatal(failed)
				}
				if allocs > 0 {
					t.Errorf("%s: %v allocations per pass, want 0", pass, allocs)
				}
			}
		})
	}
}
