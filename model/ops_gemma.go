package model

import (
	"math"

	"lopper/internal/par"
	"lopper/model/tensor"
)

// The Gemma families' ops (config_gemma.go): (1 + w) norms, the scaled
// embedding, GeGLU, post-norms around the residual adds and logit
// softcapping. Each is a no-op, or the plain op, for the other families.

// offsetWeight returns the weight a norm multiplies by: w, or (1 + w) in
// float32 written into buf for a Gemma model (GemmaRMSNorm).
func (s *State) offsetWeight(w, buf []float32) []float32 {
	if !s.m.Config.NormOffset || w == nil {
		return w
	}
	buf = buf[:len(w)]
	for i, v := range w {
		buf[i] = 1 + v
	}
	return buf
}

// embedScale is the factor of the token embeddings: √Hidden rounded to
// the embedding's dtype (Gemma: the scale is a tensor of the embedding's
// dtype), else 1.
func embedScale(m *Model) float32 {
	if !m.Config.EmbedScale {
		return 1
	}
	f := float32(math.Sqrt(float64(m.Config.Hidden)))
	emb, _ := m.Layout.Find(-1, RoleEmbed)
	switch emb.DType {
	case BF16:
		return bf16ToF32(f32ToBF16(f))
	case F16:
		return f16ToF32(f32ToF16(f))
	}
	return f
}

// gegluRows computes act = gelu(gate)·up (GemmaMLP) for rows [r0, r1) of
// the stacked [gate | up] rows of fc.
func (s *State) gegluRows(act, fc []float32, inter, r0, r1 int) {
	for r := r0; r < r1; r++ {
		f, a := fc[2*r*inter:2*(r+1)*inter], act[r*inter:(r+1)*inter]
		if s.m.Config.Act == GELU {
			tensor.GELU(a, f[:inter])
		} else {
			tensor.GELUTanh(a, f[:inter])
		}
		for i, u := range f[inter:] {
			a[i] *= u
		}
	}
}

// gegluBackwardRows overwrites the [dgate | dup] rows of dfc given dact.
func (s *State) gegluBackwardRows(dfc, dact, fc []float32, inter, r0, r1 int) {
	for r := r0; r < r1; r++ {
		f, d, da := fc[2*r*inter:2*(r+1)*inter], dfc[2*r*inter:2*(r+1)*inter], dact[r*inter:(r+1)*inter]
		gate, up, dg, du := f[:inter], f[inter:], d[:inter], d[inter:]
		for i, u := range up {
			du[i] = da[i] * u
		}
		if s.m.Config.Act == GELU {
			tensor.GELUBackward(dg, du, gate)
			tensor.GELU(du, gate)
		} else {
			tensor.GELUTanhBackward(dg, du, gate)
			tensor.GELUTanh(du, gate)
		}
		for i, g := range da {
			du[i] *= g
		}
	}
}

// residual writes dst = res + proj(x) for n rows (proj: the linear layer
// w, b from in to H columns), or dst = res + norm(proj(x)) when post (a
// Gemma 2/3 post-norm weight) is present; proj(x) then goes to tmp and the
// norm's statistics to pn. dst may alias res.
func (s *State) residual(dst, res, x, w, b, post []float32, pn *normActs, tmp []float32, n, H, in int) {
	if post == nil {
		copy(dst[:n*H], res[:n*H])
		linear(dst, x, w, b, n, H, in, true)
		return
	}
	linear(tmp, x, w, b, n, H, in, false)
	s.norm(pn, tmp, post, nil, n)
	copy(dst[:n*H], res[:n*H])
	tensor.AddInPlace(dst[:n*H], pn.out[:n*H])
}

// residualBackward takes dres = ∂L/∂dst of residual to the gradient of
// the projection's output: dres itself, or (post-norm) the norm's input
// gradient in dpost. The residual branch's gradient is dres, unchanged.
func (s *State) residualBackward(dres, dpost, gpost, post []float32, pn *normActs, tmp []float32, n, H int) []float32 {
	if post == nil {
		return dres
	}
	clear(dpost[:n*H])
	s.normBackward(dpost, gpost, nil, dres, tmp, post, pn, n)
	return dpost
}

// softcapRows caps n rows of x (width w) to c·tanh(x/c) in place.
func softcapRows(x []float32, c float64, n, w int) {
	cf := float32(c)
	capRows := func(r0, r1 int) {
		for i := r0 * w; i < r1*w; i++ {
			x[i] = cf * float32(math.Tanh(float64(x[i]/cf)))
		}
	}
	if serialRows(n, w) {
		capRows(0, n)
		return
	}
	par.Chunks(n, rowChunk, capRows)
}

// softcapBackward writes into dx the gradient through c·tanh(x/c) given
// the capped values y and their gradient dy: dy · (1 − (y/c)²).
func softcapBackward(dx, dy, y []float32, c float64) {
	cf := float32(c)
	for i, v := range y {
		t := v / cf
		dx[i] = dy[i] * (1 - t*t)
	}
}
