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
// dX = dY·W. dw and db may be nil (frozen: not computed); db is reduced
// over rows in row order.
func linearBackward(dx, dw, db, dy, x, w []float32, n, out, in int) {
	if dw != nil {
		tensor.MatMulTN(dw, dy[:n*out], x[:n*in], out, in, n, true)
	}
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
	w = s.offsetWeight(w, s.nw)
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
	w = s.offsetWeight(w, s.nw)
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
	if s.m.Config.Arch == Llama && s.m.Config.Act != SiLU {
		s.gegluRows(act, fc, inter, r0, r1)
		return
	}
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
	if s.m.Config.Arch == Llama && s.m.Config.Act != SiLU {
		s.gegluBackwardRows(dfc, dact, fc, inter, r0, r1)
		return
	}
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

// ropeForward rotates the q and k parts of n fused qkv rows of block r
// (Llama) for sequences of T positions, after normalizing them per head
// when the model has q/k norms (Qwen3), whose inputs and statistics it
// saves in a.
func (s *State) ropeForward(a *blockActs, r *blockRefs, l, n, T int) {
	rt := s.ropeTablesFor(l, T)
	if rt == nil && !s.m.Config.QKNorm {
		return // a NoPE layer without q/k norms: nothing to do
	}
	wq, wk := s.offsetWeight(r.qn.of(s.m.W), s.nq), s.offsetWeight(r.kn.of(s.m.W), s.nk)
	if serialRows(n, (r.d.Heads+r.d.KVHeads)*s.m.Config.HeadDim) {
		s.ropeForwardRows(a, r, rt, wq, wk, T, 0, n)
		return
	}
	par.Chunks(n, rowChunk, func(r0, r1 int) { s.ropeForwardRows(a, r, rt, wq, wk, T, r0, r1) })
}

// qkNormGroups is how many rows the q and k norms of a row of a block with
// dims d normalize: one per head, or one each (OLMo 2).
func qkNormGroups(c *Config, d LayerDims) (q, k int) {
	if c.QKNormWide {
		return 1, 1
	}
	return d.Heads, d.KVHeads
}

// ropeTablesFor returns block l's cos and sin tables, filled for a pass
// over T positions: Gemma 3's sliding layers have their own, and a NoPE
// layer (SmolLM3) has none (nil).
func (s *State) ropeTablesFor(l, T int) *ropeTables {
	if s.m.Config.noRoPE(l) {
		return nil
	}
	if s.m.Config.RopeLocalTheta > 0 && s.m.Config.Sliding(l) {
		s.rotLocal.use(&s.local, T)
		return &s.rotLocal
	}
	s.rot.use(&s.m.Config, T)
	return &s.rot
}

// ropeForwardRows normalizes (weights wq, wk) and rotates rows [r0, r1).
func (s *State) ropeForwardRows(a *blockActs, r *blockRefs, rt *ropeTables, wq, wk []float32, T, r0, r1 int) {
	c, d := &s.m.Config, r.d
	hd, rot := c.HeadDim, c.rotaryDim()
	qd, kd, nh := d.Heads*hd, d.KVHeads*hd, d.Heads+d.KVHeads
	stride := qd + 2*kd
	for i := r0; i < r1; i++ {
		row := a.qkv[i*stride : (i+1)*stride]
		if c.QKNorm {
			raw, rstd := a.qkRaw[i*(qd+kd):(i+1)*(qd+kd)], a.qkRstd[i*nh:(i+1)*nh]
			copy(raw, row[:qd+kd])
			eps := float32(c.NormEps)
			qg, kg := qkNormGroups(c, d)
			tensor.RMSNorm(row[:qd], rstd[:qg], raw[:qd], wq, qg, qd/qg, eps)
			tensor.RMSNorm(row[qd:qd+kd], rstd[qg:qg+kg], raw[qd:], wk, kg, kd/kg, eps)
		}
		if rt == nil {
			continue // a NoPE layer
		}
		pos := i % T
		tensor.RoPE(row[:qd], 1, d.Heads, hd, rot, pos, rt.cos, rt.sin, false)
		tensor.RoPE(row[qd:qd+kd], 1, d.KVHeads, hd, rot, pos, rt.cos, rt.sin, false)
	}
}

// ropeBackward takes the gradient of n fused qkv rows of block r from
// after RoPE (and the q/k norms) to before, accumulating the norms' weight
// gradients into gq and gk in row order. It uses the tables of the forward pass.
func (s *State) ropeBackward(dqkv []float32, a *blockActs, r *blockRefs, gq, gk []float32, l, n, T int) {
	c, d := &s.m.Config, r.d
	hd := c.HeadDim
	switch rt := s.ropeTablesFor(l, T); {
	case rt == nil: // a NoPE layer
	case serialRows(n, (d.Heads+d.KVHeads)*hd):
		s.ropeInverseRows(dqkv, d, rt, T, 0, n)
	default:
		par.Chunks(n, rowChunk, func(r0, r1 int) { s.ropeInverseRows(dqkv, d, rt, T, r0, r1) })
	}
	if !c.QKNorm {
		return
	}
	qd, kd, nh := d.Heads*hd, d.KVHeads*hd, d.Heads+d.KVHeads
	stride := qd + 2*kd
	dout := s.grad.dqk[:qd+kd]
	wq, wk := s.offsetWeight(r.qn.of(s.m.W), s.nq), s.offsetWeight(r.kn.of(s.m.W), s.nk)
	for i := 0; i < n; i++ {
		row := dqkv[i*stride : i*stride+qd+kd]
		raw, rstd := a.qkRaw[i*(qd+kd):(i+1)*(qd+kd)], a.qkRstd[i*nh:(i+1)*nh]
		copy(dout, row)
		clear(row)
		qg, kg := qkNormGroups(c, d)
		tensor.RMSNormBackward(row[:qd], gq, dout[:qd], raw[:qd], wq, rstd[:qg], qg, qd/qg)
		tensor.RMSNormBackward(row[qd:], gk, dout[qd:], raw[qd:], wk, rstd[qg:qg+kg], kg, kd/kg)
	}
}

func (s *State) ropeInverseRows(dqkv []float32, d LayerDims, rt *ropeTables, T, r0, r1 int) {
	hd, rot := s.m.Config.HeadDim, s.m.Config.rotaryDim()
	qd, kd := d.Heads*hd, d.KVHeads*hd
	stride := qd + 2*kd
	for i := r0; i < r1; i++ {
		row := dqkv[i*stride : (i+1)*stride]
		pos := i % T
		tensor.RoPE(row[:qd], 1, d.Heads, hd, rot, pos, rt.cos, rt.sin, true)
		tensor.RoPE(row[qd:qd+kd], 1, d.KVHeads, hd, rot, pos, rt.cos, rt.sin, true)
	}
}
