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

// asmElem is one instruction set's kernels, each over a whole number of
// vectors; the wrappers below run the rest as one zero-padded vector.
type asmElem struct {
	lanes            int
	gelu, geluTanh   func(out, x *float32, n int)
	geluBackward     func(dx, dout, x *float32, n int)
	geluTanhBackward func(dx, dout, x *float32, n int)
	swiglu           func(out, gate, up *float32, n int)
	swigluBackward   func(dgate, dup, dout, gate, up *float32, n int)
	add              func(dst, x *float32, n int)
	scale            func(x *float32, s float32, n int)
	axpy             func(y, x *float32, a float32, n int)
	dot              func(a, b *float32, n int) float32
	sum, max         func(x *float32, n int) float32
	expShift         func(x *float32, m float32, n int) float32
}

var avx512Elem = asmElem{
	lanes: 16, gelu: geluAVX512, geluTanh: geluTanhAVX512,
	geluBackward: geluBackwardAVX512, geluTanhBackward: geluTanhBackwardAVX512,
	swiglu: swigluAVX512, swigluBackward: swigluBackwardAVX512,
	add: addAVX512, scale: scaleAVX512, axpy: axpyAVX512,
	dot: dotAVX512, sum: sumAVX512, max: maxAVX512, expShift: expShiftAVX512,
}.kernels("avx512")

var avx2Elem = asmElem{
	lanes: 8, gelu: geluAVX2, geluTanh: geluTanhAVX2,
	geluBackward: geluBackwardAVX2, geluTanhBackward: geluTanhBackwardAVX2,
	swiglu: swigluAVX2, swigluBackward: swigluBackwardAVX2,
	add: addAVX2, scale: scaleAVX2, axpy: axpyAVX2,
	dot: dotAVX2, sum: sumAVX2, max: maxAVX2, expShift: expShiftAVX2,
}.kernels("avx2")

// lanesMax bounds the lane count for the padded tail buffers.
const lanesMax = 16

// split returns the length of the whole-vector part of n.
func (a asmElem) split(n int) int { return n - n%a.lanes }

// map1 runs out[i] = f(x[i]); len(x) ≥ len(out).
func (a asmElem) map1(f func(out, x *float32, n int), out, x []float32) {
	a.map2(func(out, x, _ *float32, n int) { f(out, x, n) }, out, x, x)
}

// map2 runs out[i] = f(x[i], y[i]).
func (a asmElem) map2(f func(out, x, y *float32, n int), out, x, y []float32) {
	n := len(out)
	b := a.split(n)
	if b > 0 {
		f(&out[0], &x[0], &y[0], b)
	}
	if b < n {
		var to, tx, ty [lanesMax]float32
		copy(tx[:], x[b:n])
		copy(ty[:], y[b:n])
		f(&to[0], &tx[0], &ty[0], a.lanes)
		copy(out[b:n], to[:])
	}
}

// inPlace runs x[i] = f(x[i]) (with y: y[i] = f(y[i], x[i])).
func (a asmElem) inPlace(f func(y, x *float32, n int), y, x []float32) {
	n := len(y)
	b := a.split(n)
	if b > 0 {
		f(&y[0], &x[0], b)
	}
	if b < n {
		var ty, tx [lanesMax]float32
		copy(ty[:], y[b:n])
		copy(tx[:], x[b:n])
		f(&ty[0], &tx[0], a.lanes)
		copy(y[b:n], ty[:])
	}
}

// swiglu2 runs the two-output SwiGLU backward kernel.
func (a asmElem) swiglu2(dgate, dup, dout, gate, up []float32) {
	n := len(dout)
	b := a.split(n)
	if b > 0 {
		a.swigluBackward(&dgate[0], &dup[0], &dout[0], &gate[0], &up[0], b)
	}
	if b < n {
		var tg, tu, td, tgate, tup [lanesMax]float32
		copy(td[:], dout[b:n])
		copy(tgate[:], gate[b:n])
		copy(tup[:], up[b:n])
		a.swigluBackward(&tg[0], &tu[0], &td[0], &tgate[0], &tup[0], a.lanes)
		copy(dgate[b:n], tg[:])
		copy(dup[b:n], tu[:])
	}
}

// reduce returns f over x[:b] combined (by op) with f over the padded rest.
func (a asmElem) reduce(f func(x *float32, n int) float32, x []float32, pad float32, op func(p, q float32) float32) float32 {
	n := len(x)
	b := a.split(n)
	if b == n {
		return f(&x[0], n)
	}
	var t [lanesMax]float32
	for i := range t {
		t[i] = pad
	}
	copy(t[:], x[b:])
	r := f(&t[0], a.lanes)
	if b > 0 {
		r = op(f(&x[0], b), r)
	}
	return r
}

func add32(p, q float32) float32 { return p + q }

// reduce2 returns f over x[:b], y[:b] plus f over the zero-padded rest.
func (a asmElem) reduce2(f func(x, y *float32, n int) float32, x, y []float32) float32 {
	n := len(x)
	b := a.split(n)
	var r float32
	if b > 0 {
		r = f(&x[0], &y[0], b)
	}
	if b < n {
		var tx, ty [lanesMax]float32
		copy(tx[:], x[b:n])
		copy(ty[:], y[b:n])
		r += f(&tx[0], &ty[0], a.lanes)
	}
	return r
}

var negInf32 = float32(math.Inf(-1))

func (a asmElem) kernels(name string) *elemKernels {
	return &elemKernels{
		name:     name,
		gelu:     func(out, x []float32) { a.map1(a.gelu, out, x) },
		geluTanh: func(out, x []float32) { a.map1(a.geluTanh, out, x) },
		geluBackward: func(dx, dout, x []float32) {
			a.map2(a.geluBackward, dx, dout, x)
		},
		geluTanhBackward: func(dx, dout, x []float32) {
			a.map2(a.geluTanhBackward, dx, dout, x)
		},
		swiglu:         func(out, gate, up []float32) { a.map2(a.swiglu, out, gate, up) },
		swigluBackward: a.swiglu2,
		add:            func(dst, x []float32) { a.inPlace(a.add, dst, x) },
		scale: func(x []float32, s float32) {
			a.inPlace(func(y, _ *float32, n int) { a.scale(y, s, n) }, x, x)
		},
		axpy: func(y []float32, s float32, x []float32) {
			a.inPlace(func(y, x *float32, n int) { a.axpy(y, x, s, n) }, y, x)
		},
		dot: func(x, y []float32) float32 { return a.reduce2(a.dot, x, y) },
		sum: func(x []float32) float32 {
			if len(x) == 0 {
				return 0
			}
			return a.reduce(a.sum, x, 0, add32)
		},
		maxOf: func(x []float32) float32 {
			return a.reduce(a.max, x, negInf32, func(p, q float32) float32 { return max(p, q) })
		},
		expShift: func(x []float32, m float32) float32 {
			n := len(x)
			b := a.split(n)
			var r float32
			if b > 0 {
				r = a.expShift(&x[0], m, b)
			}
			if b < n {
				t := [lanesMax]float32{}
				for i := range t {
					t[i] = negInf32
				}
				copy(t[:], x[b:])
				r += a.expShift(&t[0], m, a.lanes)
				copy(x[b:], t[:])
			}
			return r
		},
	}
}
