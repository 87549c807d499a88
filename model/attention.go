package model

import (
	"math"

	"lopper/internal/par"
	"lopper/model/tensor"
)

// Causal self-attention over fused qkv rows [B·T, (heads+2·kvheads)·hd]
// (q heads, then k heads, then v heads). Query head h reads key/value head
// h / (heads/kvheads), as Hugging Face's repeat_kv does.
//
// Each task gathers one head's q, k and v into contiguous per-worker
// scratch and runs the products as matrix multiplications over blocks of
// attnBlock query rows, each block only as wide as the keys it can see. The
// forward pass runs one task per (sequence, head); the backward pass one
// per (sequence, kv head), looping over that kv head's query heads in
// order. Every output is written by one task in a fixed order, so results
// are the same for any number of goroutines.

// attnBlock is the number of query rows per block.
const attnBlock = 64

// qkvGeom is the geometry of one block's fused qkv rows.
type qkvGeom struct {
	heads, kvHeads, hd, stride, kOff, vOff int
	scale                                  float32
}

func geomOf(d LayerDims, hd int) qkvGeom {
	q, kv := d.Heads*hd, d.KVHeads*hd
	return qkvGeom{
		heads: d.Heads, kvHeads: d.KVHeads, hd: hd,
		stride: q + 2*kv, kOff: q, vOff: q + kv,
		scale: float32(1 / math.Sqrt(float64(hd))),
	}
}

// attnScratch is one worker's scratch: seven [T, hd] panels and two
// [attnBlock, T] score blocks.
type attnScratch struct {
	q, k, v, y, dq, dk, dv, p, dp []float32
}

// attnWork holds per-worker scratch, grown on demand.
type attnWork struct{ ws []attnScratch }

func (a *attnWork) get(w, T, hd int) []attnScratch {
	if len(a.ws) < w || len(a.ws[0].q) < T*hd || len(a.ws[0].p) < attnBlock*T {
		a.ws = make([]attnScratch, w)
		for i := range a.ws {
			buf := make([]float32, 7*T*hd+2*attnBlock*T)
			take := func(n int) []float32 { s := buf[:n:n]; buf = buf[n:]; return s }
			a.ws[i] = attnScratch{
				q: take(T * hd), k: take(T * hd), v: take(T * hd), y: take(T * hd),
				dq: take(T * hd), dk: take(T * hd), dv: take(T * hd),
				p: take(attnBlock * T), dp: take(attnBlock * T),
			}
		}
	}
	return a.ws[:w]
}

// gather copies head column block col (hd wide) of sequence bi's T rows of
// qkv into dst [T, hd]; scatter is the reverse into a buffer of the given
// row stride.
func gather(dst, src []float32, bi, T, stride, col, hd int) {
	for i := 0; i < T; i++ {
		copy(dst[i*hd:(i+1)*hd], src[(bi*T+i)*stride+col:])
	}
}

func scatter(dst, src []float32, bi, T, stride, col, hd int) {
	for i := 0; i < T; i++ {
		copy(dst[(bi*T+i)*stride+col:][:hd], src[i*hd:(i+1)*hd])
	}
}

// attention computes y [B·T, heads·hd] from qkv for b sequences of T
// tokens, and stores the probabilities in att [b, heads, T, T] (row i
// holding its first i+1 entries) when att is not nil.
func attention(y, att, qkv []float32, g qkvGeom, b, T int, work *attnWork) {
	rep, hd := g.heads/g.kvHeads, g.hd
	n := b * g.heads
	w := par.Workers(n)
	ws := work.get(w, T, hd)
	par.ForWorker(n, w, func(wk, task int) {
		sc := &ws[wk]
		bi, h := task/g.heads, task%g.heads
		kvh := h / rep
		gather(sc.q, qkv, bi, T, g.stride, h*hd, hd)
		gather(sc.k, qkv, bi, T, g.stride, g.kOff+kvh*hd, hd)
		gather(sc.v, qkv, bi, T, g.stride, g.vOff+kvh*hd, hd)
		for i0 := 0; i0 < T; i0 += attnBlock {
			i1 := min(T, i0+attnBlock)
			m := i1 - i0
			p := sc.p[:m*i1]
			tensor.MatMulNT(p, sc.q[i0*hd:i1*hd], sc.k[:i1*hd], m, i1, hd, false)
			for r := 0; r < m; r++ {
				i := i0 + r
				row := p[r*i1 : (r+1)*i1]
				for j := 0; j <= i; j++ {
					row[j] *= g.scale
				}
				tensor.SoftmaxInPlace(row[:i+1])
				clear(row[i+1:])
				if att != nil {
					copy(att[(task*T+i)*T:][:i+1], row)
				}
			}
			tensor.MatMulNN(sc.y[i0*hd:i1*hd], p, sc.v[:i1*hd], m, hd, i1, false)
		}
		scatter(y, sc.y, bi, T, g.heads*hd, h*hd, hd)
	})
}

// attentionBackward overwrites dqkv (for b·T rows) with the gradient of
// attention given dy, the saved probabilities att and the forward qkv.
func attentionBackward(dqkv, dy, att, qkv []float32, g qkvGeom, b, T int, work *attnWork) {
	rep, hd := g.heads/g.kvHeads, g.hd
	n := b * g.kvHeads
	w := par.Workers(n)
	ws := work.get(w, T, hd)
	par.ForWorker(n, w, func(wk, task int) {
		sc := &ws[wk]
		bi, kvh := task/g.kvHeads, task%g.kvHeads
		gather(sc.k, qkv, bi, T, g.stride, g.kOff+kvh*hd, hd)
		gather(sc.v, qkv, bi, T, g.stride, g.vOff+kvh*hd, hd)
		clear(sc.dk[:T*hd])
		clear(sc.dv[:T*hd])
		for h := kvh * rep; h < (kvh+1)*rep; h++ {
			gather(sc.q, qkv, bi, T, g.stride, h*hd, hd)
			gather(sc.y, dy, bi, T, g.heads*hd, h*hd, hd) // y holds dy here
			for i0 := 0; i0 < T; i0 += attnBlock {
				i1 := min(T, i0+attnBlock)
				m := i1 - i0
				p, dp := sc.p[:m*i1], sc.dp[:m*i1]
				for r := 0; r < m; r++ {
					i := i0 + r
					row := p[r*i1 : (r+1)*i1]
					copy(row, att[((bi*g.heads+h)*T+i)*T:][:i+1])
					clear(row[i+1:])
				}
				dyb := sc.y[i0*hd : i1*hd]
				tensor.MatMulNT(dp, dyb, sc.v[:i1*hd], m, i1, hd, false)
				tensor.MatMulTN(sc.dv[:i1*hd], p, dyb, i1, hd, m, true)
				for r := 0; r < m; r++ {
					i := i0 + r
					pr, dr := p[r*i1:r*i1+i+1], dp[r*i1:(r+1)*i1]
					var dot float32
					for j, pj := range pr {
						dot += pj * dr[j]
					}
					for j, pj := range pr {
						dr[j] = pj * (dr[j] - dot) * g.scale
					}
					clear(dr[i+1:])
				}
				tensor.MatMulNN(sc.dq[i0*hd:i1*hd], dp, sc.k[:i1*hd], m, hd, i1, false)
				tensor.MatMulTN(sc.dk[:i1*hd], dp, sc.q[i0*hd:i1*hd], i1, hd, m, true)
			}
			scatter(dqkv, sc.dq, bi, T, g.stride, h*hd, hd)
		}
		scatter(dqkv, sc.dk, bi, T, g.stride, g.kOff+kvh*hd, hd)
		scatter(dqkv, sc.dv, bi, T, g.stride, g.vOff+kvh*hd, hd)
	})
}
