package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The AVX-512 and AVX2 kernels give the same bits, so results reproduce
// across the two kinds of x86 machines: the elementwise kernels evaluate
// the same formulas with the same instructions and keep reductions in 16
// partials on both (AVX2 in two registers), and the GEMM micro-kernels sum
// every element of C in k order. These tests run both sets where the CPU
// has both.

// isaPair returns the AVX-512 and AVX2 elementwise sets, or skips.
func isaPair(t *testing.T) (a, b *elemKernels) {
	es := archElems()
	if len(es) < 2 {
		t.Skip("needs a CPU with both AVX-512 and AVX2")
	}
	return es[0], es[1]
}

// elemCase runs one kernel on inputs xs (each at least n long, n the
// length of the call) and returns every output, scalars appended.
type elemCase struct {
	name string
	run  func(e *elemKernels, xs [][]float32, n int) []float32
}

func clone(x []float32) []float32 { return append([]float32(nil), x...) }

var elemCases = []elemCase{
	{"dot", func(e *elemKernels, xs [][]float32, n int) []float32 { return []float32{e.dot(xs[0][:n], xs[1])} }},
	{"sum", func(e *elemKernels, xs [][]float32, n int) []float32 { return []float32{e.sum(xs[0][:n])} }},
	{"max", func(e *elemKernels, xs [][]float32, n int) []float32 {
		if n == 0 {
			return nil
		}
		return []float32{e.maxOf(xs[0][:n])}
	}},
	{"axpy", func(e *elemKernels, xs [][]float32, n int) []float32 {
		y := clone(xs[0][:n])
		e.axpy(y, xs[2][0], xs[1])
		return y
	}},
	{"add", func(e *elemKernels, xs [][]float32, n int) []float32 {
		y := clone(xs[0][:n])
		e.add(y, xs[1])
		return y
	}},
	{"scale", func(e *elemKernels, xs [][]float32, n int) []float32 {
		y := clone(xs[0][:n])
		e.scale(y, xs[1][0])
		return y
	}},
	{"expShift", func(e *elemKernels, xs [][]float32, n int) []float32 {
		y := clone(xs[0][:n])
		return append(y, e.expShift(y, xs[1][0]))
	}},
	{"gelu", func(e *elemKernels, xs [][]float32, n int) []float32 {
		out := make([]float32, n)
		e.gelu(out, xs[0])
		return out
	}},
	{"geluBackward", func(e *elemKernels, xs [][]float32, n int) []float32 {
		dx := make([]float32, n)
		e.geluBackward(dx, xs[1], xs[0])
		return dx
	}},
	{"geluTanh", func(e *elemKernels, xs [][]float32, n int) []float32 {
		out := make([]float32, n)
		e.geluTanh(out, xs[0])
		return out
	}},
	{"geluTanhBackward", func(e *elemKernels, xs [][]float32, n int) []float32 {
		dx := make([]float32, n)
		e.geluTanhBackward(dx, xs[1], xs[0])
		return dx
	}},
	{"swiglu", func(e *elemKernels, xs [][]float32, n int) []float32 {
		out := make([]float32, n)
		e.swiglu(out, xs[0], xs[1])
		return out
	}},
	{"swigluBackward", func(e *elemKernels, xs [][]float32, n int) []float32 {
		dg, du := make([]float32, n), make([]float32, n)
		e.swigluBackward(dg, du, xs[2][:n], xs[0], xs[1])
		return append(dg, du...)
	}},
	{"rmsScale", func(e *elemKernels, xs [][]float32, n int) []float32 {
		out := make([]float32, n)
		e.rmsScale(out, xs[0], xs[1], xs[2][0])
		return out
	}},
	{"dot3", func(e *elemKernels, xs [][]float32, n int) []float32 {
		return []float32{e.dot3(xs[0][:n], xs[1], xs[2])}
	}},
	{"rmsBackward", func(e *elemKernels, xs [][]float32, n int) []float32 {
		dx, dw := clone(xs[2][:n]), clone(xs[1][:n])
		e.rmsBackward(dx, dw, xs[0], xs[1], xs[2], xs[0][0], xs[1][0])
		return append(dx, dw...)
	}},
	{"sumSqDev", func(e *elemKernels, xs [][]float32, n int) []float32 {
		return []float32{e.sumSqDev(xs[0][:n], xs[1][0])}
	}},
	{"lnAffine", func(e *elemKernels, xs [][]float32, n int) []float32 {
		out, out2 := make([]float32, n), make([]float32, n)
		e.lnAffine(out, xs[0], xs[1], xs[2], xs[2][0], xs[1][0])
		e.lnAffine(out2, xs[0], xs[1], nil, xs[2][0], xs[1][0])
		return append(out, out2...)
	}},
	{"lnBackwardSums", func(e *elemKernels, xs [][]float32, n int) []float32 {
		sg, sgn := e.lnBackwardSums(xs[0][:n], xs[1], xs[2], xs[2][0], xs[1][0])
		return []float32{sg, sgn}
	}},
	{"lnBackward", func(e *elemKernels, xs [][]float32, n int) []float32 {
		dx, dw := clone(xs[2][:n]), clone(xs[1][:n])
		e.lnBackward(dx, dw, xs[0], xs[1], xs[2], xs[2][0], xs[1][0], xs[0][1], xs[1][1])
		return append(dx, dw...)
	}},
}

// sameBits reports the first index where a and b differ in bits, or -1.
func sameBits(a, b []float32) int {
	if len(a) != len(b) {
		return 0
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

// Every elementwise and row kernel, every length up to a few groups of 64
// (whole vectors, partial groups, both halves of a masked tail) and some
// long ones, on random values at several scales and on the special values
// (±0, ±Inf, NaN, huge, tiny).
func TestElemSameBitsOnAVX512AndAVX2(t *testing.T) {
	a, b := isaPair(t)
	r := rand.New(rand.NewPCG(21, 12))
	const maxN = 4099
	inputs := map[string][][]float32{"random": {}, "special": {}}
	for i := 0; i < 3; i++ {
		x := make([]float32, maxN)
		for j := range x {
			x[j] = float32(r.NormFloat64() * math.Pow(4, float64(i)))
		}
		inputs["random"] = append(inputs["random"], x)
		inputs["special"] = append(inputs["special"], elemInputs(maxN, float32(10+20*i))[0:])
	}
	// elemInputs puts its special values first; rotate them through
	// other positions for the second and third operands.
	inputs["special"][1] = append(inputs["special"][1][5:], inputs["special"][1][:5]...)
	inputs["special"][2] = append(inputs["special"][2][17:], inputs["special"][2][:17]...)
	lengths := []int{200, 255, 256, 257, 1000, 4099}
	for n := 0; n < 200; n++ {
		lengths = append(lengths, n)
	}
	for _, c := range elemCases {
		for kind, xs := range inputs {
			for _, n := range lengths {
				if n == 0 && (c.name == "expShift" || c.name == "axpy" || c.name == "scale" || c.name == "rmsBackward" || c.name == "lnBackward") {
					continue // they read a scalar from xs[·][0]: n = 0 is covered by the others
				}
				ga, gb := c.run(a, xs, n), c.run(b, xs, n)
				if i := sameBits(ga, gb); i >= 0 {
					t.Fatalf("%s, %s inputs, n=%d: output %d is %g (%#08x) on %s, %g (%#08x) on %s",
						c.name, kind, n, i, ga[i], math.Float32bits(ga[i]), a.name, gb[i], math.Float32bits(gb[i]), b.name)
				}
			}
		}
	}
}

// The two assembly GEMM micro-kernels give the same bits for every
// orientation, with edge tiles, several k blocks and accumulation.
func TestMatMulSameBitsOnAVX512AndAVX2(t *testing.T) {
	ks := archKernels()
	if len(ks) < 2 {
		t.Skip("needs a CPU with both AVX-512 and AVX2")
	}
	r := rand.New(rand.NewPCG(8, 9))
	for _, s := range [][3]int{{1, 1, 1}, {7, 33, 5}, {70, 90, 300}, {130, 67, 600}} {
		m, n, k := s[0], s[1], s[2]
		a, bm, c0 := randFloats(r, m*k), randFloats(r, n*k), randFloats(r, m*n)
		for _, o := range orientations {
			for _, acc := range []bool{false, true} {
				var outs [2][]float32
				for i, kern := range ks[:2] {
					outs[i] = clone(c0)
					withKernel(kern, func() { o.fn(outs[i], a, bm, m, n, k, acc) })
				}
				if i := sameBits(outs[0], outs[1]); i >= 0 {
					t.Fatalf("%s %dx%dx%d acc=%v: C[%d] is %g on %s, %g on %s",
						o.name, m, n, k, acc, i, outs[0][i], ks[0].name, outs[1][i], ks[1].name)
				}
			}
		}
	}
}

// Causal attention forward and backward, which combine the products,
// softmax and Dot, give the same bits on both instruction sets.
func TestAttentionSameBitsOnAVX512AndAVX2(t *testing.T) {
	ea, eb := isaPair(t)
	ks := archKernels()
	r := rand.New(rand.NewPCG(4, 13))
	for _, s := range [][2]int{{7, 8}, {150, 24}} {
		T, hd := s[0], s[1]
		q, k, v, dy := randFloats(r, T*hd), randFloats(r, T*hd), randFloats(r, T*hd), randFloats(r, T*hd)
		var outs [2][]float32
		for i, e := range []*elemKernels{ea, eb} {
			y, p, ds := make([]float32, T*hd), make([]float32, T*T), make([]float32, T*T)
			dq, dk, dv := make([]float32, T*hd), make([]float32, T*hd), make([]float32, T*hd)
			withKernel(ks[i], func() {
				withElem(e, func() {
					CausalAttention(Mat{y, hd}, Mat{q, hd}, Mat{k, hd}, Mat{v, hd}, p, T, hd, 0.3)
					CausalAttentionBackward(Mat{dq, hd}, Mat{dk, hd}, Mat{dv, hd}, Mat{dy, hd},
						Mat{q, hd}, Mat{k, hd}, Mat{v, hd}, p, ds, T, hd, 0.3)
				})
			})
			outs[i] = append(append(append(append(y, p...), dq...), dk...), dv...)
		}
		if i := sameBits(outs[0], outs[1]); i >= 0 {
			t.Fatalf("T=%d hd=%d: output %d is %g on %s, %g on %s", T, hd, i, outs[0][i], ea.name, outs[1][i], eb.name)
		}
	}
}
