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
// The …Strided forms take blocks of wider matrices (one attention head's
// columns of a fused QKV activation) without copying.
//
// Determinism: every kernel gives bit-identical results for any GOMAXPROCS
// and any number of worker goroutines. Work is split across goroutines over
// output elements only; a reduction is never split across goroutines, so the
// summation order of every output element is fixed.
//
// Implementation. The matrix products are a GotoBLAS-style blocked GEMM
// (gemm.go): operands are packed per 256-step k block into panels that a
// register-tiled micro-kernel streams through, and the output is cut into
// chunks of whole tiles that workers claim. The micro-kernels, the
// transposing pack and the elementwise kernels are amd64 assembly generated
// with avo by the program in ./asm (its own module, so avo is not a
// dependency of lopper; `go generate` rewrites kernels_amd64.s and its
// stubs). At start-up golang.org/x/sys/cpu selects AVX-512 (8×32 tiles) or
// AVX2+FMA (6×16); elsewhere, or with the purego build tag, portable Go
// kernels run. The activations and softmax use the float32 approximations
// of mathf.go (exp, the normal CDF via erfc, tanh, sigmoid), accurate to a
// few ulps into both tails; the portable and assembly kernels compute the
// same formulas and are tested against each other and against float64.
// The AVX-512 and AVX2 kernels give identical bits (isa_test.go): the GEMM
// sums each element in k order whatever the tile, and the elementwise
// kernels use the same instructions (division, not VRCP14PS, for
// reciprocals) and keep every reduction in 16 partials, AVX2 in two
// registers. The portable kernels, without FMA, round differently.
// Elementwise kernels run on the calling goroutine (callers split rows),
// and an element's result does not depend on its position in the slice.
package tensor
