package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// rowwiseAttention is causal attention by per-row Dot and Axpy calls, the
// way to compare CausalAttention against.
func rowwiseAttention(y, q, k, v Mat, p []float32, T, hd int, scale float32) {
	for i := 0; i < T; i++ {
		pi := p[i*T : i*T+i+1]
		for j := range pi {
			pi[j] = Dot(q.row(i, hd), k.row(j, hd)) * scale
		}
		SoftmaxInPlace(pi)
		out := y.row(i, hd)
		clear(out)
		for j, pj := range pi {
			Axpy(out, pj, v.row(j, hd))
		}
	}
}

// BenchmarkAttention times one head of causal attention (GPT-2 small: hd
// 64; the test models: hd 16) by matrix products and by rows.
func BenchmarkAttention(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, s := range [][2]int{{128, 16}, {512, 64}} {
		T, hd := s[0], s[1]
		_, q, k, v := headViews(r, T, hd, 4*hd, 1)
		y := Mat{make([]float32, T*hd), hd}
		p, ds := make([]float32, T*T), make([]float32, T*T)
		dy := Mat{randFloats(r, T*hd), hd}
		dq, dk, dv := Mat{make([]float32, T*hd), hd}, Mat{make([]float32, T*hd), hd}, Mat{make([]float32, T*hd), hd}
		b.Run(fmt.Sprintf("gemm/T%d_hd%d", T, hd), func(b *testing.B) {
			for b.Loop() {
				CausalAttention(y, q, k, v, p, T, hd, 0.125)
			}
		})
		b.Run(fmt.Sprintf("rows/T%d_hd%d", T, hd), func(b *testing.B) {
			for b.Loop() {
				rowwiseAttention(y, q, k, v, p, T, hd, 0.125)
			}
		})
		b.Run(fmt.Sprintf("backward/T%d_hd%d", T, hd), func(b *testing.B) {
			for b.Loop() {
				CausalAttentionBackward(dq, dk, dv, dy, q, k, v, p, ds, T, hd, 0.125)
			}
		})
	}
}
