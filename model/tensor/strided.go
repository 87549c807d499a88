package tensor

// Strided forms of the matrix products, for operands that are blocks of
// wider row-major matrices, such as one attention head's columns of a
// fused QKV activation: row i of a matrix X starts at x[i*ldx] and the
// leading dimension ldx is at least the row width. They compute exactly
// what the dense forms compute on copies of the blocks.

// MatMulNTStrided computes C = A·Bᵀ (C += … when accumulate) with A m×k
// (row stride lda), B n×k (ldb) and C m×n (ldc).
func MatMulNTStrided(c []float32, ldc int, a []float32, lda int, b []float32, ldb int, m, n, k int, accumulate bool) {
	checkStrided(c, ldc, m, n, a, lda, m, k, b, ldb, n, k)
	matMulNT(c, ldc, a, lda, b, ldb, m, n, k, accumulate)
}

// MatMulNNStrided computes C = A·B (C += … when accumulate) with A m×k
// (row stride lda), B k×n (ldb) and C m×n (ldc).
func MatMulNNStrided(c []float32, ldc int, a []float32, lda int, b []float32, ldb int, m, n, k int, accumulate bool) {
	checkStrided(c, ldc, m, n, a, lda, m, k, b, ldb, k, n)
	matMulNN(c, ldc, a, lda, b, ldb, m, n, k, accumulate)
}

// MatMulTNStrided computes C = Aᵀ·B (C += … when accumulate) with A k×m
// (row stride lda), B k×n (ldb) and C m×n (ldc).
func MatMulTNStrided(c []float32, ldc int, a []float32, lda int, b []float32, ldb int, m, n, k int, accumulate bool) {
	checkStrided(c, ldc, m, n, a, lda, k, m, b, ldb, k, n)
	matMulTN(c, ldc, a, lda, b, ldb, m, n, k, accumulate)
}

// checkStrided panics unless each view's rows fit its slice and its stride.
func checkStrided(c []float32, ldc, cr, cc int, a []float32, lda, ar, ac int, b []float32, ldb, br, bc int) {
	if cr == 0 || cc == 0 {
		return
	}
	fits := func(x []float32, ld, rows, cols int) bool {
		return rows == 0 || cols == 0 || (ld >= cols && len(x) >= (rows-1)*ld+cols)
	}
	if !fits(c, ldc, cr, cc) || !fits(a, lda, ar, ac) || !fits(b, ldb, br, bc) {
		panic("tensor: strided matmul view does not fit its slice or stride")
	}
}
