package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// allElems returns every elementwise kernel set this machine can run.
func allElems() []*elemKernels { return append(archElems(), goElem) }

// elemInputs returns n values: a sweep over [-lim, lim], random normals at
// several scales and the special values.
func elemInputs(n int, lim float32) []float32 {
	r := rand.New(rand.NewPCG(7, uint64(n)))
	xs := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), lim, -lim, 1e-30, -1e-30}
	for len(xs) < n {
		switch len(xs) % 3 {
		case 0:
			xs = append(xs, -lim+2*lim*float32(len(xs))/float32(n))
		case 1:
			xs = append(xs, float32(r.NormFloat64()))
		default:
			xs = append(xs, float32(r.NormFloat64()*8))
		}
	}
	return xs[:n]
}

// within reports whether got is within tol·scale of want (NaN and ±Inf must
// match exactly).
func within(got float32, want, scale, tol float64) bool {
	if math.IsNaN(want) || math.IsInf(want, 0) {
		return math.IsNaN(want) == math.IsNaN(float64(got)) && (math.IsNaN(want) || float64(got) == want)
	}
	// A result in the subnormal range keeps only absolute accuracy (an
	// intermediate there has few bits): it need only be that small.
	const normal = 0x1p-126
	if math.Abs(want) < normal {
		return math.Abs(float64(got)) < 2*normal
	}
	return math.Abs(float64(got)-want) <= tol*scale
}

// activation64 describes an activation's exact value (and its scale for the
// error bound) in float64.
type activation64 struct {
	name string
	run  func(e *elemKernels, out, x []float32)
	// ref returns the exact value and the magnitude the error is relative to.
	ref  func(x float64) (v, scale float64)
	ulps float64
}

func phi64(x float64) float64     { return 0.5 * math.Erfc(-x/math.Sqrt2) }
func pdf64(x float64) float64     { return math.Exp(-x*x/2) / math.Sqrt(2*math.Pi) }
func sigma64(x float64) float64   { return 1 / (1 + math.Exp(-x)) }
func tanhArg64(x float64) float64 { return math.Sqrt(2/math.Pi) * (x + 0.044715*x*x*x) }

// ulp32 is the float32 unit roundoff (half the spacing at 1); the bounds
// below are in these units, relative to each function's error scale. The
// erf GELU's larger bounds come from x ≈ -13, where Φ(x) is subnormal.
const ulp32 = 0x1p-24

var activations64 = []activation64{
	{"GELU", func(e *elemKernels, out, x []float32) { e.gelu(out, x) },
		func(x float64) (float64, float64) { v := x * phi64(x); return v, math.Abs(v) }, 20},
	{"GELUBackward", func(e *elemKernels, out, x []float32) { e.geluBackward(out, ones(len(x)), x) },
		func(x float64) (float64, float64) { return phi64(x) + x*pdf64(x), phi64(x) + math.Abs(x*pdf64(x)) }, 24},
	// The tanh form's argument 2u carries float32 rounding of relative size
	// ~3u, which becomes a relative error of that times |2u|·(1-σ) in σ(2u).
	{"GELUTanh", func(e *elemKernels, out, x []float32) { e.geluTanh(out, x) },
		func(x float64) (float64, float64) {
			u := tanhArg64(x)
			v := x * sigma64(2*u) // ½x(1+tanh u) without float64's cancellation
			return v, math.Abs(v) * (1 + 2*math.Abs(u))
		}, 6},
	{"GELUTanhBackward", func(e *elemKernels, out, x []float32) { e.geluTanhBackward(out, ones(len(x)), x) },
		func(x float64) (float64, float64) {
			u := tanhArg64(x)
			du := math.Sqrt(2/math.Pi) * (1 + 3*0.044715*x*x)
			// ½(1+tanh u) = σ(2u) and ½(1-tanh²u) = 2σ(2u)σ(-2u).
			a, b := sigma64(2*u), 2*x*sigma64(2*u)*sigma64(-2*u)*du
			return a + b, (math.Abs(a) + math.Abs(b)) * (1 + 2*math.Abs(u))
		}, 6},
	{"SwiGLU", func(e *elemKernels, out, x []float32) { e.swiglu(out, x, ones(len(x))) },
		func(x float64) (float64, float64) { v := x * sigma64(x); return v, math.Abs(v) }, 6},
}

func ones(n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = 1
	}
	return x
}

func TestActivationsMatchFloat64(t *testing.T) {
	for _, e := range allElems() {
		for _, a := range activations64 {
			for _, n := range []int{1, 7, 16, 33, 5000} {
				x := elemInputs(n, 30)
				out := make([]float32, n)
				a.run(e, out, x)
				for i, v := range x {
					want, scale := a.ref(float64(v))
					if !within(out[i], want, scale, a.ulps*ulp32) {
						t.Errorf("%s %s n=%d: f(%g) = %g, want %g (±%g)", e.name, a.name, n, v, out[i], want, a.ulps*ulp32*scale)
						break
					}
				}
			}
		}
	}
}

func TestSwiGLUBackwardMatchesFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	n := 1001
	gate, up, dout := elemInputs(n, 40), randFloats(r, n), randFloats(r, n)
	for _, e := range allElems() {
		dg, du := make([]float32, n), make([]float32, n)
		e.swigluBackward(dg, du, dout, gate, up)
		for i := range gate {
			g, u, d := float64(gate[i]), float64(up[i]), float64(dout[i])
			s := sigma64(g)
			wantU := d * g * s
			a, b := s, g*s*(1-s)
			wantG := d * u * (a + b)
			if !within(du[i], wantU, math.Abs(wantU), 12*ulp32) ||
				!within(dg[i], wantG, math.Abs(d*u)*(math.Abs(a)+math.Abs(b)), 16*ulp32) {
				t.Fatalf("%s: gate=%g up=%g dout=%g: dgate=%g dup=%g, want %g %g", e.name, g, u, d, dg[i], du[i], wantG, wantU)
			}
		}
	}
}

// TestElemPositionIndependent checks that an element's result does not
// depend on where it sits in the slice (whole vectors or the padded rest).
func TestElemPositionIndependent(t *testing.T) {
	x := elemInputs(100, 12)
	for _, e := range allElems() {
		for _, a := range activations64 {
			full := make([]float32, len(x))
			a.run(e, full, x)
			for off := 1; off < 20; off++ {
				part := make([]float32, len(x)-off)
				a.run(e, part, x[off:])
				for i := range part {
					if math.Float32bits(part[i]) != math.Float32bits(full[off+i]) {
						t.Fatalf("%s %s: f(%g) is %g at index %d, %g at %d", e.name, a.name, x[off+i], full[off+i], off+i, part[i], i)
					}
				}
			}
		}
	}
}

func TestReductionsMatchFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 3))
	for _, e := range allElems() {
		for _, n := range []int{1, 3, 8, 15, 16, 17, 63, 64, 65, 100, 1000, 4099} {
			a, b := randFloats(r, n), randFloats(r, n)
			var dot, dotMag, sum, sumMag float64
			mx := math.Inf(-1)
			for i := range a {
				dot += float64(a[i]) * float64(b[i])
				dotMag += math.Abs(float64(a[i]) * float64(b[i]))
				sum += float64(a[i])
				sumMag += math.Abs(float64(a[i]))
				mx = math.Max(mx, float64(a[i]))
			}
			gamma := float64(n+2) * ulp32
			name := fmt.Sprintf("%s n=%d", e.name, n)
			if got := e.dot(a, b); !within(got, dot, dotMag, gamma) {
				t.Errorf("%s: dot = %g, want %g", name, got, dot)
			}
			if got := e.sum(a); !within(got, sum, sumMag, gamma) {
				t.Errorf("%s: sum = %g, want %g", name, got, sum)
			}
			if got := e.maxOf(a); float64(got) != mx {
				t.Errorf("%s: max = %g, want %g", name, got, mx)
			}
			// expShift: each element to a few ulps, the sum to the bound.
			x := append([]float32(nil), a...)
			m := float32(mx)
			got := e.expShift(x, m)
			var esum float64
			for i, v := range a {
				want := math.Exp(float64(v - m))
				esum += want
				if !within(x[i], want, want, 4*ulp32) {
					t.Fatalf("%s: exp(%g-%g) = %g, want %g", name, v, m, x[i], want)
				}
			}
			if !within(got, esum, esum, gamma+4*ulp32) {
				t.Errorf("%s: expShift sum = %g, want %g", name, got, esum)
			}
		}
	}
}

func TestEmptySlices(t *testing.T) {
	for _, e := range allElems() {
		if e.dot(nil, nil) != 0 || e.sum(nil) != 0 || e.expShift(nil, 1) != 0 || e.dot3(nil, nil, nil) != 0 {
			t.Errorf("%s: a reduction over nothing is not 0", e.name)
		}
		e.add(nil, nil)
		e.axpy(nil, 2, nil)
		e.scale(nil, 2)
		e.gelu(nil, nil)
		e.swigluBackward(nil, nil, nil, nil, nil)
	}
}

func TestVectorUpdatesMatchFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 3))
	for _, e := range allElems() {
		for _, n := range []int{1, 9, 16, 31, 64, 1027} {
			x, y := randFloats(r, n), randFloats(r, n)
			const s = float32(-1.7)
			add, axpy, scale := append([]float32(nil), y...), append([]float32(nil), y...), append([]float32(nil), y...)
			e.add(add, x)
			e.axpy(axpy, s, x)
			e.scale(scale, s)
			for i := range x {
				xi, yi := float64(x[i]), float64(y[i])
				if add[i] != float32(xi+yi) { // one rounding: exact
					t.Fatalf("%s n=%d: %g+%g = %g", e.name, n, yi, xi, add[i])
				}
				if scale[i] != float32(float64(s)*yi) {
					t.Fatalf("%s n=%d: %g·%g = %g", e.name, n, s, yi, scale[i])
				}
				want := float64(s)*xi + yi
				if !within(axpy[i], want, math.Abs(float64(s)*xi)+math.Abs(yi), 2*ulp32) {
					t.Fatalf("%s n=%d: %g+%g·%g = %g, want %g", e.name, n, yi, s, xi, axpy[i], want)
				}
			}
		}
	}
}

// FuzzActivations compares the fast kernels with the portable ones on
// arbitrary float32 bit patterns.
func FuzzActivations(f *testing.F) {
	f.Add(uint32(0x3f800000), uint32(0xc1200000), uint8(3))
	f.Add(uint32(0x7fc00000), uint32(0xff800000), uint8(17))
	f.Fuzz(func(t *testing.T, b1, b2 uint32, n8 uint8) {
		n := int(n8)%40 + 1
		x := make([]float32, n)
		for i := range x {
			x[i] = math.Float32frombits(b1 + uint32(i)*(b2|1))
		}
		for _, e := range archElems() {
			for _, a := range activations64 {
				got, want := make([]float32, n), make([]float32, n)
				a.run(e, got, x)
				a.run(goElem, want, x)
				for i := range x {
					v, scale := a.ref(float64(x[i]))
					if !within(got[i], v, scale, a.ulps*ulp32) && !within(got[i], float64(want[i]), math.Abs(float64(want[i])), 4*ulp32) {
						t.Fatalf("%s %s(%g) = %g, portable %g, exact %g", e.name, a.name, x[i], got[i], want[i], v)
					}
				}
			}
		}
	})
}

// TestElemWritesOnlyItsElements checks that no kernel writes past the
// slices it is given (the masked last vector must not spill).
func TestElemWritesOnlyItsElements(t *testing.T) {
	const sentinel = float32(12345)
	r := rand.New(rand.NewPCG(13, 3))
	for _, e := range allElems() {
		for n := 1; n <= 40; n++ {
			x, y, z := randFloats(r, n), randFloats(r, n), randFloats(r, n)
			out := func() []float32 { // n elements followed by sentinels
				b := make([]float32, n+16)
				for i := range b {
					b[i] = sentinel
				}
				return b
			}
			a, b := out(), out()
			calls := map[string]func(){
				"gelu":             func() { e.gelu(a[:n], x) },
				"geluBackward":     func() { e.geluBackward(a[:n], y, x) },
				"geluTanh":         func() { e.geluTanh(a[:n], x) },
				"geluTanhBackward": func() { e.geluTanhBackward(a[:n], y, x) },
				"swiglu":           func() { e.swiglu(a[:n], x, y) },
				"swigluBackward":   func() { e.swigluBackward(a[:n], b[:n], z, x, y) },
				"add":              func() { e.add(a[:n], x) },
				"scale":            func() { e.scale(a[:n], 2) },
				"axpy":             func() { e.axpy(a[:n], 2, x) },
				"expShift":         func() { e.expShift(a[:n], 1) },
				"rmsScale":         func() { e.rmsScale(a[:n], x, y, 2) },
				"rmsBackward":      func() { e.rmsBackward(a[:n], b[:n], x, y, z, 2, 3) },
				"lnAffine":         func() { e.lnAffine(a[:n], x, y, z, 1, 2) },
				"lnScale":          func() { e.lnAffine(a[:n], x, y, nil, 1, 2) },
				"lnBackward":       func() { e.lnBackward(a[:n], b[:n], x, y, z, 1, 2, 3, 4) },
			}
			for name, call := range calls {
				call()
				for i := n; i < n+16; i++ {
					if a[i] != sentinel || b[i] != sentinel {
						t.Fatalf("%s %s n=%d: wrote past the end (index %d)", e.name, name, n, i)
					}
				}
			}
		}
	}
}
