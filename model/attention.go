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
// tensor.CausalAttention and CausalAttentionBackward address each head's
// columns of qkv, y, dy and dqkv in place through strided views (no copies)
// and run the scores and outputs as matrix products over blocks of query
// rows. The forward pass runs one task per (sequence, head); the backward
// pass one per (sequence, kv head), looping over that kv head's query heads
// in order, so that the heads sharing a kv head add into its dK and dV in a
// fixed order. Every output is written by one task, so results are the
// same for any number of goroutines.

// attnBlock is the number of query rows per block of the attention
// products (tests use it to cross block boundaries).
const attnBlock = tensor.AttentionBlock

// qkvGeom is the geometry of one block's fused qkv rows.
type qkvGeom struct {
	heads, kvHeads, hd, stride, kOff, vOff int
	scale                                  float32
	opts                                   tensor.AttnOptions // window, softcap
}

func geomOf(d LayerDims, hd int) qkvGeom {
	q, kv := d.Heads*hd, d.KVHeads*hd
	return qkvGeom{
		heads: d.Heads, kvHeads: d.KVHeads, hd: hd,
		stride: q + 2*kv, kOff: q, vOff: q + kv,
		scale: float32(1 / math.Sqrt(float64(hd))),
	}
}

// layerGeom is the geometry of block l, whose dims are d: geomOf, the
// layer's sliding window, and Gemma's score scale and softcap.
func (c *Config) layerGeom(l int, d LayerDims) qkvGeom {
	g := geomOf(d, c.HeadDim)
	if c.Sliding(l) {
		g.opts.Window = c.SlidingWindow
	}
	if c.QueryScale > 0 {
		g.scale = float32(1 / math.Sqrt(c.QueryScale))
	}
	g.opts.Softcap = float32(c.AttnSoftcap)
	return g
}

// views returns the strided views of query head h and its kv head in
// sequence bi of qkv (or of its gradient dqkv, laid out the same way).
func (g qkvGeom) views(qkv []float32, bi, T, h int) (q, k, v tensor.Mat) {
	base := qkv[bi*T*g.stride:]
	kvh := h / (g.heads / g.kvHeads)
	return tensor.Mat{Data: base[h*g.hd:], Stride: g.stride},
		tensor.Mat{Data: base[g.kOff+kvh*g.hd:], Stride: g.stride},
		tensor.Mat{Data: base[g.vOff+kvh*g.hd:], Stride: g.stride}
}

// headOut returns the view of head h of sequence bi in y [B·T, heads·hd].
func (g qkvGeom) headOut(y []float32, bi, T, h int) tensor.Mat {
	w := g.heads * g.hd
	return tensor.Mat{Data: y[bi*T*w+h*g.hd:], Stride: w}
}

// attnWork holds one scratch buffer per worker: T×T for the
// probabilities of an inference pass, or dS in the backward pass, plus
// the recomputed scores of a block of queries when the scores are capped.
// It grows on demand.
type attnWork struct{ ws [][]float32 }

// get returns w buffers of T·T + extra values each.
func (a *attnWork) get(w, T, extra int) [][]float32 {
	if len(a.ws) < w || len(a.ws[0]) < T*T+extra {
		a.ws = make([][]float32, w)
		for i := range a.ws {
			a.ws[i] = make([]float32, T*T+extra)
		}
	}
	return a.ws[:w]
}

// capScratch is the extra scratch a backward task needs: the scores of a
// block of queries when they are capped.
func (g qkvGeom) capScratch(T int) int {
	if g.opts.Softcap > 0 {
		return min(T, attnBlock) * T
	}
	return 0
}

// attnSerialFlops is the work (multiply-adds of one pass) below which the
// attention tasks run on the calling goroutine: handing them to other
// goroutines would cost more than it saves.
const attnSerialFlops = 1 << 18

// attnWorkers returns how many goroutines should run tasks attention
// tasks that cover heads query heads over T positions of dimension hd.
func attnWorkers(tasks, heads, T, hd int) int {
	if heads*T*T*hd < attnSerialFlops {
		return 1
	}
	return par.Workers(tasks)
}

// attention computes y [b·T, heads·hd] from qkv for b sequences of T
// tokens, and stores the probabilities in att [b, heads, T, T] (zero above
// the diagonal) when att is not nil.
func attention(y, att, qkv []float32, g qkvGeom, b, T int, work *attnWork) {
	n := b * g.heads
	w := attnWorkers(n, n, T, g.hd)
	var ws [][]float32
	if att == nil {
		ws = work.get(w, T, 0)
	}
	if w == 1 {
		for task := range n {
			attentionTask(y, att, qkv, g, T, task, ws, 0)
		}
		return
	}
	par.ForWorker(n, w, func(wk, task int) { attentionTask(y, att, qkv, g, T, task, ws, wk) })
}

// attentionTask is head task%heads of sequence task/heads.
func attentionTask(y, att, qkv []float32, g qkvGeom, T, task int, ws [][]float32, wk int) {
	bi, h := task/g.heads, task%g.heads
	q, k, v := g.views(qkv, bi, T, h)
	var p []float32
	if att != nil {
		p = att[task*T*T : (task+1)*T*T]
	} else {
		p = ws[wk]
	}
	tensor.MaskedAttention(g.headOut(y, bi, T, h), q, k, v, p, T, g.hd, g.scale, g.opts)
}

// attentionBackward overwrites dqkv (for b·T rows) with the gradient of
// attention given dy, the saved probabilities att and the forward qkv.
func attentionBackward(dqkv, dy, att, qkv []float32, g qkvGeom, b, T int, work *attnWork) {
	n := b * g.kvHeads
	w := attnWorkers(n, b*g.heads, T, g.hd)
	ws := work.get(w, T, g.capScratch(T))
	if w == 1 {
		for task := range n {
			attentionBackwardTask(dqkv, dy, att, qkv, g, T, task, ws[0])
		}
		return
	}
	par.ForWorker(n, w, func(wk, task int) { attentionBackwardTask(dqkv, dy, att, qkv, g, T, task, ws[wk]) })
}

// attentionBackwardTask is kv head task%kvHeads of sequence task/kvHeads
// and the query heads that read it, in order; ds is T×T scratch (plus
// capScratch).
func attentionBackwardTask(dqkv, dy, att, qkv []float32, g qkvGeom, T, task int, ds []float32) {
	bi, kvh := task/g.kvHeads, task%g.kvHeads
	rep := g.heads / g.kvHeads
	h0 := kvh * rep
	_, dk, dv := g.views(dqkv, bi, T, h0)
	clearCols(dk, T, g.hd)
	clearCols(dv, T, g.hd)
	for h := h0; h < h0+rep; h++ {
		q, k, v := g.views(qkv, bi, T, h)
		dq, _, _ := g.views(dqkv, bi, T, h)
		clearCols(dq, T, g.hd)
		p := att[(bi*g.heads+h)*T*T:][:T*T]
		tensor.MaskedAttentionBackward(dq, dk, dv, g.headOut(dy, bi, T, h), q, k, v, p, ds[:T*T], ds[T*T:], T, g.hd, g.scale, g.opts)
	}
}

// clearCols zeroes the first cols columns of rows rows of m.
func clearCols(m tensor.Mat, rows, cols int) {
	for i := range rows {
		clear(m.Data[i*m.Stride : i*m.Stride+cols])
	}
}
