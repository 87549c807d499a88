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
	MaskedAttention(y, q, k, v, p, T, hd, scale, AttnOptions{})
}

// CausalAttentionBackward adds (+=) to dq, dk and dv the gradients of
// CausalAttention given dy, the forward's q, k, v and p. ds is T×T scratch.
// Heads that share K and V (grouped-query attention) accumulate into the
// same dk, dv in the order the caller runs them.
func CausalAttentionBackward(dq, dk, dv, dy, q, k, v Mat, p, ds []float32, T, hd int, scale float32) {
	MaskedAttentionBackward(dq, dk, dv, dy, q, k, v, p, ds, nil, T, hd, scale, AttnOptions{})
}
