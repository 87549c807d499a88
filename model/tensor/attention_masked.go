package tensor

// AttnOptions shape one head's causal attention beyond the plain causal
// mask.
type AttnOptions struct {
	// Window, when positive, lets query i see keys i−Window+1 … i only
	// (Hugging Face's sliding_window_overlay: key j is visible when
	// j > i − Window); 0 means every key up to i.
	Window int
	// Softcap, when positive, replaces each scaled score s by
	// Softcap·tanh(s/Softcap) before the mask and the softmax (Gemma 2's
	// attn_logit_softcapping).
	Softcap float32
}

// first returns the first key query i sees.
func (o AttnOptions) first(i int) int {
	if o.Window > 0 && i-o.Window+1 > 0 {
		return i - o.Window + 1
	}
	return 0
}

// last returns one past the last query that sees a key below j (T when
// there is no window).
func (o AttnOptions) last(j, T int) int {
	if o.Window > 0 {
		return min(T, j+o.Window-1)
	}
	return T
}

// MaskedAttention is CausalAttention under o: P = softmax(cap(scale·Q·Kᵀ))
// over the keys query i sees (P is zero elsewhere), Y = P·V. Blocks of
// queries compute only the scores of the keys some query of the block
// sees.
func MaskedAttention(y, q, k, v Mat, p []float32, T, hd int, scale float32, o AttnOptions) {
	p = p[:T*T]
	for i0 := 0; i0 < T; i0 += AttentionBlock {
		i1 := min(T, i0+AttentionBlock)
		k0 := o.first(i0)
		// Scores of queries [i0, i1) against keys [k0, i1).
		MatMulNTStrided(p[i0*T+k0:], T, q.off(i0), q.Stride, k.off(k0), k.Stride, i1-i0, i1-k0, hd, false)
		for i := i0; i < i1; i++ {
			row, lo := p[i*T:i*T+T], o.first(i)
			vis := row[lo : i+1]
			Scale(vis, scale)
			if o.Softcap > 0 {
				softcap(vis, o.Softcap)
			}
			SoftmaxInPlace(vis)
			clear(row[:lo])
			clear(row[i+1:])
		}
		MatMulNNStrided(y.off(i0), y.Stride, p[i0*T+k0:], T, v.off(k0), v.Stride, i1-i0, hd, i1-k0, false)
	}
}

// softcap replaces each x by c·tanh(x/c).
func softcap(x []float32, c float32) {
	for j, s := range x {
		x[j] = c * tanhf(s/c)
	}
}

// MaskedAttentionBackward is CausalAttentionBackward for MaskedAttention
// under the same o. With a Softcap, sc is scratch of at least
// min(T, AttentionBlock)·T values (the scores are recomputed there, a
// block of queries at a time); it may be nil otherwise.
func MaskedAttentionBackward(dq, dk, dv, dy, q, k, v Mat, p, ds, sc []float32, T, hd int, scale float32, o AttnOptions) {
	p, ds = p[:T*T], ds[:T*T]
	// dV += Pᵀ·dY and dP = dY·Vᵀ over the visible part only. Blocks of
	// queries (dP, dQ) span the keys their queries see; blocks of keys
	// (dV, dK) the queries that see them.
	for i0 := 0; i0 < T; i0 += AttentionBlock {
		i1 := min(T, i0+AttentionBlock)
		k0 := o.first(i0)
		MatMulNTStrided(ds[i0*T+k0:], T, dy.off(i0), dy.Stride, v.off(k0), v.Stride, i1-i0, i1-k0, hd, false)
		if o.Softcap > 0 {
			// The capped scores' derivative 1 − tanh²(s/c), from s
			// recomputed for this block of queries.
			s := sc[:(i1-i0)*T]
			MatMulNTStrided(s[k0:], T, q.off(i0), q.Stride, k.off(k0), k.Stride, i1-i0, i1-k0, hd, false)
			for i := i0; i < i1; i++ {
				srow := s[(i-i0)*T : (i-i0)*T+T]
				for j := o.first(i); j <= i; j++ {
					t := tanhf(srow[j] * scale / o.Softcap)
					srow[j] = 1 - t*t
				}
			}
			softmaxGrad(p, ds, s, i0, i1, T, scale, o)
			continue
		}
		softmaxGrad(p, ds, nil, i0, i1, T, scale, o)
	}
	for j0 := 0; j0 < T; j0 += AttentionBlock {
		// Keys [j0, j1) are seen by queries [j0, last) only.
		j1 := min(T, j0+AttentionBlock)
		last := o.last(j1, T)
		MatMulTNStrided(dv.off(j0), dv.Stride, p[j0*T+j0:], T, dy.off(j0), dy.Stride, j1-j0, hd, last-j0, true)
	}
	// dQ += dS·K over each block's keys; dK += dSᵀ·Q.
	for i0 := 0; i0 < T; i0 += AttentionBlock {
		i1 := min(T, i0+AttentionBlock)
		k0 := o.first(i0)
		MatMulNNStrided(dq.off(i0), dq.Stride, ds[i0*T+k0:], T, k.off(k0), k.Stride, i1-i0, hd, i1-k0, true)
	}
	for j0 := 0; j0 < T; j0 += AttentionBlock {
		j1 := min(T, j0+AttentionBlock)
		last := o.last(j1, T)
		MatMulTNStrided(dk.off(j0), dk.Stride, ds[j0*T+j0:], T, q.off(j0), q.Stride, j1-j0, hd, last-j0, true)
	}
}

// softmaxGrad turns rows [i0, i1) of ds from dP into dS = P ⊙ (dP −
// rowsum(P ⊙ dP)) · scale (times the softcap derivative in dcap, rows
// from i0, when not nil), zero outside the keys each query sees.
func softmaxGrad(p, ds, dcap []float32, i0, i1, T int, scale float32, o AttnOptions) {
	for i := i0; i < i1; i++ {
		lo := o.first(i)
		pr, dr := p[i*T+lo:i*T+i+1], ds[i*T:i*T+T]
		dot := Dot(pr, dr[lo:i+1])
		for j, pj := range pr {
			dr[lo+j] = pj * (dr[lo+j] - dot) * scale
		}
		if dcap != nil {
			for j, f := range dcap[(i-i0)*T+lo : (i-i0)*T+i+1] {
				dr[lo+j] *= f
			}
		}
		clear(dr[:lo])
		clear(dr[i+1:])
	}
}
