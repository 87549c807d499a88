package model

import (
	"lopper/internal/par"
	"lopper/model/tensor"
)

// rowChunk is the fixed number of rows per parallel task of the row-wise
// ops: fixed so that results are the same for every GOMAXPROCS.
const rowChunk = 32

// rowSerialWork is the number of floats (rows × width) below which a
// row-wise op runs on the calling goroutine: handing out its chunks would
// cost more than it saves.
const rowSerialWork = 1 << 16

// serialRows reports whether a row-wise op over n rows of the given width
// runs on the calling goroutine. Every row is computed the same way either
// way. The ops call par.Chunks only on the other branch, so that the small
// passes of small models allocate nothing.
func serialRows(n, width int) bool {
	return n*width < rowSerialWork || par.Workers((n+rowChunk-1)/rowChunk) == 1
}

// Forward/backward pairs of the operations a block is built from. Row
// counts are B·T; every buffer is row-major.

// linear computes y = x·Wᵀ + b (y += … when acc) for n rows, W [out, in].
func linear(y, x, w, b []float32, n, out, in int, acc bool) {
	tensor.MatMulNT(y[:n*out], x[:n*in], w, n, out, in, acc)
	if b == nil {
		return
	}
	if serialRows(n, out) {
		addBias(y, b, 0, n)
		return
	}
	par.Chunks(n, rowChunk, func(r0, r1 int) { addBias(y, b, r0, r1) })
}

// addBias adds b to rows [r0, r1) of y, whose width is len(b).
func addBias(y, b []float32, r0, r1 int) {
	w := len(b)
	for r := r0; r < r1; r++ {
		tensor.AddInPlace(y[r*w:(r+1)*w], b)
	}
}

// linearBackward accumulates dW += dYᵀ·X and db += Σ dY, and overwrites
// dX = dY·W. db may be nil; it is reduced over rows in row order.
func linearBackward(dx, dw, db, dy, x, w []float32, n, out, in int) {
	tensor.MatMulTN(dw, dy[:n*out], x[:n*in], out, in, n, true)
	if db != nil {
		for r := 0; r < n; r++ {
			tensor.AddInPlace(db, dy[r*out:(r+1)*out])
		}
	}
	tensor.MatMulNN(dx[:n*in], dy[:n*out], w, n, in, out, false)
}

// norm applies the block norm (RMSNorm for Llama, LayerNorm for GPT-2) to
// n rows of x.
func (s *State) norm(a *normActs, x, w, b []float32, n int) {
	if serialRows(n, s.m.Config.Hidden) {
		s.normRows(a, x, w, b, 0, n)
		return
	}
	par.Chunks(n, rowChunk, func(r0, r1 int) { s.normRows(a, x, w, b, r0, r1) })
}

func (s *State) normRows(a *normActs, x, w, b []float32, r0, r1 int) {
	c := &s.m.Config
	H, eps := c.Hidden, float32(c.NormEps)
	xs, out := x[r0*H:r1*H], a.out[r0*H:r1*H]
	if c.Arch == GPT2 {
		tensor.LayerNorm(out, a.mean[r0:r1], a.rstd[r0:r1], xs, w, b, r1-r0, H, eps)
	} else {
		tensor.RMSNorm(out, a.rstd[r0:r1], xs, w, r1-r0, H, eps)
	}
}

// normBackward accumulates dx, dw and db (GPT-2) for the norm of x given
// dout. The weight gradients are reduced over rows in row order.
func (s *State) normBackward(dx, dw, db, dout, x, w []float32, a *normActs, n int) {
	c := &s.m.Config
	H := c.Hidden
	if c.Arch == GPT2 {
		tensor.LayerNormBackward(dx[:n*H], dw, db, dout[:n*H], x[:n*H], w, a.mean[:n], a.rstd[:n], n, H)
	} else {
		tensor.RMSNormBackward(dx[:n*H], dw, dout[:n*H], x[:n*H], w, a.rstd[:n], n, H)
	}
}

// activate computes the MLP nonlinearity: Llama act = silu(gate)·up from
// the stacked [gate | up] rows of fc; GPT-2 act = gelu(fc).
func (s *State) activate(act, fc []float32, n, inter int) {
	if serialRows(n, inter) {
		s.activateRows(act, fc, inter, 0, n)
		return
	}
	par.Chunks(n, rowChunk, func(r0, r1 int) { s.activateRows(act, fc, inter, r0, r1) })
}

func (s *State) activateRows(act, fc []float32, inter, r0, r1 int) {
	switch s.m.Config.Act {
	case SiLU:
		for r := r0; r < r1; r++ {
			f := fc[2*r*inter : 2*(r+1)*inter]
			tensor.SwiGLU(act[r*inter:(r+1)*inter], f[:inter], f[inter:])
		}
	case GELU:
		tensor.GELU(act[r0*inter:r1*inter], fc[r0*inter:r1*inter])
	case GELUTanh:
		tensor.GELUTanh(act[r0*inter:r1*inter], fc[r0*inter:r1*inter])
	}
}

// activateBackward overwrites dfc with the gradient of activate given dact.
func (s *State) activateBackward(dfc, dact, fc []float32, n, inter int) {
	if serialRows(n, inter) {
		s.activateBackwardRows(dfc, dact, fc, inter, 0, n)
		return
	}
	par.Chunks(n, rowChunk, func(r0, r1 int) { s.activateBackwardRows(dfc, dact, fc, inter, r0, r1) })
}

func (s *State) activateBackwardRows(dfc, dact, fc []float32, inter, r0, r1 int) {
	switch s.m.Config.Act {
	case SiLU:
		for r := r0; r < r1; r++ {
			f, d := fc[2*r*inter:2*(r+1)*inter], dfc[2*r*inter:2*(r+1)*inter]
			tensor.SwiGLUBackward(d[:inter], d[inter:], dact[r*inter:(r+1)*inter], f[:inter], f[inter:])
		}
	case GELU:
		tensor.GELUBackward(dfc[r0*inter:r1*inter], dact[r0*inter:r1*inter], fc[r0*inter:r1*inter])
	case GELUTanh:
		tensor.GELUTanhBackward(dfc[r0*inter:r1*inter], dact[r0*inter:r1*inter], fc[r0*inter:r1*inter])
	}
}

// rope rotates the q and k parts of n fused qkv rows (Llama), or applies
// the inverse rotation (the backward pass) to their gradients.
func (s *State) rope(qkv []float32, d LayerDims, n, T int, inverse bool) {
	if serialRows(n, (d.Heads+d.KVHeads)*s.m.Config.HeadDim) {
		s.ropeRows(qkv, d, T, inverse, 0, n)
		return
	}
	par.Chunks(n, rowChunk, func(r0, r1 int) { s.ropeRows(qkv, d, T, inverse, r0, r1) })
}

func (s *State) ropeRows(qkv []float32, d LayerDims, T int, inverse bool, r0, r1 int) {
	hd := s.m.Config.HeadDim
	qd, kd := d.Heads*hd, d.KVHeads*hd
	stride := qd + 2*kd
	for r := r0; r < r1; r++ {
		row := qkv[r*stride : (r+1)*stride]
		pos := r % T
		tensor.RoPE(row[:qd], 1, d.Heads, hd, pos, s.cos, s.sin, inverse)
		tensor.RoPE(row[qd:qd+kd], 1, d.KVHeads, hd, pos, s.cos, s.sin, inverse)
	}
}
