package pruning

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkSparseGPTLayer prunes one square layer (a 7B attention
// projection is 4096²) to 50 %: the Hessian's factor and the blocked
// column updates, given XᵀX.
func BenchmarkSparseGPTLayer(b *testing.B) {
	for _, n := range []int{1024, 4096} {
		b.Run(itoa(n), func(b *testing.B) {
			if testing.Short() && n > 1024 {
				b.Skip("large layer")
			}
			rng := rand.New(rand.NewPCG(1, 2))
			w0 := make([]float32, n*n)
			for i := range w0 {
				w0[i] = float32(rng.NormFloat64())
			}
			h0 := randomSPDFast(n)
			w := make([]float32, n*n)
			h := make([]float64, n*n)
			mask := make([]byte, n*n)
			for b.Loop() {
				copy(w, w0)
				copy(h, h0)
				for i := range mask {
					mask[i] = 1
				}
				f, err := newOBSFactor(h, n, 0.01)
				if err != nil {
					b.Fatal(err)
				}
				sparseGPT(obsTarget{w: w, mask: mask, rows: n, cols: n, sparsity: 0.5, blockSize: 128}, f)
			}
		})
	}
}

// BenchmarkHessianAccumulate adds one batch of 8 × 128 tokens to a
// 4096-column Hessian (SparseGPT's calibration cost per batch and input).
func BenchmarkHessianAccumulate(b *testing.B) {
	const rows, cols = 1024, 4096
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, rows*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	st := newInputStats(cols, statHessian|statNorms)
	var hs hessScratch
	for b.Loop() {
		st.add(x, rows, &hs)
	}
}
