// Package tensor holds lopper's float32 compute kernels: matrix products in
// the three orientations a linear layer's forward and backward passes need,
// and the elementwise and row-wise kernels of a transformer block.
//
// Layout conventions: every matrix is a dense row-major []float32. A linear
// layer's weight W is stored [out, in] (PyTorch's nn.Linear convention), so
//
//	forward   Y  = X · Wᵀ      MatMulNT(Y, X, W, tokens, out, in)
//	backward  dX = dY · W      MatMulNN(dX, dY, W, tokens, in, out)
//	          dW = dYᵀ · X     MatMulTN(dW, dY, X, out, in, tokens)
//
// Determinism: every kernel gives bit-identical results for any GOMAXPROCS
// and any number of worker goroutines. Work is split across goroutines over
// output elements only; a reduction is never split across goroutines, so the
// summation order of every output element is fixed.
package tensor
