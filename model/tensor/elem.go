package tensor

// elemKernels are the vector loops that the row-wise and elementwise kernels
// are built from. goElem is the portable set; amd64 replaces it with
// assembly (see kernels_amd64.go). Every implementation computes each
// element by the same formula wherever it sits in a slice, and sums in an
// order fixed by the length alone (16 partial sums, dot's vector kernels
// four sets of 16). The AVX-512 and AVX2 sets give the same bits.
type elemKernels struct {
	name string
	// dot returns Σ a[i]·b[i]; sum returns Σ x[i]; maxOf returns the
	// largest x[i] (x non-empty).
	dot   func(a, b []float32) float32
	sum   func(x []float32) float32
	maxOf func(x []float32) float32
	// axpy: y += a·x; add: dst += x; scale: x *= s.
	axpy  func(y []float32, a float32, x []float32)
	add   func(dst, x []float32)
	scale func(x []float32, s float32)
	// expShift sets x[i] = e^(x[i]-m) and returns Σ x[i].
	expShift func(x []float32, m float32) float32
	// Activations and their gradients, as documented on the exported
	// functions of the same names.
	gelu             func(out, x []float32)
	geluBackward     func(dx, dout, x []float32)
	geluTanh         func(out, x []float32)
	geluTanhBackward func(dx, dout, x []float32)
	swiglu           func(out, gate, up []float32)
	swigluBackward   func(dgate, dup, dout, gate, up []float32)
	// One row's passes of the norms (norms.go), all slices of equal length.
	// rmsScale: out = x·s·w. dot3: Σ a·b·c. rmsBackward: dx += rs·(dr·w -
	// x·c), dw += dr·x·rs. sumSqDev: Σ (x-m)². lnAffine: out = (x-m)·rs·w
	// (+ b unless nil). lnBackwardSums: Σ dr·w and Σ dr·w·n with n =
	// (x-m)·rs. lnBackward: dx += (dr·w - dmean - n·dnd)·rs, dw += dr·n.
	rmsScale       func(out, x, w []float32, s float32)
	dot3           func(a, b, c []float32) float32
	rmsBackward    func(dx, dw, dr, x, w []float32, rs, c float32)
	sumSqDev       func(x []float32, m float32) float32
	lnAffine       func(out, x, w, b []float32, m, rs float32)
	lnBackwardSums func(dr, x, w []float32, m, rs float32) (sg, sgn float32)
	lnBackward     func(dx, dw, dr, x, w []float32, m, rs, dmean, dnd float32)
}

// elem is the set in use: the fastest this CPU supports.
var elem = bestElem()

func bestElem() *elemKernels {
	if e := archElem(); e != nil {
		return e
	}
	return goElem
}
