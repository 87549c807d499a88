package tensor

// Mat is a row-major matrix view: row i starts at Data[i*Stride]. It lets a
// kernel address one attention head's columns of a fused QKV activation.
type Mat struct {
	Data   []float32
	Stride int
}

// row returns the first n elements of row i.
func (a Mat) row(i, n int) []float32 { return a.Data[i*a.Stride : i*a.Stride+n] }

// off returns the view starting at row i.
func (a Mat) off(i int) []float32 { return a.Data[i*a.Stride:] }

// AttentionBlock is the number of query rows per block of CausalAttention:
// a block's keys stop at its last query, which skips most of the masked
// half. Sequences longer than one block take the blocked paths.
const AttentionBlock = 64

// CausalAttention computes one head's causal self-attention over T
// positions: P = softmax(scale·Q·Kᵀ) over keys j ≤ i for query i (P[i][j] =
// 0 for j > i), and Y = P·V. q, k, v and y are T×hd views; p, dense T×T,
// receives P for the backward pass. The scores and outputs are matrix
// products, so this is many times faster than per-row dot products.
func CausalAttention(y, q, k, v Mat, p []float32, T, hd int, scale float32) {
	p = p[:T*T]
	for i0 := 0; i0 < T; i0 += AttentionBlock {
		i1 := min(T, i0+AttentionBlock)
		// Scores of queries [i0, i1) against keys [0, i1).
		MatMulNTStrided(p[i0*T:], T, q.off(i0), q.Stride, k.Data, k.Stride, i1-i0, i1, hd, false)
		for i := i0; i < i1; i++ {
			row := p[i*T : i*T+T]
			Scale(row[:i+1], scale)
			SoftmaxInPlace(row[:i+1])
			clear(row[i+1:])
		}
		MatMulNNStrided(y.off(i0), y.Stride, p[i0*T:], T, v.Data, v.Stride, i1-i0, hd, i1, false)
	}
}

// CausalAttentionBackward adds (+=) to dq, dk and dv the gradients of
// CausalAttention given dy, the forward's q, k, v and p. ds is T×T scratch.
// Heads that share K and V (grouped-query attention) accumulate into the
// same dk, dv in the order the caller runs them.
func CausalAttentionBackward(dq, dk, dv, dy, q, k, v Mat, p, ds []float32, T, hd int, scale float32) {
	p, ds = p[:T*T], ds[:T*T]
	// dV += Pᵀ·dY and dP = dY·Vᵀ, both over the causal part only: row i
	// of P and dP is zero past column i. Blocks of queries (dP, dQ) stop at
	// their last key; blocks of keys (dV, dK) start at their first query.
	for i0 := 0; i0 < T; i0 += AttentionBlock {
		i1 := min(T, i0+AttentionBlock)
		MatMulNTStrided(ds[i0*T:], T, dy.off(i0), dy.Stride, v.Data, v.Stride, i1-i0, i1, hd, false)
	}
	for j0 := 0; j0 < T; j0 += AttentionBlock {
		// Keys [j0, j1) are attended by queries [j0, T) only.
		j1 := min(T, j0+AttentionBlock)
		MatMulTNStrided(dv.off(j0), dv.Stride, p[j0*T+j0:], T, dy.off(j0), dy.Stride, j1-j0, hd, T-j0, true)
	}
	// dS = P ⊙ (dP - rowsum(P ⊙ dP)) · scale.
	for i := 0; i < T; i++ {
		pr, dr := p[i*T:i*T+i+1], ds[i*T:i*T+T]
		dot := Dot(pr, dr[:i+1])
		for j, pj := range pr {
			dr[j] = pj * (dr[j] - dot) * scale
		}
		clear(dr[i+1:])
	}
	// dQ += dS·K over each block's keys; dK += dSᵀ·Q.
	for i0 := 0; i0 < T; i0 += AttentionBlock {
		i1 := min(T, i0+AttentionBlock)
		MatMulNNStrided(dq.off(i0), dq.Stride, ds[i0*T:], T, k.Data, k.Stride, i1-i0, hd, i1, true)
	}
	for j0 := 0; j0 < T; j0 += AttentionBlock {
		j1 := min(T, j0+AttentionBlock)
		MatMulTNStrided(dk.off(j0), dk.Stride, ds[j0*T+j0:], T, q.off(j0), q.Stride, j1-j0, hd, T-j0, true)
	}
}
