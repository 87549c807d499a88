//go:build !purego

package tensor

import (
	"math"

	"golang.org/x/sys/cpu"
)

// archElems returns the assembly elementwise kernel sets this CPU supports,
// fastest first.
func archElems() []*elemKernels {
	var es []*elemKernels
	if cpu.X86.HasAVX512F {
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

// The assembly kernels run over a whole number of vectors (n a multiple of
// the lane count). vrun runs one over the whole vectors of its slices and
// then over one vector holding the rest, padded, so that every element goes
// through the same instructions.

// vptrs holds a kernel's slice arguments as pointers.
type vptrs [5]*float32

// vkernel calls an assembly kernel on n elements from the pointers and
// returns its (up to two) sums.
type vkernel func(p *vptrs, n int) (float32, float32)

// vrun runs k over len(s[0]) elements of the slices s (all at least that
// long). Slice i is written back for the rest only if bit i of out is set;
// the rest of s[0] is padded with pad0, the others with zeros. The sums of
// the two calls are added.
func vrun(lanes int, k vkernel, out uint8, pad0 float32, s ...[]float32) (float32, float32) {
	n := len(s[0])
	b := n - n%lanes
	var r1, r2 float32
	var p vptrs
	if b > 0 {
		for i, x := range s {
			p[i] = &x[0]
		}
		r1, r2 = k(&p, b)
	}
	if b == n {
		return r1, r2
	}
	var t [len(vptrs{})][lanesMax]float32
	for i := range t[0] {
		t[0][i] = pad0
	}
	for i, x := range s {
		copy(t[i][:], x[b:n])
		p[i] = &t[i][0]
	}
	t1, t2 := k(&p, lanes)
	for i, x := range s {
		if out&(1<<i) != 0 {
			copy(x[b:n], t[i][:])
		}
	}
	return r1 + t1, r2 + t2
}

// lanesMax bounds the lane count for the padded vector.
const lanesMax = 16

var negInf32 = float32(math.Inf(-1))

// asmSet names one instruction set's kernels for kernels().
type asmSet struct {
	name                           string
	lanes                          int
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
	name: "avx512", lanes: 16,
	gelu: geluAVX512, geluTanh: geluTanhAVX512, geluBackward: geluBackwardAVX512,
	geluTanhBackward: geluTanhBackwardAVX512, add: addAVX512, swiglu: swigluAVX512,
	swigluBackward: swigluBackwardAVX512, scale: scaleAVX512, axpy: axpyAVX512,
	dot: dotAVX512, sum: sumAVX512, max: maxAVX512, expShift: expShiftAVX512,
	sumSqDev: sumSqDevAVX512, rmsScale: rmsScaleAVX512, dot3: dot3AVX512,
	rmsBackward: rmsBackwardAVX512, lnAffine: lnAffineAVX512, lnScale: lnScaleAVX512,
	lnBackwardSums: lnBackwardSumsAVX512, lnBackward: lnBackwardAVX512,
}.kernels()

var avx2Elem = asmSet{
	name: "avx2", lanes: 8,
	gelu: geluAVX2, geluTanh: geluTanhAVX2, geluBackward: geluBackwardAVX2,
	geluTanhBackward: geluTanhBackwardAVX2, add: addAVX2, swiglu: swigluAVX2,
	swigluBackward: swigluBackwardAVX2, scale: scaleAVX2, axpy: axpyAVX2, dot: dotAVX2,
	sum: sumAVX2, max: maxAVX2, expShift: expShiftAVX2, sumSqDev: sumSqDevAVX2,
	rmsScale: rmsScaleAVX2, dot3: dot3AVX2, rmsBackward: rmsBackwardAVX2,
	lnAffine: lnAffineAVX2, lnScale: lnScaleAVX2, lnBackwardSums: lnBackwardSumsAVX2,
	lnBackward: lnBackwardAVX2,
}.kernels()

// kernels wraps the set's assembly in elemKernels.
func (a asmSet) kernels() *elemKernels {
	l := a.lanes
	map1 := func(f func(out, x *float32, n int)) func(out, x []float32) {
		return func(out, x []float32) {
			vrun(l, func(p *vptrs, n int) (float32, float32) { f(p[0], p[1], n); return 0, 0 }, 1, 0, out, x[:len(out)])
		}
	}
	map2 := func(f func(out, x, y *float32, n int), out uint8) func(o, x, y []float32) {
		return func(o, x, y []float32) {
			vrun(l, func(p *vptrs, n int) (float32, float32) { f(p[0], p[1], p[2], n); return 0, 0 }, out, 0, o, x[:len(o)], y[:len(o)])
		}
	}
	return &elemKernels{
		name:             a.name,
		gelu:             map1(a.gelu),
		geluTanh:         map1(a.geluTanh),
		geluBackward:     map2(a.geluBackward, 1),
		geluTanhBackward: map2(a.geluTanhBackward, 1),
		swiglu:           map2(a.swiglu, 1),
		add: func(dst, x []float32) {
			vrun(l, func(p *vptrs, n int) (float32, float32) { a.add(p[0], p[1], n); return 0, 0 }, 1, 0, dst, x)
		},
		swigluBackward: func(dg, du, dout, gate, up []float32) {
			vrun(l, func(p *vptrs, n int) (float32, float32) {
				a.swigluBackward(p[1], p[2], p[0], p[3], p[4], n)
				return 0, 0
			}, 0b110, 0, dout, dg, du, gate, up)
		},
		scale: func(x []float32, s float32) {
			vrun(l, func(p *vptrs, n int) (float32, float32) { a.scale(p[0], s, n); return 0, 0 }, 1, 0, x)
		},
		axpy: func(y []float32, s float32, x []float32) {
			vrun(l, func(p *vptrs, n int) (float32, float32) { a.axpy(p[0], p[1], s, n); return 0, 0 }, 1, 0, y, x)
		},
		dot: func(x, y []float32) float32 {
			r, _ := vrun(l, func(p *vptrs, n int) (float32, float32) { return a.dot(p[0], p[1], n), 0 }, 0, 0, x, y)
			return r
		},
		sum: func(x []float32) float32 {
			r, _ := vrun(l, func(p *vptrs, n int) (float32, float32) { return a.sum(p[0], n), 0 }, 0, 0, x)
			return r
		},
		maxOf: func(x []float32) float32 {
			n := len(x)
			b := n - n%l
			var t [lanesMax]float32
			for i := range t {
				t[i] = negInf32
			}
			copy(t[:], x[b:])
			m := a.max(&t[0], l)
			if b > 0 {
				m = max(m, a.max(&x[0], b))
			}
			return m
		},
		expShift: func(x []float32, m float32) float32 {
			r, _ := vrun(l, func(p *vptrs, n int) (float32, float32) { return a.expShift(p[0], m, n), 0 }, 1, negInf32, x)
			return r
		},
		rmsScale: func(out, x, w []float32, s float32) {
			vrun(l, func(p *vptrs, n int) (float32, float32) { a.rmsScale(p[0], p[1], p[2], s, n); return 0, 0 }, 1, 0, out, x, w)
		},
		dot3: func(x, y, z []float32) float32 {
			r, _ := vrun(l, func(p *vptrs, n int) (float32, float32) { return a.dot3(p[0], p[1], p[2], n), 0 }, 0, 0, x, y, z)
			return r
		},
		rmsBackward: func(dx, dw, dr, x, w []float32, rs, c float32) {
			vrun(l, func(p *vptrs, n int) (float32, float32) {
				a.rmsBackward(p[0], p[1], p[2], p[3], p[4], rs, c, n)
				return 0, 0
			}, 0b11, 0, dx, dw, dr, x, w)
		},
		sumSqDev: func(x []float32, m float32) float32 {
			r, _ := vrun(l, func(p *vptrs, n int) (float32, float32) { return a.sumSqDev(p[0], m, n), 0 }, 0, m, x)
			return r
		},
		lnAffine: func(out, x, w, b []float32, m, rs float32) {
			if b == nil {
				vrun(l, func(p *vptrs, n int) (float32, float32) { a.lnScale(p[0], p[1], p[2], m, rs, n); return 0, 0 }, 1, 0, out, x, w)
				return
			}
			vrun(l, func(p *vptrs, n int) (float32, float32) { a.lnAffine(p[0], p[1], p[2], p[3], m, rs, n); return 0, 0 }, 1, 0, out, x, w, b)
		},
		lnBackwardSums: func(dr, x, w []float32, m, rs float32) (float32, float32) {
			return vrun(l, func(p *vptrs, n int) (float32, float32) { return a.lnBackwardSums(p[0], p[1], p[2], m, rs, n) }, 0, 0, dr, x, w)
		},
		lnBackward: func(dx, dw, dr, x, w []float32, m, rs, dmean, dnd float32) {
			vrun(l, func(p *vptrs, n int) (float32, float32) {
				a.lnBackward(p[0], p[1], p[2], p[3], p[4], m, rs, dmean, dnd, n)
				return 0, 0
			}, 0b11, 0, dx, dw, dr, x, w)
		},
	}
}
