package model

import (
	"lopper/internal/par"
	"lopper/model/tensor"
)

// Bidirectional attention of the encoders over fused qkv rows [B·T,
// 3·heads·hd] (q heads, then k heads, then v heads), with the padded keys
// of each sequence masked (tensor.MaskedAttention). One task per
// (sequence, head), forward and backward: each writes only its head's
// columns, so results are the same for any number of goroutines.

// maskedAttention computes y [b·T, heads·hd] from qkv for b sequences of
// T tokens under the attention mask [b·T], one task per (sequence, head),
// storing the probabilities in att [b, heads, T, T] when it is not nil.
func maskedAttention(y, att, qkv []float32, mask []int32, g qkvGeom, b, T int, work *attnWork) {
	n := b * g.heads
	w := attnWorkers(n, n, T, g.hd)
	var ws [][]float32
	if att == nil {
		ws = work.get(w, T)
	}
	if w == 1 {
		for t := range n {
			maskedAttentionTask(y, att, qkv, mask, g, T, t, ws, 0)
		}
		return
	}
	par.ForWorker(n, w, func(wk, t int) { maskedAttentionTask(y, att, qkv, mask, g, T, t, ws, wk) })
}

// maskedAttentionTask is head t%heads of sequence t/heads.
func maskedAttentionTask(y, att, qkv []float32, mask []int32, g qkvGeom, T, t int, ws [][]float32, wk int) {
	bi, h := t/g.heads, t%g.heads
	q, k, v := g.views(qkv, bi, T, h)
	var p []float32
	if att != nil {
		p = att[t*T*T : (t+1)*T*T]
	} else {
		p = ws[wk]
	}
	tensor.MaskedAttention(g.headOut(y, bi, T, h), q, k, v, p, mask[bi*T:], T, g.hd, g.scale)
}

// maskedAttentionBackward overwrites dqkv (for b·T rows) with the gradient
// of maskedAttention given dy and the saved probabilities, one task per
// (sequence, head).
func maskedAttentionBackward(dqkv, dy, att, qkv []float32, g qkvGeom, b, T int, work *attnWork) {
	n := b * g.heads
	w := attnWorkers(n, n, T, g.hd)
	ws := work.get(w, T)
	if w == 1 {
		for t := range n {
			maskedAttentionBackwardTask(dqkv, dy, att, qkv, g, T, t, ws[0])
		}
		return
	}
	par.ForWorker(n, w, func(wk, t int) { maskedAttentionBackwardTask(dqkv, dy, att, qkv, g, T, t, ws[wk]) })
}

// maskedAttentionBackwardTask is head t%heads of sequence t/heads; ds is
// T×T scratch.
func maskedAttentionBackwardTask(dqkv, dy, att, qkv []float32, g qkvGeom, T, t int, ds []float32) {
	bi, h := t/g.heads, t%g.heads
	q, k, v := g.views(qkv, bi, T, h)
	dq, dk, dv := g.views(dqkv, bi, T, h)
	clearCols(dq, T, g.hd)
	clearCols(dk, T, g.hd)
	clearCols(dv, T, g.hd)
	tensor.MaskedAttentionBackward(dq, dk, dv, g.headOut(dy, bi, T, h), q, k, v, att[t*T*T:(t+1)*T*T], ds, T, g.hd, g.scale)
}
