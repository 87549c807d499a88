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

func matMulNT(c, a, b []float32, m, n, k int, accumulate bool) {
	gemm(activeKernel, c, operand{a, k, 1}, operand{b, k, 1}, m, n, k, accumulate)
}

func matMulNN(c, a, b []float32, m, n, k int, accumulate bool) {
	gemm(activeKernel, c, operand{a, k, 1}, operand{b, 1, n}, m, n, k, accumulate)
}

func matMulTN(c, a, b []float32, m, n, k int, accumulate bool) {
	gemm(activeKernel, c, operand{a, 1, m}, operand{b, 1, n}, m, n, k, accumulate)
}
