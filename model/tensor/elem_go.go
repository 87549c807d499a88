package tensor

// goElem is the portable implementation of elemKernels. Its sums keep 16
// partial sums (element i in partial i%16) like the vector kernels, which
// is also faster than one serial chain.
var goElem = &elemKernels{
	name: "go", dot: goDot, sum: goSum, maxOf: goMax,
	axpy: goAxpy, add: goAdd, scale: goScale, expShift: goExpShift,
	gelu: goGELU, geluBackward: goGELUBackward,
	geluTanh: goGELUTanh, geluTanhBackward: goGELUTanhBackward,
	swiglu: goSwiGLU, swigluBackward: goSwiGLUBackward,
	rmsScale: goRMSScale, dot3: goDot3, rmsBackward: goRMSBackward,
	sumSqDev: goSumSqDev, lnAffine: goLNAffine,
	lnBackwardSums: goLNBackwardSums, lnBackward: goLNBackward,
}

// reduceLanes adds 16 partial sums pairwise: (0+8)+(4+12)… as a vector
// kernel folds its register in halves.
func reduceLanes(p *[16]float32) float32 {
	var h [8]float32
	for i := range h {
		h[i] = p[i] + p[i+8]
	}
	for i := 0; i < 4; i++ {
		h[i] += h[i+4]
	}
	h[0] += h[2]
	h[1] += h[3]
	return h[0] + h[1]
}

func goDot(a, b []float32) float32 {
	b = b[:len(a)]
	var p [16]float32
	for i, v := range a {
		p[i%16] += v * b[i]
	}
	return reduceLanes(&p)
}

func goSum(x []float32) float32 {
	var p [16]float32
	for i, v := range x {
		p[i%16] += v
	}
	return reduceLanes(&p)
}

func goMax(x []float32) float32 {
	m := x[0]
	for _, v := range x[1:] {
		m = max(m, v)
	}
	return m
}

func goAxpy(y []float32, a float32, x []float32) {
	x = x[:len(y)]
	for i := range y {
		y[i] += a * x[i]
	}
}

func goAdd(dst, x []float32) {
	x = x[:len(dst)]
	for i := range dst {
		dst[i] += x[i]
	}
}

func goScale(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}

func goExpShift(x []float32, m float32) float32 {
	var p [16]float32
	for i, v := range x {
		e := expf(v - m)
		x[i] = e
		p[i%16] += e
	}
	return reduceLanes(&p)
}

func goGELU(out, x []float32) {
	x = x[:len(out)]
	for i, v := range x {
		out[i] = v * normCDF(v)
	}
}

func goGELUBackward(dx, dout, x []float32) {
	x, dout = x[:len(dx)], dout[:len(dx)]
	for i, v := range x {
		dx[i] = dout[i] * (normCDF(v) + v*normPDF(v))
	}
}

// geluTanhArg returns 2u for u = √(2/π)·(x + 0.044715x³), and d(2u)/dx.
func geluTanhArg(x float32) (u2, du2 float32) {
	const c2 = 2 * 0.7978845608028654
	x2 := x * x
	return c2 * x * (1 + 0.044715*x2), c2 * (1 + 3*0.044715*x2)
}

func goGELUTanh(out, x []float32) {
	x = x[:len(out)]
	for i, v := range x {
		u2, _ := geluTanhArg(v)
		out[i] = v * sigmoidf(u2) // ½x(1+tanh u) = x·σ(2u)
	}
}

func goGELUTanhBackward(dx, dout, x []float32) {
	x, dout = x[:len(dx)], dout[:len(dx)]
	for i, v := range x {
		u2, du2 := geluTanhArg(v)
		s := sigmoidf(u2)
		dx[i] = dout[i] * (s + v*s*(1-s)*du2)
	}
}

func goSwiGLU(out, gate, up []float32) {
	gate, up = gate[:len(out)], up[:len(out)]
	for i, g := range gate {
		out[i] = g * sigmoidf(g) * up[i]
	}
}

func goSwiGLUBackward(dgate, dup, dout, gate, up []float32) {
	n := len(dout)
	dgate, dup, gate, up = dgate[:n], dup[:n], gate[:n], up[:n]
	for i, g := range gate {
		s := sigmoidf(g)
		dup[i] = dout[i] * g * s
		dgate[i] = dout[i] * up[i] * s * (1 + g*(1-s))
	}
}
