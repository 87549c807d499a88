package tensor

// Portable row passes of the norms (see elemKernels). Sums keep 16 strided
// partial sums like goDot.

func goRMSScale(out, x, w []float32, s float32) {
	x, w = x[:len(out)], w[:len(out)]
	for i, v := range x {
		out[i] = v * s * w[i]
	}
}

func goDot3(a, b, c []float32) float32 {
	b, c = b[:len(a)], c[:len(a)]
	var p [16]float32
	for i, v := range a {
		p[i%16] += v * b[i] * c[i]
	}
	return reduceLanes(&p)
}

func goRMSBackward(dx, dw, dr, x, w []float32, rs, c float32) {
	n := len(dx)
	dw, dr, x, w = dw[:n], dr[:n], x[:n], w[:n]
	for i := range dx {
		dx[i] += rs * (dr[i]*w[i] - x[i]*c)
		dw[i] += dr[i] * x[i] * rs
	}
}

func goSumSqDev(x []float32, m float32) float32 {
	var p [16]float32
	for i, v := range x {
		d := v - m
		p[i%16] += d * d
	}
	return reduceLanes(&p)
}

func goLNAffine(out, x, w, b []float32, m, rs float32) {
	x, w = x[:len(out)], w[:len(out)]
	if b == nil {
		for i, v := range x {
			out[i] = (v - m) * rs * w[i]
		}
		return
	}
	b = b[:len(out)]
	for i, v := range x {
		out[i] = (v-m)*rs*w[i] + b[i]
	}
}

func goLNBackwardSums(dr, x, w []float32, m, rs float32) (sg, sgn float32) {
	x, w = x[:len(dr)], w[:len(dr)]
	var p, q [16]float32
	for i, d := range dr {
		g := d * w[i]
		p[i%16] += g
		q[i%16] += g * ((x[i] - m) * rs)
	}
	return reduceLanes(&p), reduceLanes(&q)
}

func goLNBackward(dx, dw, dr, x, w []float32, m, rs, dmean, dnd float32) {
	n := len(dx)
	dw, dr, x, w = dw[:n], dr[:n], x[:n], w[:n]
	for i := range dx {
		nrm := (x[i] - m) * rs
		g := dr[i] * w[i]
		dx[i] += (g - dmean - nrm*dnd) * rs
		dw[i] += dr[i] * nrm
	}
}
