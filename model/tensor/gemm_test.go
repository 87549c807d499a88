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

// refMatMul holds ref.go's plain loops by orientation name.
var refMatMul = map[string]func(c, a, b []float32, m, n, k int, acc bool){
	"NT": refMatMulNT, "NN": refMatMulNN, "TN": refMatMulTN,
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

// reference64 evaluates C (+)= A·Bᵀ in float64 for an orientation's
// layout and returns it with Σ|terms|, the scale of the forward error bound
// of a float32 evaluation: |err| ≤ γ·Σ|a·b| (+|c0|), γ = (k+2)·2⁻²⁴.
func reference64(o orientation, c0, a, b []float32, m, n, k int, accumulate bool) (want, mag []float64) {
	a64, b64 := make([]float64, m*k), make([]float64, n*k) // A as m×k, B as n×k
	for p := 0; p < k; p++ {
		for i := 0; i < m; i++ {
			a64[i*k+p] = float64(a[o.aIndex(i, p, m, k)])
		}
		for j := 0; j < n; j++ {
			b64[j*k+p] = float64(b[o.bIndex(j, p, n, k)])
		}
	}
	want, mag = make([]float64, m*n), make([]float64, m*n)
	for i := 0; i < m; i++ {
		ai := a64[i*k : i*k+k]
		for j := 0; j < n; j++ {
			bj := b64[j*k : j*k+k]
			var w, g float64
			if accumulate {
				w = float64(c0[i*n+j])
				g = math.Abs(w)
			}
			for p, x := range ai {
				xy := x * bj[p]
				w += xy
				if xy < 0 { // not math.Abs: this loop is hot under -race
					xy = -xy
				}
				g += xy
			}
			want[i*n+j], mag[i*n+j] = w, g
		}
	}
	return want, mag
}

// checkProduct compares c with reference64's values.
func checkProduct(t testing.TB, name string, c []float32, want, mag []float64, n, k int) {
	t.Helper()
	gamma := float64(k+2) * 0x1p-24
	bad := 0
	for i, w := range want {
		got := float64(c[i])
		if math.Abs(got-w) > gamma*mag[i] || math.IsNaN(got) {
			if bad++; bad <= 5 {
				t.Errorf("%s: C[%d,%d] = %g, want %g (bound %g)", name, i/n, i%n, got, w, gamma*mag[i])
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
	for _, o := range orientations {
		for _, s := range edgeShapes {
			m, n, k := s[0], s[1], s[2]
			for _, acc := range []bool{false, true} {
				a, b := randFloats(r, m*k), randFloats(r, n*k)
				c0 := randFloats(r, m*n)
				want, mag := reference64(o, c0, a, b, m, n, k, acc)
				for _, kern := range allKernels() {
					c := append([]float32(nil), c0...)
					withKernel(kern, func() { o.fn(c, a, b, m, n, k, acc) })
					checkProduct(t, fmt.Sprintf("%s/%s/%dx%dx%d/acc=%v", kern.name, o.name, m, n, k, acc), c, want, mag, n, k)
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
						if acc && kern == allKernels()[0] {
							// Right, not just the same for every worker count.
							want, mag := reference64(o, c0, a, b, m, n, k, acc)
							checkProduct(t, kern.name+"/"+o.name, c, want, mag, n, k)
						}
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
		want, mag := reference64(o, c0, a, b, m, n, k, acc)
		name := fmt.Sprintf("%s/%dx%dx%d/acc=%v", o.name, m, n, k, acc)
		checkProduct(t, name, c, want, mag, n, k)
		// And against ref.go's plain float32 loops: both are within the
		// bound of the exact product, so within twice it of each other.
		ref := append([]float32(nil), c0...)
		refMatMul[o.name](ref, a, b, m, n, k, acc)
		for i := range ref {
			if d := math.Abs(float64(c[i]) - float64(ref[i])); d > 2*float64(k+2)*0x1p-24*mag[i] {
				t.Fatalf("%s: C[%d,%d] = %g, ref.go %g", name, i/n, i%n, c[i], ref[i])
			}
		}
	})
}
