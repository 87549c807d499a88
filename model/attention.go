package model

import (
	"math"

	"lopper/model/tensor"
)

// Causal self-attention over fused qkv rows [B·T, (heads+2·kvheads)·hd]
// (q heads, then k heads, then v heads). Query head h reads key/value head
// h / (heads/kvheads), as Hugging Face's repeat_kv does. The forward pass
// runs one task per (sequence, head) and the backward pass one per
// (sequence, kv head), looping over that kv head's query heads in order, so
// every output is written by one task in a fixed order: results are the
// same for any number of goroutines.

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

// attention computes y [B·T, heads·hd] from qkv for b sequences of T
// tokens. att receives the probabilities [b, heads, T, T] when non-nil;
// otherwise rows go through scratch (b·heads·T floats).
func attention(y, att, scratch, qkv []float32, g qkvGeom, b, T int) {
	rep := g.heads / g.kvHeads
	yw := g.heads * g.hd
	parallel(b*g.heads, func(task int) {
		bi, h := task/g.heads, task%g.heads
		kvh := h / rep
		for i := 0; i < T; i++ {
			var p []float32
			if att != nil {
				p = att[(task*T+i)*T:][:i+1]
			} else {
				p = scratch[task*T:][:i+1]
			}
			q := qkv[(bi*T+i)*g.stride+h*g.hd:][:g.hd]
			for j := range p {
				k := qkv[(bi*T+j)*g.stride+g.kOff+kvh*g.hd:][:g.hd]
				p[j] = tensor.Dot(q, k) * g.scale
			}
			tensor.SoftmaxInPlace(p)
			out := y[(bi*T+i)*yw+h*g.hd:][:g.hd]
			clear(out)
			for j, pj := range p {
				tensor.Axpy(out, pj, qkv[(bi*T+j)*g.stride+g.vOff+kvh*g.hd:][:g.hd])
			}
		}
	})
}

// attentionBackward overwrites dqkv (for b·T rows) with the gradient of
// attention given dy, the saved probabilities att and the forward qkv. dp
// is scratch of b·kvheads·T floats.
func attentionBackward(dqkv, dy, att, qkv, dp []float32, g qkvGeom, b, T int) {
	clear(dqkv[:b*T*g.stride])
	rep := g.heads / g.kvHeads
	yw := g.heads * g.hd
	parallel(b*g.kvHeads, func(task int) {
		bi, kvh := task/g.kvHeads, task%g.kvHeads
		d := dp[task*T : (task+1)*T]
		for h := kvh * rep; h < (kvh+1)*rep; h++ {
			for i := 0; i < T; i++ {
				p := att[((bi*g.heads+h)*T+i)*T:][:i+1]
				dyi := dy[(bi*T+i)*yw+h*g.hd:][:g.hd]
				row := (bi*T + i) * g.stride
				q, dq := qkv[row+h*g.hd:][:g.hd], dqkv[row+h*g.hd:][:g.hd]
				var dot float32
				for j, pj := range p {
					d[j] = tensor.Dot(dyi, qkv[(bi*T+j)*g.stride+g.vOff+kvh*g.hd:][:g.hd])
					dot += pj * d[j]
				}
				for j, pj := range p {
					rj := (bi*T + j) * g.stride
					ds := pj * (d[j] - dot) * g.scale
					tensor.Axpy(dq, ds, qkv[rj+g.kOff+kvh*g.hd:][:g.hd])
					tensor.Axpy(dqkv[rj+g.kOff+kvh*g.hd:][:g.hd], ds, q)
					tensor.Axpy(dqkv[rj+g.vOff+kvh*g.hd:][:g.hd], pj, dyi)
				}
			}
		}
	})
}
