//go:build !purego

package tensor

import "golang.org/x/sys/cpu"

// archElems returns the assembly elementwise kernel sets this CPU supports,
// fastest first.
func archElems() []*elemKernels {
	var es []*elemKernels
	if cpu.X86.HasAVX512F && cpu.X86.HasBMI2 {
		es = append(es, avx512Elem)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		es = append(es, avx2Elem)
	}
	return es
}

func archElem() *elemKernels {
	if es := archElems(); len(es) > 0 {
		return es[0]
	}
	return nil
}

// p returns a pointer to x's first element, or nil for an empty slice (the
// kernels then read nothing).
func p(x []float32) *float32 {
	if len(x) == 0 {
		return nil
	}
	return &x[0]
}

// asmSet is one instruction set's kernels. They take any n (a partial last
// vector is masked), so the wrappers only bound every slice to the length
// the kernel will touch before handing out pointers.
type asmSet struct {
	name                           string
	gelu, geluTanh                 func(out, x *float32, n int)
	geluBackward, geluTanhBackward func(dx, dout, x *float32, n int)
	add                            func(dst, x *float32, n int)
	swiglu                         func(out, gate, up *float32, n int)
	swigluBackward                 func(dg, du, dout, gate, up *float32, n int)
	scale                          func(x *float32, s float32, n int)
	axpy                           func(y, x *float32, a float32, n int)
	dot                            func(a, b *float32, n int) float32
	sum, max                       func(x *float32, n int) float32
	expShift, sumSqDev             func(x *float32, m float32, n int) float32
	rmsScale                       func(out, x, w *float32, s float32, n int)
	dot3                           func(a, b, c *float32, n int) float32
	rmsBackward                    func(dx, dw, dr, x, w *float32, rs, c float32, n int)
	lnAffine                       func(out, x, w, b *float32, m, rs float32, n int)
	lnScale                        func(out, x, w *float32, m, rs float32, n int)
	lnBackwardSums                 func(dr, x, w *float32, m, rs float32, n int) (float32, float32)
	lnBackward                     func(dx, dw, dr, x, w *float32, m, rs, dmean, dnd float32, n int)
}

var avx512Elem = asmSet{
	name: "avx512", gelu: geluAVX512, geluTanh: geluTanhAVX512, geluBackward: geluBackwardAVX512,
	geluTanhBackward: geluTanhBackwardAVX512, add: addAVX512, swiglu: swigluAVX512,
	swigluBackward: swigluBackwardAVX512, scale: scaleAVX512, axpy: axpyAVX512,
	dot: dotAVX512, sum: sumAVX512, max: maxAVX512, expShift: expShiftAVX512,
	sumSqDev: sumSqDevAVX512, rmsScale: rmsScaleAVX512, dot3: dot3AVX512,
	rmsBackward: rmsBackwardAVX512, lnAffine: lnAffineAVX512, lnScale: lnScaleAVX512,
	lnBackwardSums: lnBackwardSumsAVX512, lnBackward: lnBackwardAVX512,
}.kernels()

var avx2Elem = asmSet{
	name: "avx2", gelu: geluAVX2, geluTanh: geluTanhAVX2, geluBackward: geluBackwardAVX2,
	geluTanhBackward: geluTanhBackwardAVX2, add: addAVX2, swiglu: swigluAVX2,
	swigluBackward: swigluBackwardAVX2, scale: scaleAVX2, axpy: axpyAVX2,
	dot: dotAVX2, sum: sumAVX2, max: maxAVX2, expShift: expShiftAVX2,
	sumSqDev: sumSqDevAVX2, rmsScale: rmsScaleAVX2, dot3: dot3AVX2,
	rmsBackward: rmsBackwardAVX2, lnAffine: lnAffineAVX2, lnScale: lnScaleAVX2,
	lnBackwardSums: lnBackwardSumsAVX2, lnBackward: lnBackwardAVX2,
}.kernels()

func (a asmSet) kernels() *elemKernels {
	return &elemKernels{
		name:     a.name,
		dot:      func(x, y []float32) float32 { return a.dot(p(x), p(y[:len(x)]), len(x)) },
		sum:      func(x []float32) float32 { return a.sum(p(x), len(x)) },
		maxOf:    func(x []float32) float32 { return a.max(p(x), len(x)) },
		axpy:     func(y []float32, s float32, x []float32) { a.axpy(p(y), p(x[:len(y)]), s, len(y)) },
		add:      func(dst, x []float32) { a.add(p(dst), p(x[:len(dst)]), len(dst)) },
		scale:    func(x []float32, s float32) { a.scale(p(x), s, len(x)) },
		expShift: func(x []float32, m float32) float32 { return a.expShift(p(x), m, len(x)) },
		gelu:     func(out, x []float32) { a.gelu(p(out), p(x[:len(out)]), len(out)) },
		geluTanh: func(out, x []float32) { a.geluTanh(p(out), p(x[:len(out)]), len(out)) },
		geluBackward: func(dx, dout, x []float32) {
			n := len(dx)
			a.geluBackward(p(dx), p(dout[:n]), p(x[:n]), n)
		},
		geluTanhBackward: func(dx, dout, x []float32) {
			n := len(dx)
			a.geluTanhBackward(p(dx), p(dout[:n]), p(x[:n]), n)
		},
		swiglu: func(out, gate, up []float32) {
			n := len(out)
			a.swiglu(p(out), p(gate[:n]), p(up[:n]), n)
		},
		swigluBackward: func(dgate, dup, dout, gate, up []float32) {
			n := len(dout)
			a.swigluBackward(p(dgate[:n]), p(dup[:n]), p(dout), p(gate[:n]), p(up[:n]), n)
		},
		rmsScale: func(out, x, w []float32, s float32) {
			n := len(out)
			a.rmsScale(p(out), p(x[:n]), p(w[:n]), s, n)
		},
		dot3: func(x, y, z []float32) float32 {
			n := len(x)
			return a.dot3(p(x), p(y[:n]), p(z[:n]), n)
		},
		rmsBackward: func(dx, dw, dr, x, w []float32, rs, c float32) {
			n := len(dx)
			a.rmsBackward(p(dx), p(dw[:n]), p(dr[:n]), p(x[:n]), p(w[:n]), rs, c, n)
		},
		sumSqDev: func(x []float32, m float32) float32 { return a.sumSqDev(p(x), m, len(x)) },
		lnAffine: func(out, x, w, b []float32, m, rs float32) {
			n := len(out)
			if b == nil {
				a.lnScale(p(out), p(x[:n]), p(w[:n]), m, rs, n)
				return
			}
			a.lnAffine(p(out), p(x[:n]), p(w[:n]), p(b[:n]), m, rs, n)
		},
		lnBackwardSums: func(dr, x, w []float32, m, rs float32) (float32, float32) {
			n := len(dr)
			return a.lnBackwardSums(p(dr), p(x[:n]), p(w[:n]), m, rs, n)
		},
		lnBackward: func(dx, dw, dr, x, w []float32, m, rs, dmean, dnd float32) {
			n := len(dx)
			a.lnBackward(p(dx), p(dw[:n]), p(dr[:n]), p(x[:n]), p(w[:n]), m, rs, dmean, dnd, n)
		},
	}
}
