package tensor

// activeKernel is the micro-kernel the matrix products use: the fastest one
// this CPU supports (see kernels_*.go), else the portable Go kernel.
var activeKernel = bestKernel()

func bestKernel() *microKernel {
	if ks := archKernels(); len(ks) > 0 {
		return ks[0]
	}
	return goKernel
}

// The three orientations on strided row-major views (row i of X starts at
// x[i*ldx]).

func matMulNT(c []float32, ldc int, a []float32, lda int, b []float32, ldb int, m, n, k int, accumulate bool) {
	gemm(activeKernel, c, ldc, operand{a, lda, 1}, operand{b, ldb, 1}, m, n, k, accumulate)
}

func matMulNN(c []float32, ldc int, a []float32, lda int, b []float32, ldb int, m, n, k int, accumulate bool) {
	gemm(activeKernel, c, ldc, operand{a, lda, 1}, operand{b, 1, ldb}, m, n, k, accumulate)
}

func matMulTN(c []float32, ldc int, a []float32, lda int, b []float32, ldb int, m, n, k int, accumulate bool) {
	gemm(activeKernel, c, ldc, operand{a, 1, lda}, operand{b, 1, ldb}, m, n, k, accumulate)
}
