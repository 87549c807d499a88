package tensor

import "math"

// Row-wise and elementwise kernels. Inputs and outputs may not alias unless
// a function says so. Functions named …Backward accumulate (+=) into the
// gradients of parameters and inputs that a residual stream shares (dx, dw,
// db), and overwrite gradients that have a single consumer; each says which.

// AddInPlace computes dst += x.
func AddInPlace(dst, x []float32) {
	x = x[:len(dst)]
	for i := range dst {
		dst[i] += x[i]
	}
}

// Scale computes x *= s.
func Scale(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}

// Axpy computes y += a·x.
func Axpy(y []float32, a float32, x []float32) {
	x = x[:len(y)]
	for i := range y {
		y[i] += a * x[i]
	}
}

// Dot returns Σ a[i]·b[i], summed in index order.
func Dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// SoftmaxInPlace replaces x with softmax(x) (max-subtracted, float32).
func SoftmaxInPlace(x []float32) {
	if len(x) == 0 {
		return
	}
	mx := x[0]
	for _, v := range x[1:] {
		if v > mx {
			mx = v
		}
	}
	var sum float32
	for i, v := range x {
		e := float32(math.Exp(float64(v - mx)))
		x[i] = e
		sum += e
	}
	inv := 1 / sum
	for i := range x {
		x[i] *= inv
	}
}

// RMSNorm computes out[r] = x[r] / rms(x[r]) * w for each of rows rows of
// width dim, and stores 1/rms in rstd[r] for the backward pass.
func RMSNorm(out, rstd, x, w []float32, rows, dim int, eps float32) {
	for r := 0; r < rows; r++ {
		xr := x[r*dim : r*dim+dim]
		var ss float32
		for _, v := range xr {
			ss += v * v
		}
		rs := float32(1 / math.Sqrt(float64(ss/float32(dim)+eps)))
		rstd[r] = rs
		or := out[r*dim : r*dim+dim]
		for i, v := range xr {
			or[i] = v * rs * w[i]
		}
	}
}

// RMSNormBackward accumulates dx += ∂L/∂x and dw += ∂L/∂w given dout. dw is
// reduced over rows in row order.
func RMSNormBackward(dx, dw, dout, x, w, rstd []float32, rows, dim int) {
	for r := 0; r < rows; r++ {
		xr := x[r*dim : r*dim+dim]
		dr := dout[r*dim : r*dim+dim]
		rs := rstd[r]
		var dot float32
		for i := range xr {
			dot += dr[i] * w[i] * xr[i]
		}
		c := dot * rs * rs / float32(dim)
		dxr := dx[r*dim : r*dim+dim]
		for i := range xr {
			dxr[i] += rs * (dr[i]*w[i] - xr[i]*c)
			dw[i] += dr[i] * xr[i] * rs
		}
	}
}

// LayerNorm computes out[r] = (x[r]-mean)/std * w + b per row, storing mean
// and 1/std for the backward pass. b may be nil.
func LayerNorm(out, mean, rstd, x, w, b []float32, rows, dim int, eps float32) {
	for r := 0; r < rows; r++ {
		xr := x[r*dim : r*dim+dim]
		var m float32
		for _, v := range xr {
			m += v
		}
		m /= float32(dim)
		var vs float32
		for _, v := range xr {
			d := v - m
			vs += d * d
		}
		rs := float32(1 / math.Sqrt(float64(vs/float32(dim)+eps)))
		mean[r], rstd[r] = m, rs
		or := out[r*dim : r*dim+dim]
		for i, v := range xr {
			y := (v - m) * rs * w[i]
			if b != nil {
				y += b[i]
			}
			or[i] = y
		}
	}
}

// LayerNormBackward accumulates dx, dw and db (db may be nil) given dout.
func LayerNormBackward(dx, dw, db, dout, x, w, mean, rstd []float32, rows, dim int) {
	for r := 0; r < rows; r++ {
		xr := x[r*dim : r*dim+dim]
		dr := dout[r*dim : r*dim+dim]
		m, rs := mean[r], rstd[r]
		var dmean, dnormdot float32
		for i := range xr {
			n := (xr[i] - m) * rs
			g := dr[i] * w[i]
			dmean += g
			dnormdot += g * n
		}
		dmean /= float32(dim)
		dnormdot /= float32(dim)
		dxr := dx[r*dim : r*dim+dim]
		for i := range xr {
			n := (xr[i] - m) * rs
			g := dr[i] * w[i]
			dxr[i] += (g - dmean - n*dnormdot) * rs
			dw[i] += dr[i] * n
			if db != nil {
				db[i] += dr[i]
			}
		}
	}
}

// SwiGLU computes out = silu(gate) · up elementwise.
func SwiGLU(out, gate, up []float32) {
	for i, g := range gate[:len(out)] {
		out[i] = g / (1 + float32(math.Exp(float64(-g)))) * up[i]
	}
}

// SwiGLUBackward overwrites dgate and dup with the gradients of
// out = silu(gate) · up given dout.
func SwiGLUBackward(dgate, dup, dout, gate, up []float32) {
	for i, g := range gate[:len(dout)] {
		s := 1 / (1 + float32(math.Exp(float64(-g))))
		silu := g * s
		dup[i] = dout[i] * silu
		dgate[i] = dout[i] * up[i] * s * (1 + g*(1-s))
	}
}

// GELU computes the exact (erf) GELU: out = x·Φ(x).
func GELU(out, x []float32) {
	for i, v := range x[:len(out)] {
		out[i] = 0.5 * v * (1 + float32(math.Erf(float64(v)/math.Sqrt2)))
	}
}

// GELUBackward overwrites dx with dout · GELU'(x) for the exact GELU.
func GELUBackward(dx, dout, x []float32) {
	const invSqrt2Pi = 0.3989422804014327
	for i, v := range x[:len(dx)] {
		cdf := 0.5 * (1 + float32(math.Erf(float64(v)/math.Sqrt2)))
		pdf := invSqrt2Pi * float32(math.Exp(-0.5*float64(v)*float64(v)))
		dx[i] = dout[i] * (cdf + v*pdf)
	}
}

// GELUTanh computes the tanh approximation of GELU ("gelu_new").
func GELUTanh(out, x []float32) {
	const c = 0.7978845608028654 // sqrt(2/pi)
	for i, v := range x[:len(out)] {
		u := c * (v + 0.044715*v*v*v)
		out[i] = 0.5 * v * (1 + float32(math.Tanh(float64(u))))
	}
}

// GELUTanhBackward overwrites dx with dout · GELUTanh'(x).
func GELUTanhBackward(dx, dout, x []float32) {
	const c = 0.7978845608028654
	for i, v := range x[:len(dx)] {
		u := c * (v + 0.044715*v*v*v)
		t := float32(math.Tanh(float64(u)))
		du := c * (1 + 3*0.044715*v*v)
		dx[i] = dout[i] * (0.5*(1+t) + 0.5*v*(1-t*t)*du)
	}
}

// RoPETable returns cos and sin tables [maxPos, headDim/2] for rotary
// embeddings with base theta, computed as Hugging Face's Llama does
// (inv_freq_i = theta^(-2i/headDim), angle = pos · inv_freq_i).
func RoPETable(theta float64, headDim, maxPos int) (cos, sin []float32) {
	half := headDim / 2
	cos = make([]float32, maxPos*half)
	sin = make([]float32, maxPos*half)
	for i := 0; i < half; i++ {
		inv := float32(1 / math.Pow(theta, float64(2*i)/float64(headDim)))
		for p := 0; p < maxPos; p++ {
			a := float32(p) * inv
			cos[p*half+i] = float32(math.Cos(float64(a)))
			sin[p*half+i] = float32(math.Sin(float64(a)))
		}
	}
	return cos, sin
}

// RoPE rotates x in place: x is [T, heads, headDim] for positions
// pos0…pos0+T-1, with Hugging Face's rotate_half pairing (i, i+headDim/2).
// inverse=true applies the inverse rotation, which is the backward pass.
func RoPE(x []float32, T, heads, headDim, pos0 int, cos, sin []float32, inverse bool) {
	half := headDim / 2
	for t := 0; t < T; t++ {
		c := cos[(pos0+t)*half : (pos0+t)*half+half]
		s := sin[(pos0+t)*half : (pos0+t)*half+half]
		for h := 0; h < heads; h++ {
			v := x[(t*heads+h)*headDim : (t*heads+h)*headDim+headDim]
			for i := 0; i < half; i++ {
				x1, x2 := v[i], v[i+half]
				si := s[i]
				if inverse {
					si = -si
				}
				v[i] = x1*c[i] - x2*si
				v[i+half] = x2*c[i] + x1*si
			}
		}
	}
}
