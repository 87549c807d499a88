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
		elem.rmsScale(out[r*dim:r*dim+dim], xr, w, rs)
	}
}

// RMSNormBackward accumulates dx += ∂L/∂x and dw += ∂L/∂w given dout. dw is
// reduced over rows in row order.
func RMSNormBackward(dx, dw, dout, x, w, rstd []float32, rows, dim int) {
	w, dw = w[:dim], dw[:dim]
	for r := 0; r < rows; r++ {
		xr := x[r*dim : r*dim+dim]
		dr := dout[r*dim : r*dim+dim]
		rs := rstd[r]
		c := elem.dot3(dr, w, xr) * rs * rs / float32(dim)
		elem.rmsBackward(dx[r*dim:r*dim+dim], dw, dr, xr, w, rs, c)
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
		rs := float32(1 / math.Sqrt(float64(elem.sumSqDev(xr, m)/float32(dim)+eps)))
		mean[r], rstd[r] = m, rs
		elem.lnAffine(out[r*dim:r*dim+dim], xr, w, b, m, rs)
	}
}

// LayerNormBackward accumulates dx, dw and db (db may be nil) given dout.
// dw and db are reduced over rows in row order.
func LayerNormBackward(dx, dw, db, dout, x, w, mean, rstd []float32, rows, dim int) {
	w, dw = w[:dim], dw[:dim]
	for r := 0; r < rows; r++ {
		xr := x[r*dim : r*dim+dim]
		dr := dout[r*dim : r*dim+dim]
		m, rs := mean[r], rstd[r]
		sg, sgn := elem.lnBackwardSums(dr, xr, w, m, rs)
		elem.lnBackward(dx[r*dim:r*dim+dim], dw, dr, xr, w, m, rs, sg/float32(dim), sgn/float32(dim))
		if db != nil {
			elem.add(db[:dim], dr)
		}
	}
}
