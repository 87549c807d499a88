package model

import (
	"fmt"
	"math"
)

// logits returns [B·T][V] for b sequences of T tokens.
func (r ref64) logits(tokens []int32, B, T int) [][]float64 {
	c := &r.m.Config
	var out [][]float64
	for b := 0; b < B; b++ {
		x := make([][]float64, T)
		for t := range x {
			tok := int(tokens[b*T+t])
			if c.Arch == GPT2 {
				e, p := r.p("transformer.wte.weight"), r.p("transformer.wpe.weight")
				x[t] = make([]float64, c.Hidden)
				for i := range x[t] {
					x[t][i] = e[tok*c.Hidden+i] + p[t*c.Hidden+i]
				}
			} else {
				x[t] = append([]float64(nil), r.p("model.embed_tokens.weight")[tok*c.Hidden:(tok+1)*c.Hidden]...)
				for i := range x[t] {
					x[t][i] *= float64(embedScale(r.m)) // √hidden in the embedding's dtype (Gemma), else 1
				}
			}
		}
		for l, d := range c.Layers {
			if c.Arch == GPT2 {
				r.gpt2Block(x, l, d)
			} else {
				r.llamaBlock(x, l, d)
			}
		}
		var xn [][]float64
		head := r.p("lm_head.weight")
		if c.Arch == GPT2 {
			xn = r.norm(x, r.p("transformer.ln_f.weight"), r.p("transformer.ln_f.bias"))
			if head == nil {
				head = r.p("transformer.wte.weight")
			}
		} else {
			xn = r.norm(x, r.p("model.norm.weight"), nil)
			if head == nil {
				head = r.p("model.embed_tokens.weight")
			}
		}
		lg := lin(xn, head, nil, c.Vocab)
		if cp := c.FinalSoftcap; cp > 0 {
			for _, row := range lg {
				for i, v := range row {
					row[i] = cp * math.Tanh(v/cp)
				}
			}
		}
		out = append(out, lg...)
	}
	return out
}

func (r ref64) llamaBlock(x [][]float64, l int, d LayerDims) {
	hd := r.m.Config.HeadDim
	pre := fmt.Sprintf("model.layers.%d.", l)
	xn := x // OLMo 2: no input norms
	if !r.m.Config.NoPreNorms {
		xn = r.norm(x, r.p(pre+"input_layernorm.weight"), nil)
	}
	q := lin(xn, r.p(pre+"self_attn.q_proj.weight"), r.p(pre+"self_attn.q_proj.bias"), d.Heads*hd)
	k := lin(xn, r.p(pre+"self_attn.k_proj.weight"), r.p(pre+"self_attn.k_proj.bias"), d.KVHeads*hd)
	v := lin(xn, r.p(pre+"self_attn.v_proj.weight"), r.p(pre+"self_attn.v_proj.bias"), d.KVHeads*hd)
	if r.m.Config.QKNorm {
		r.qkNorm(q, d.Heads, r.p(pre+"self_attn.q_norm.weight"))
		r.qkNorm(k, d.KVHeads, r.p(pre+"self_attn.k_norm.weight"))
	}
	if !r.m.Config.noRoPE(l) { // SmolLM3's NoPE layers
		r.rope(q, d.Heads, l)
		r.rope(k, d.KVHeads, l)
	}
	y := r.attend(q, k, v, d.Heads, d.KVHeads, l)
	// Gemma 2/3 normalize each branch's output (post_attention_layernorm,
	// post_feedforward_layernorm) and the MLP's input with
	// pre_feedforward_layernorm; the others the MLP input with
	// post_attention_layernorm.
	post := func(y [][]float64, name string) [][]float64 {
		if !r.m.Config.PostNorms {
			return y
		}
		return r.norm(y, r.p(pre+name), nil)
	}
	addRows(x, post(lin(y, r.p(pre+"self_attn.o_proj.weight"), r.p(pre+"self_attn.o_proj.bias"), r.m.Config.Hidden), "post_attention_layernorm.weight"))
	mlpNorm := "post_attention_layernorm.weight"
	if r.m.Config.PostNorms {
		mlpNorm = "pre_feedforward_layernorm.weight"
	}
	xn = x
	if !r.m.Config.NoPreNorms {
		xn = r.norm(x, r.p(pre+mlpNorm), nil)
	}
	gate := lin(xn, r.p(pre+"mlp.gate_proj.weight"), r.p(pre+"mlp.gate_proj.bias"), d.Intermediate)
	up := lin(xn, r.p(pre+"mlp.up_proj.weight"), r.p(pre+"mlp.up_proj.bias"), d.Intermediate)
	for t := range gate {
		for i := range gate[t] {
			gate[t][i] = r.act(gate[t][i]) * up[t][i]
		}
	}
	addRows(x, post(lin(gate, r.p(pre+"mlp.down_proj.weight"), r.p(pre+"mlp.down_proj.bias"), r.m.Config.Hidden), "post_feedforward_layernorm.weight"))
}

func (r ref64) gpt2Block(x [][]float64, l int, d LayerDims) {
	hd, H := r.m.Config.HeadDim, r.m.Config.Hidden
	pre := fmt.Sprintf("transformer.h.%d.", l)
	xn := r.norm(x, r.p(pre+"ln_1.weight"), r.p(pre+"ln_1.bias"))
	qkv := lin(xn, r.p(pre+"attn.c_attn.weight"), r.p(pre+"attn.c_attn.bias"), 3*d.Heads*hd)
	q, k, v := make([][]float64, len(x)), make([][]float64, len(x)), make([][]float64, len(x))
	for t, row := range qkv {
		a := d.Heads * hd
		q[t], k[t], v[t] = row[:a], row[a:2*a], row[2*a:]
	}
	y := r.attend(q, k, v, d.Heads, d.Heads, l)
	addRows(x, lin(y, r.p(pre+"attn.c_proj.weight"), r.p(pre+"attn.c_proj.bias"), H))
	xn = r.norm(x, r.p(pre+"ln_2.weight"), r.p(pre+"ln_2.bias"))
	h := lin(xn, r.p(pre+"mlp.c_fc.weight"), r.p(pre+"mlp.c_fc.bias"), d.Intermediate)
	for t := range h {
		for i := range h[t] {
			h[t][i] = r.act(h[t][i])
		}
	}
	addRows(x, lin(h, r.p(pre+"mlp.c_proj.weight"), r.p(pre+"mlp.c_proj.bias"), H))
}

// loss is the mean cross entropy over targets ≥ 0.
func (r ref64) loss(tokens, targets []int32, B, T int) float64 {
	lg := r.logits(tokens, B, T)
	sum, n := 0.0, 0
	for i, t := range targets {
		if t < 0 {
			continue
		}
		mx := math.Inf(-1)
		for _, v := range lg[i] {
			mx = math.Max(mx, v)
		}
		s := 0.0
		for _, v := range lg[i] {
			s += math.Exp(v - mx)
		}
		sum += mx + math.Log(s) - lg[i][t]
		n++
	}
	return sum / float64(n)
}
