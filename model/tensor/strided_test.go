package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// block returns rows×cols taken from x (row stride ld) at column off.
func block(x []float32, ld, off, rows, cols int) []float32 {
	out := make([]float32, 0, rows*cols)
	for i := 0; i < rows; i++ {
		out = append(out, x[i*ld+off:i*ld+off+cols]...)
	}
	return out
}

// TestStridedMatchesDense checks the strided products bit for bit against
// the dense ones on copies of the blocks, and that C outside its block is
// untouched.
func TestStridedMatchesDense(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 1))
	strided := map[string]func(c []float32, ldc int, a []float32, lda int, b []float32, ldb int, m, n, k int, acc bool){
		"NT": MatMulNTStrided, "NN": MatMulNNStrided, "TN": MatMulTNStrided,
	}
	for _, o := range orientations {
		for _, s := range [][3]int{{7, 16, 16}, {33, 40, 64}, {128, 128, 16}, {100, 70, 300}} {
			m, n, k := s[0], s[1], s[2]
			// Operand shapes (rows×cols) as stored for this orientation.
			ar, ac, br, bc := m, k, n, k
			switch o.name {
			case "NN":
				br, bc = k, n
			case "TN":
				ar, ac, br, bc = k, m, k, n
			}
			const pad, off = 13, 5
			lda, ldb, ldc := ac+pad, bc+pad, n+pad
			a, b := randFloats(r, ar*lda), randFloats(r, br*ldb)
			c := randFloats(r, m*ldc)
			for _, acc := range []bool{false, true} {
				name := fmt.Sprintf("%s/%dx%dx%d/acc=%v", o.name, m, n, k, acc)
				got := append([]float32(nil), c...)
				strided[o.name](got[off:], ldc, a[off:], lda, b[off:], ldb, m, n, k, acc)
				want := block(c, ldc, off, m, n)
				o.fn(want, block(a, lda, off, ar, ac), block(b, ldb, off, br, bc), m, n, k, acc)
				for i := 0; i < m; i++ {
					for j := 0; j < ldc; j++ {
						g, w := got[i*ldc+j], c[i*ldc+j]
						if j >= off && j < off+n {
							w = want[i*n+j-off]
						}
						if math.Float32bits(g) != math.Float32bits(w) {
							t.Fatalf("%s: C[%d][%d] = %g, want %g", name, i, j, g, w)
						}
					}
				}
			}
		}
	}
}

func TestStridedRejectsViewsThatDoNotFit(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a C stride narrower than its rows")
		}
	}()
	c, a, b := make([]float32, 64), make([]float32, 64), make([]float32, 64)
	MatMulNTStrided(c, 3, a, 4, b, 4, 2, 4, 4, false)
}
