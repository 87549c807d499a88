package pruning

import (
	"errors"
	"slices"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// invCholUpper overwrites a (n×n, symmetric positive definite, row-major)
// with U, the upper-triangular factor of a⁻¹ = UᵀU with a positive
// diagonal, zeros below it: what the SparseGPT reference computes as
// cholesky(cholesky_inverse(cholesky(a)), upper=True), in float64.
//
// It takes one Cholesky factorization and one triangular inverse, in place
// (gonum's blocked LAPACK: Hessians of 4k–14k columns are too big for a
// naive O(n³) loop): with J the reversal permutation, factor
// J·a·J = M·Mᵀ (M lower); then a = R·Rᵀ with R = J·M·J upper, so
// a⁻¹ = (R⁻¹)ᵀ·R⁻¹ and U = R⁻¹ = J·M⁻¹·J. Reversing a flat row-major
// buffer is exactly X ↦ J·X·J.
func invCholUpper(a []float64, n int) error {
	a = a[:n*n]
	slices.Reverse(a)
	m, ok := lapack64.Potrf(blas64.Symmetric{Uplo: blas.Lower, N: n, Stride: n, Data: a})
	if !ok {
		return errors.New("the matrix is not positive definite")
	}
	if !lapack64.Trtri(m) {
		return errors.New("the Cholesky factor is singular")
	}
	slices.Reverse(a)
	for i := 1; i < n; i++ {
		clear(a[i*n : i*n+i])
	}
	return nil
}
