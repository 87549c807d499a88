package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// orientation names one of the three products and how its operands are laid out.
type orientation struct {
	name   string
	fn     func(c, a, b []float32, m, n, k int, accumulate bool)
	aIndex func(i, p, m, k int) int // index of A(i,p)
	bIndex func(j, p, n, k int) int // index of B(j,p)
}

var orientations = []orientation{
	{"NT", MatMulNT, func(i, p, m, k int) int { return i*k + p }, func(j, p, n, k int) int { return j*k + p }},
	{"NN", MatMulNN, func(i, p, m, k int) int { return i*k + p }, func(j, p, n, k int) int { return p*n + j }},
	{"TN", MatMulTN, func(i, p, m, k int) int { return p*m + i }, func(j, p, n, k int) int { return p*n + j }},
}

// withKernel runs f with kern as the active micro-kernel.
func withKernel(kern *microKernel, f func()) {
	old := activeKernel
	activeKernel = kern
	defer func() { activeKernel = old }()
	f()
}

// allKernels returns every micro-kernel this machine can run.
func allKernels() []*microKernel { return append(archKernels(), goKernel) }

func randFloats(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

// checkProduct compares c (computed from c0 when accumulate) with an
// independent float64 evaluation, allowing the forward error bound of a
// float32 dot product: |err| ≤ γ·Σ|a·b| with γ = (k+2)·2⁻²⁴, plus the
// rounding of c0's addition.
func checkProduct(t testing.TB, o orientation, c, c0, a, b []float32, m, n, k int, accumulate bool) {
	t.Helper()
	gamma := float64(k+2) * 0x1p-24
	bad := 0
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var want, mag float64
			for p := 0; p < k; p++ {
				x := float64(a[o.aIndex(i, p, m, k)]) * float64(b[o.bIndex(j, p, n, k)])
				want += x
				mag += math.Abs(x)
			}
			if accumulate {
				want += float64(c0[i*n+j])
				mag += math.Abs(float64(c0[i*n+j]))
			}
			got := float64(c[i*n+j])
			if math.Abs(got-want) > gamma*mag || math.IsNaN(got) {
				if bad++; bad <= 5 {
					t.Errorf("%s %dx%dx%d acc=%v: C[%d,%d] = %g, want %g (bound %g)",
						o.name, m, n, k, accumulate, i, j, got, want, gamma*mag)
				}
			}
		}
	}
}

// edgeShapes exercise tiles cut by every edge, k blocks and the tiny
// products of the test models.
var edgeShapes = [][3]int{
	{1, 1, 1}, {1, 7, 3}, {5, 1, 9}, {7, 64, 192}, {7, 192, 64}, {13, 33, 17},
	{8, 32, 256}, {9, 31, 257}, {16, 48, 255}, {6, 16, 1}, {64, 96, 513},
	{130, 200, 300}, {29, 500, 70}, {3, 5, 0},
}

func TestMatMulMatchesFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, kern := range allKernels() {
		for _, o := range orientations {
			for _, s := range edgeShapes {
				m, n, k := s[0], s[1], s[2]
				for _, acc := range []bool{false, true} {
					a, b := randFloats(r, m*k), randFloats(r, n*k)
					c0 := randFloats(r, m*n)
					c := append([]float32(nil), c0...)
					withKernel(kern, func() { o.fn(c, a, b, m, n, k, acc) })
					t.Run(fmt.Sprintf("%s/%s/%dx%dx%d/acc=%v", kern.name, o.name, m, n, k, acc), func(t *testing.T) {
						checkProduct(t, o, c, c0, a, b, m, n, k, acc)
					})
				}
			}
		}
	}
}

// TestMatMulDeterministic checks that the bits of C do not depend on the
// number of workers, for every kernel and orientation, on a product big
// enough to be split into many chunks and k blocks.
func TestMatMulDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	m, n, k := 203, 517, 601
	if testing.Short() {
		m, n, k = 61, 301, 300
	}
	a, b := randFloats(r, m*k), randFloats(r, n*k)
	c0 := randFloats(r, m*n)
	defer setWorkers(setWorkers(0))
	for _, kern := range allKernels() {
		for _, o := range orientations {
			for _, acc := range []bool{false, true} {
				var first []float32
				for _, w := range []int{1, 2, 3, 7} {
					setWorkers(w)
					c := append([]float32(nil), c0...)
					withKernel(kern, func() { o.fn(c, a, b, m, n, k, acc) })
					if first == nil {
						first = c
						continue
					}
					for i := range c {
						if math.Float32bits(c[i]) != math.Float32bits(first[i]) {
							t.Fatalf("%s %s acc=%v: %d workers: C[%d] = %g, 1 worker: %g",
								kern.name, o.name, acc, w, i, c[i], first[i])
						}
					}
				}
			}
		}
	}
}

func FuzzMatMul(f *testing.F) {
	f.Add(uint8(7), uint8(64), uint16(192), uint8(0), false, uint64(1))
	f.Add(uint8(9), uint8(33), uint16(257), uint8(1), true, uint64(2))
	f.Add(uint8(17), uint8(5), uint16(513), uint8(2), true, uint64(3))
	f.Fuzz(func(t *testing.T, m8, n8 uint8, k16 uint16, orient uint8, acc bool, seed uint64) {
		m, n, k := int(m8)%70, int(n8)%90, int(k16)%700
		o := orientations[int(orient)%len(orientations)]
		r := rand.New(rand.NewPCG(seed, 5))
		a, b := randFloats(r, m*k), randFloats(r, n*k)
		c0 := randFloats(r, m*n)
		c := append([]float32(nil), c0...)
		o.fn(c, a, b, m, n, k, acc)
		checkProduct(t, o, c, c0, a, b, m, n, k, acc)
	})
}
