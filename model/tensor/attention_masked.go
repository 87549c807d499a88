package tensor

import "math"

// MaskedAttention computes one head's bidirectional (encoder)
// self-attention over T positions under a key padding mask: P =
// softmax(scale·Q·Kᵀ + M) with M[j] = finfo(float32).min where mask[j] ==
// 0 (the additive mask of BERT's get_extended_attention_mask), and Y =
// P·V. Masked keys get probability exactly 0; at least one key must be
// unmasked. q, k, v and y are T×hd views; p, dense T×T, receives P for the
// backward pass.
func MaskedAttention(y, q, k, v Mat, p []float32, mask []int32, T, hd int, scale float32) {
	p, mask = p[:T*T], mask[:T]
	MatMulNTStrided(p, T, q.Data, q.Stride, k.Data, k.Stride, T, T, hd, false)
	for i := 0; i < T; i++ {
		row := p[i*T : i*T+T]
		Scale(row, scale)
		for j, m := range mask {
			if m == 0 {
				row[j] = -math.MaxFloat32
			}
		}
		SoftmaxInPlace(row)
		for j, m := range mask {
			if m == 0 {
				row[j] = 0
			}
		}
	}
	MatMulNNStrided(y.Data, y.Stride, p, T, v.Data, v.Stride, T, hd, T, false)
}

// MaskedAttentionBackward adds (+=) to dq, dk and dv the gradients of
// MaskedAttention given dy, the forward's q, k, v and p. ds is T×T
// scratch. Masked keys (P = 0) get no gradient.
func MaskedAttentionBackward(dq, dk, dv, dy, q, k, v Mat, p, ds []float32, T, hd int, scale float32) {
	p, ds = p[:T*T], ds[:T*T]
	// dV += Pᵀ·dY; dP = dY·Vᵀ.
	MatMulTNStrided(dv.Data, dv.Stride, p, T, dy.Data, dy.Stride, T, hd, T, true)
	MatMulNTStrided(ds, T, dy.Data, dy.Stride, v.Data, v.Stride, T, T, hd, false)
	// dS = P ⊙ (dP − rowsum(P ⊙ dP)) · scale.
	for i := 0; i < T; i++ {
		pr, dr := p[i*T:i*T+T], ds[i*T:i*T+T]
		dot := Dot(pr, dr)
		for j, pj := range pr {
			dr[j] = pj * (dr[j] - dot) * scale
		}
	}
	// dQ += dS·K; dK += dSᵀ·Q.
	MatMulNNStrided(dq.Data, dq.Stride, ds, T, k.Data, k.Stride, T, hd, T, true)
	MatMulTNStrided(dk.Data, dk.Stride, ds, T, q.Data, q.Stride, T, hd, T, true)
}
