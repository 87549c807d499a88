package pruning

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// randomSPD returns BᵀB/k + 0.1·I for a random k×n B: symmetric positive
// definite with a spread of eigenvalues.
func randomSPD(n int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	k := n + 3
	b := make([]float64, k*n)
	for i := range b {
		b[i] = rng.NormFloat64()
	}
	a := make([]float64, n*n)
	for i := range n {
		for j := range n {
			var s float64
			for r := range k {
				s += b[r*n+i] * b[r*n+j]
			}
			a[i*n+j] = s / float64(k)
		}
		a[i*n+i] += 0.1
	}
	return a
}

// U must be upper triangular with a positive diagonal and UᵀU·H = I; the
// Cholesky factor with those properties is unique, so this pins U down.
func TestInvCholUpper(t *testing.T) {
	for _, n := range []int{1, 2, 5, 63, 64, 65, 130, 200} {
		h := randomSPD(n, uint64(n))
		u := slices.Clone(h)
		if err := invCholUpper(u, n); err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		for i := range n {
			if !(u[i*n+i] > 0) {
				t.Fatalf("n=%d: diagonal %d is %g", n, i, u[i*n+i])
			}
			for j := range i {
				if u[i*n+j] != 0 {
					t.Fatalf("n=%d: U[%d][%d] = %g below the diagonal", n, i, j, u[i*n+j])
				}
			}
		}
		// (UᵀU)·H
		worst := 0.0
		for i := range n {
			for j := range n {
				var s float64
				for k := range n {
					var inv float64 // (UᵀU)[i][k]
					for r := 0; r <= min(i, k); r++ {
						inv += u[r*n+i] * u[r*n+k]
					}
					s += inv * h[k*n+j]
				}
				want := 0.0
				if i == j {
					want = 1
				}
				worst = math.Max(worst, math.Abs(s-want))
			}
		}
		if worst > 1e-9 {
			t.Errorf("n=%d: |UᵀU·H − I| max %g", n, worst)
		}
	}
}

func TestInvCholUpperNotPositiveDefinite(t *testing.T) {
	a := []float64{1, 2, 2, 1} // eigenvalues 3 and −1
	if err := invCholUpper(a, 2); err == nil {
		t.Fatal("an indefinite matrix was factored")
	}
}

func TestInvCholUpperIndependentOfWorkers(t *testing.T) {
	n := 300
	h := randomSPD(n, 7)
	run := func(procs int) []float64 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		u := slices.Clone(h)
		if err := invCholUpper(u, n); err != nil {
			t.Fatal(err)
		}
		return u
	}
	a, b := run(1), run(3)
	if !slices.Equal(a, b) {
		t.Fatal("the factor depends on GOMAXPROCS")
	}
}

func BenchmarkInvCholUpper(b *testing.B) {
	for _, n := range []int{512, 2048} {
		h := randomSPDFast(n)
		u := make([]float64, n*n)
		b.Run(itoa(n), func(b *testing.B) {
			for b.Loop() {
				copy(u, h)
				if err := invCholUpper(u, n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// randomSPDFast is a diagonally dominant SPD matrix, cheap to build at
// benchmark sizes.
func randomSPDFast(n int) []float64 {
	rng := rand.New(rand.NewPCG(1, 2))
	a := make([]float64, n*n)
	for i := range n {
		for j := 0; j < i; j++ {
			v := rng.Float64() - 0.5
			a[i*n+j], a[j*n+i] = v, v
		}
		a[i*n+i] = float64(n)
	}
	return a
}
