package tensor

import "sync"

// packPanels packs panels [q0, q1) of operand x (rows rows in all) for the k
// steps [p0, p0+kc) into dst, panel q at dst[q*w*kc:], element (r, p) of the
// panel at [p*w+r]. Rows past the end of x are zero.
func packPanels(dst []float32, x operand, q0, q1, w, rows, p0, kc int) {
	for q := q0; q < q1; q++ {
		r0 := q * w
		packPanel(dst[q*w*kc:(q+1)*w*kc], x, r0, min(w, rows-r0), w, p0, kc)
	}
}

// packPanel packs rows [r0, r0+rv) of x, padded with zero rows to width w.
func packPanel(dst []float32, x operand, r0, rv, w, p0, kc int) {
	switch {
	case x.cs == 1: // rows run along k: transpose
		for r := 0; r < rv; r++ {
			row := x.d[(r0+r)*x.rs+p0 : (r0+r)*x.rs+p0+kc]
			for p, v := range row {
				dst[p*w+r] = v
			}
		}
		if rv < w {
			for p := 0; p < kc; p++ {
				clear(dst[p*w+rv : p*w+w])
			}
		}
	case x.rs == 1: // columns run along k: copy rows of the panel
		for p := 0; p < kc; p++ {
			off := (p0 + p) * x.cs
			d := dst[p*w : p*w+w]
			copy(d, x.d[off+r0:off+r0+rv])
			clear(d[rv:])
		}
	default:
		for p := 0; p < kc; p++ {
			d := dst[p*w : p*w+w]
			for r := 0; r < rv; r++ {
				d[r] = x.d[(r0+r)*x.rs+(p0+p)*x.cs]
			}
			clear(d[rv:])
		}
	}
}

// floatPool recycles packing buffers between products.
var floatPool sync.Pool

func getFloats(n int) []float32 {
	if p, ok := floatPool.Get().(*[]float32); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]float32, n)
}

func putFloats(b []float32) {
	floatPool.Put(&b)
}
