package tensor

// MatMulNT computes C[m,n] = A[m,k] · B[n,k]ᵀ, or C += … when accumulate is
// true. It is a linear layer's forward pass with B the [out, in] weight.
func MatMulNT(c, a, b []float32, m, n, k int, accumulate bool) {
	checkMatMul(len(c), len(a), len(b), m*n, m*k, n*k)
	matMulNT(c, n, a, k, b, k, m, n, k, accumulate)
}

// MatMulNN computes C[m,n] = A[m,k] · B[k,n], or C += … when accumulate is
// true. It is a linear layer's input gradient dX = dY · W.
func MatMulNN(c, a, b []float32, m, n, k int, accumulate bool) {
	checkMatMul(len(c), len(a), len(b), m*n, m*k, k*n)
	matMulNN(c, n, a, k, b, n, m, n, k, accumulate)
}

// MatMulTN computes C[m,n] = A[k,m]ᵀ · B[k,n], or C += … when accumulate is
// true. It is a linear layer's weight gradient dW = dYᵀ · X, reduced over
// the k tokens in a fixed order.
func MatMulTN(c, a, b []float32, m, n, k int, accumulate bool) {
	checkMatMul(len(c), len(a), len(b), m*n, k*m, k*n)
	matMulTN(c, n, a, m, b, n, m, n, k, accumulate)
}

func checkMatMul(lc, la, lb, wc, wa, wb int) {
	if lc < wc || la < wa || lb < wb {
		panic("tensor: matmul operand shorter than its shape")
	}
}

// MatMulScratchBytes bounds the scratch memory one m×n×k product takes
// from the kernels' buffer pool while it runs: the packed blocks of A and
// B (one k-block of each, two when the product runs in parallel) and the
// edge tiles. It is for memory estimates; the buffers are reused from
// product to product.
func MatMulScratchBytes(m, n, k int) int64 {
	kc := int64(min(k, gemmKC))
	return 4 * (2*(int64(m)+gemmMaxTile)*kc + 2*(int64(n)+gemmMaxTile)*kc + 64*gemmMaxTile)
}
