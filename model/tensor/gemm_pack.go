package tensor

import "sync"

// packPanels packs panels [q0, q1) of operand x (rows rows in all) for the k
// steps [p0, p0+kc) into dst, panel q at dst[q*w*kc:], element (r, p) of the
// panel at [p*w+r]. Rows past the end of x are zero.
func packPanels(dst []float32, x operand, q0, q1, w, rows, p0, kc int) {
	if x.rs == 1 && x.cs != 1 {
		packPanelsCopy(dst, x, q0, q1, w, rows, p0, kc)
		return
	}
	for q := q0; q < q1; q++ {
		r0 := q * w
		packPanel(dst[q*w*kc:(q+1)*w*kc], x, r0, min(w, rows-r0), w, p0, kc)
	}
}

// packPanelsCopy packs panels of an operand whose rows are contiguous for
// each k step, walking each step's row once across all the panels.
func packPanelsCopy(dst []float32, x operand, q0, q1, w, rows, p0, kc int) {
	qFull := min(q1, rows/w) // panels with no padding
	for p := 0; p < kc; p++ {
		src := x.d[(p0+p)*x.cs : (p0+p)*x.cs+rows]
		q := q0
		switch w {
		case 32:
			for ; q < qFull; q++ {
				*(*[32]float32)(dst[q*w*kc+p*w:]) = *(*[32]float32)(src[q*w:])
			}
		case 16:
			for ; q < qFull; q++ {
				*(*[16]float32)(dst[q*w*kc+p*w:]) = *(*[16]float32)(src[q*w:])
			}
		case 8:
			for ; q < qFull; q++ {
				*(*[8]float32)(dst[q*w*kc+p*w:]) = *(*[8]float32)(src[q*w:])
			}
		}
		for ; q < q1; q++ {
			d := dst[q*w*kc+p*w : q*w*kc+p*w+w]
			n := copy(d, src[min(q*w, rows):])
			clear(d[n:])
		}
	}
}

// packPanel packs rows [r0, r0+rv) of x, padded with zero rows to width w.
func packPanel(dst []float32, x operand, r0, rv, w, p0, kc int) {
	switch {
	case x.cs == 1: // rows run along k: transpose
		r := 0
		if packTranspose8 != nil && kc >= 8 {
			// Whole 8×8 blocks in assembly, the last kc%8 steps below.
			kc8 := kc &^ 7
			for ; r+8 <= rv; r += 8 {
				src := x.d[(r0+r)*x.rs+p0 : (r0+r+7)*x.rs+p0+kc8]
				packTranspose8(dst[r:(kc8-1)*w+r+8], src, x.rs, kc8/8, w)
				for r2 := r; r2 < r+8; r2++ {
					row := x.d[(r0+r2)*x.rs+p0+kc8 : (r0+r2)*x.rs+p0+kc]
					for p, v := range row {
						dst[(kc8+p)*w+r2] = v
					}
				}
			}
		}
		for ; r < rv; r++ {
			row := x.d[(r0+r)*x.rs+p0 : (r0+r)*x.rs+p0+kc]
			for p, v := range row {
				dst[p*w+r] = v
			}
		}
		if rv < w {
			for p := 0; p < kc; p++ {
				for r := p*w + rv; r < p*w+w; r++ {
					dst[r] = 0
				}
			}
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

// packTranspose8, where the CPU has one, writes dst[p*w+r] = src[r*ld+p]
// for r < 8 and p < 8·blocks. The caller bounds both slices to exactly the
// elements it touches.
var packTranspose8 func(dst, src []float32, ld, blocks, w int)

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
