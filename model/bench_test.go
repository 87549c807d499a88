package model

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// GPT-2-small-shaped block (hidden 768, 12 heads, MLP 3072, gelu_new) over
// b sequences of T tokens: forward, and forward + backward, as training and
// pruning run them. scripts/bench_block.py times the same block in PyTorch.
func BenchmarkGPT2Block(b *testing.B) {
	cfg := Config{
		Arch: GPT2, ModelType: "gpt2", Hidden: 768, Vocab: 64, MaxPos: 1024, HeadDim: 64,
		Layers: []LayerDims{{12, 12, 3072}}, NormEps: 1e-5, Act: GELUTanh, TiedEmbeddings: true,
	}
	m := randomModel(b, cfg, 1)
	for _, shape := range [][2]int{{4, 128}, {1, 512}} {
		B, T := shape[0], shape[1]
		st, err := NewState(m, B, T)
		if err != nil {
			b.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		h := make([]float32, B*T*cfg.Hidden)
		for i := range h {
			h[i] = float32(rng.NormFloat64())
		}
		st.b, st.t = B, T
		n, H, I := float64(B*T), float64(cfg.Hidden), float64(cfg.Layers[0].Intermediate)
		flops := 2*n*(3*H*H+H*H+2*H*I) + 2*2*float64(B*12)*float64(T*(T+1)/2)*64
		b.Run(fmt.Sprintf("forward/B%dxT%d", B, T), func(b *testing.B) {
			for b.Loop() {
				st.block(0, h, st.res[1], B, T, nil)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		grads := make([]float32, m.Layout.Total)
		st.allocGrad()
		copy(st.res[0], h)
		b.Run(fmt.Sprintf("forward+backward/B%dxT%d", B, T), func(b *testing.B) {
			for b.Loop() {
				st.block(0, st.res[0], st.res[1], B, T, nil)
				copy(st.grad.dres, h)
				st.blockBackward(0, grads)
			}
			b.ReportMetric(3*flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
