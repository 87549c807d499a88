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
	qFull := max(q0, min(q1, rows/w)) // panels with no padding
	if f := packCopy[w]; f != nil && qFull > q0 {
		src := x.d[p0*x.cs+q0*w : (p0+kc-1)*x.cs+qFull*w]
		f(dst[q0*w*kc:qFull*w*kc], src, x.cs, kc, qFull-q0)
		q0 = qFull
	}
	for p := 0; p < kc; p++ {
		src := x.d[(p0+p)*x.cs : (p0+p)*x.cs+rows]
		for q := q0; q < q1; q++ {
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
		r := packTransposed(dst, x, r0, rv, w, p0, kc)
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

// packTranspose8 and packTranspose6, where the CPU has them, write
// dst[p*w+r] = src[r*ld+p] for r < 8 (6) and p < 8·blocks, a whole 8-lane
// vector per step: packTranspose6 also writes zeros to the two floats after
// each step's six. The caller bounds both slices to what they touch.
var packTranspose8, packTranspose6 func(dst, src []float32, ld, blocks, w int)

// packTransposed packs what it can of rows [r0, r0+rv) of x with the
// assembly transposes, and returns how many of the rows it fully packed
// (a prefix); the caller packs the rest.
func packTransposed(dst []float32, x operand, r0, rv, w, p0, kc int) int {
	kc8 := kc &^ 7
	if kc8 == 0 {
		return 0
	}
	// tailRows packs steps [from, kc) of rows [r, r+n) in Go.
	tailRows := func(r, n, from int) {
		for r2 := r; r2 < r+n; r2++ {
			row := x.d[(r0+r2)*x.rs+p0+from : (r0+r2)*x.rs+p0+kc]
			for p, v := range row {
				dst[(from+p)*w+r2] = v
			}
		}
	}
	if w == 6 && rv == 6 && packTranspose6 != nil {
		// Each step's store spills two zeros into the next step, so the
		// last step must be one the Go tail rewrites: stop a block early
		// when kc is a multiple of 8.
		if kc8 == kc {
			kc8 -= 8
		}
		if kc8 > 0 {
			src := x.d[r0*x.rs+p0 : (r0+5)*x.rs+p0+kc8]
			packTranspose6(dst[:(kc8-1)*w+8], src, x.rs, kc8/8, w)
		}
		tailRows(0, 6, kc8)
		return 6
	}
	r := 0
	if packTranspose8 == nil {
		return 0
	}
	for ; r+8 <= rv; r += 8 {
		src := x.d[(r0+r)*x.rs+p0 : (r0+r+7)*x.rs+p0+kc8]
		packTranspose8(dst[r:(kc8-1)*w+r+8], src, x.rs, kc8/8, w)
		tailRows(r, 8, kc8)
	}
	return r
}

// packCopy, where the CPU has them, holds copying packs by panel width w:
// packCopy[w](dst, src, ld, kc, panels) copies, for each step p < kc, the
// w floats src[p*ld+q*w:] of every panel q < panels to dst[q*w*kc+p*w:].
var packCopy = map[int]func(dst, src []float32, ld, kc, panels int){}

// floatPool recycles packing buffers between products. It holds pointers
// to slices, so that getting and putting one allocates nothing.
var floatPool sync.Pool

// getFloats returns a buffer of n floats from the pool, or a new one when
// the pool's is too small. Give it back with putFloats.
func getFloats(n int) *[]float32 {
	if p, ok := floatPool.Get().(*[]float32); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	b := make([]float32, n)
	return &b
}

func putFloats(p *[]float32) { floatPool.Put(p) }
