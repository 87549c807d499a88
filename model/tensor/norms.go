package tensor

import "math"

// RMSNorm computes out[r] = x[r] / rms(x[r]) * w for each of rows rows of
// width dim, and stores 1/rms in rstd[r] for the backward pass.
func RMSNorm(out, rstd, x, w []float32, rows, dim int, eps float32) {
	w = w[:dim]
	for r := 0; r < rows; r++ {
		xr := x[r*dim : r*dim+dim]
		ss := elem.dot(xr, xr)
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
	w, dw = w[:dim], dw[:dim]
	for r := 0; r < rows; r++ {
		xr := x[r*dim : r*dim+dim]
		dr := dout[r*dim : r*dim+dim]
		dxr := dx[r*dim : r*dim+dim]
		rs := rstd[r]
		var dot float32
		for i := range xr {
			dot += dr[i] * w[i] * xr[i]
		}
		c := dot * rs * rs / float32(dim)
		for i := range xr {
			dxr[i] += rs * (dr[i]*w[i] - xr[i]*c)
			dw[i] += dr[i] * xr[i] * rs
		}
	}
}

// LayerNorm computes out[r] = (x[r]-mean)/std * w + b per row, storing mean
// and 1/std for the backward pass. b may be nil.
func LayerNorm(out, mean, rstd, x, w, b []float32, rows, dim int, eps float32) {
	w = w[:dim]
	if b != nil {
		b = b[:dim]
	}
	for r := 0; r < rows; r++ {
		xr := x[r*dim : r*dim+dim]
		m := elem.sum(xr) / float32(dim)
		var vs float32
		for _, v := range xr {
			d := v - m
			vs += d * d
		}
		rs := float32(1 / math.Sqrt(float64(vs/float32(dim)+eps)))
		mean[r], rstd[r] = m, rs
		or := out[r*dim : r*dim+dim]
		if b == nil {
			for i, v := range xr {
				or[i] = (v - m) * rs * w[i]
			}
			continue
		}
		for i, v := range xr {
			or[i] = (v-m)*rs*w[i] + b[i]
		}
	}
}

// LayerNormBackward accumulates dx, dw and db (db may be nil) given dout.
func LayerNormBackward(dx, dw, db, dout, x, w, mean, rstd []float32, rows, dim int) {
	w, dw = w[:dim], dw[:dim]
	for r := 0; r < rows; r++ {
		xr := x[r*dim : r*dim+dim]
		dr := dout[r*dim : r*dim+dim]
		dxr := dx[r*dim : r*dim+dim]
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
		for i := range xr {
			n := (xr[i] - m) * rs
			g := dr[i] * w[i]
			dxr[i] += (g - dmean - n*dnormdot) * rs
			dw[i] += dr[i] * n
		}
		if db != nil {
			elem.add(db[:dim], dr)
		}
	}
}
