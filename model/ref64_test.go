package model

import (
	"fmt"
	"math"
	"math/cmplx"
)

// An independent float64 implementation of both architectures, written
// from Hugging Face's formulas with naive loops over HF tensor names. The
// gradient checks differentiate it numerically; the float32 runtime must
// agree with it.

type ref64 struct {
	m *Model
	w []float64 // parameters over m.Layout
}

func (r ref64) p(name string) []float64 {
	t, ok := r.m.Layout.Lookup(name)
	if !ok {
		return nil
	}
	return r.w[t.Offset : t.Offset+t.Size]
}

// lin returns x·Wᵀ + b for rows x, W [out, in].
func lin(x [][]float64, w, b []float64, out int) [][]float64 {
	y := make([][]float64, len(x))
	for t, xr := range x {
		in := len(xr)
		y[t] = make([]float64, out)
		for o := 0; o < out; o++ {
			s := 0.0
			if b != nil {
				s = b[o]
			}
			for i, v := range xr {
				s += v * w[o*in+i]
			}
			y[t][o] = s
		}
	}
	return y
}

func (r ref64) norm(x [][]float64, w, b []float64) [][]float64 {
	eps := r.m.Config.NormEps
	y := make([][]float64, len(x))
	for t, xr := range x {
		n := float64(len(xr))
		mean, ss := 0.0, 0.0
		if r.m.Config.Arch == GPT2 {
			for _, v := range xr {
				mean += v
			}
			mean /= n
		}
		for _, v := range xr {
			ss += (v - mean) * (v - mean)
		}
		inv := 1 / math.Sqrt(ss/n+eps)
		y[t] = make([]float64, len(xr))
		for i, v := range xr {
			y[t][i] = (v - mean) * inv * r.normWeight(w[i])
			if b != nil {
				y[t][i] += b[i]
			}
		}
	}
	return y
}

// normWeight is what a norm multiplies by: w, or 1 + w (Gemma).
func (r ref64) normWeight(w float64) float64 {
	if r.m.Config.NormOffset {
		return 1 + w
	}
	return w
}

// rope rotates the first rotary dims of each head of rows [T][heads·hd]
// as complex numbers: dims i and i+rot/2 form z = x_i + i·x_{i+rot/2}, and
// position p multiplies z by A·e^{i·p·ω_i}, with ω and A from
// refRoPEFrequencies (an independent float64 formulation of the scalings;
// equivalent to HF's rotate_half form). T is the pass's length (dynamic
// and longrope depend on it).
func (r ref64) rope(x [][]float64, heads, l int) {
	c := &r.m.Config
	hd, rot := c.HeadDim, c.rotaryDim()
	if c.RopeLocalTheta > 0 && c.Sliding(l) { // Gemma 3's local layers
		local := c.Clone()
		local.RopeTheta, local.Rope = c.RopeLocalTheta, c.RopeLocal
		c = &local
	}
	omega, A := refRoPEFrequencies(c, len(x))
	for pos, row := range x {
		for h := 0; h < heads; h++ {
			v := row[h*hd : (h+1)*hd]
			for i, w := range omega {
				z := complex(v[i], v[i+rot/2]) * complex(A, 0) * cmplx.Exp(complex(0, float64(pos)*w))
				v[i], v[i+rot/2] = real(z), imag(z)
			}
		}
	}
}

// refRoPEFrequencies restates transformers' _compute_*_parameters for the
// test, from the spec rather than from rope.go: angular frequencies per
// rotated pair and the cos/sin scale, for a pass over L positions.
func refRoPEFrequencies(c *Config, L int) ([]float64, float64) {
	rot, sc := c.rotaryDim(), c.Rope
	plain := func(base float64) []float64 {
		w := make([]float64, rot/2)
		for i := range w {
			w[i] = math.Exp(-math.Log(base) * float64(2*i) / float64(rot))
		}
		return w
	}
	w := plain(c.RopeTheta)
	orig := float64(c.MaxPos)
	if sc.OriginalMaxPos > 0 {
		orig = float64(sc.OriginalMaxPos)
	}
	switch sc.Type {
	case RoPELinear: // position interpolation: positions divided by factor
		for i := range w {
			w[i] = w[i] / sc.Factor
		}
	case RoPEDynamic:
		if n := float64(L); n > float64(c.MaxPos) {
			scale := sc.Factor*n/float64(c.MaxPos) - sc.Factor + 1
			w = plain(c.RopeTheta * math.Exp(math.Log(scale)*float64(rot)/float64(rot-2)))
		}
	case RoPELlama3:
		for i, f := range w {
			period := 2 * math.Pi / f
			switch {
			case period > orig/sc.LowFreqFactor:
				w[i] = f / sc.Factor
			case period >= orig/sc.HighFreqFactor:
				t := (orig/period - sc.LowFreqFactor) / (sc.HighFreqFactor - sc.LowFreqFactor)
				w[i] = f * (t + (1-t)/sc.Factor)
			}
		}
	case RoPEYaRN:
		s := sc.Factor
		if s == 0 {
			s = float64(c.MaxPos) / orig
		}
		dimOf := func(rotations float64) float64 { // the pair index that turns `rotations` times over orig
			return float64(rot) / 2 * math.Log(orig/(2*math.Pi*rotations)) / math.Log(c.RopeTheta)
		}
		fast, slow := 32.0, 1.0
		if sc.BetaFast != 0 {
			fast = sc.BetaFast
		}
		if sc.BetaSlow != 0 {
			slow = sc.BetaSlow
		}
		lo, hi := dimOf(fast), dimOf(slow)
		if !sc.NoTruncate {
			lo, hi = math.Floor(lo), math.Ceil(hi)
		}
		lo, hi = math.Max(lo, 0), math.Min(hi, float64(rot-1))
		if lo == hi {
			hi += 0.001
		}
		for i, f := range w {
			g := math.Min(1, math.Max(0, (float64(i)-lo)/(hi-lo))) // 0: keep, 1: interpolate
			w[i] = f * (1 - g + g/s)
		}
		mscale := func(m float64) float64 {
			if s <= 1 {
				return 1
			}
			return 1 + 0.1*m*math.Log(s)
		}
		A := mscale(1)
		if sc.Mscale != 0 && sc.MscaleAllDim != 0 {
			A = mscale(sc.Mscale) / mscale(sc.MscaleAllDim)
		}
		if sc.AttentionFactor != 0 {
			A = sc.AttentionFactor
		}
		return w, A
	case RoPELongRoPE:
		ext := sc.ShortFactor
		if float64(L) > orig {
			ext = sc.LongFactor
		}
		for i := range w {
			w[i] /= ext[i]
		}
		s := sc.Factor
		if s == 0 {
			s = float64(c.MaxPos) / orig
		}
		A := 1.0
		if s > 1 {
			A = math.Sqrt(1 + math.Log(s)/math.Log(orig))
		}
		if sc.AttentionFactor != 0 {
			A = sc.AttentionFactor
		}
		return w, A
	}
	return w, 1
}

// qkNorm applies Qwen3's per-head RMSNorm with weight w [hd] to rows
// [T][heads·hd].
func (r ref64) qkNorm(x [][]float64, heads int, w []float64) {
	hd := r.m.Config.HeadDim
	if r.m.Config.QKNormWide { // OLMo 2: one norm over the whole projection
		hd, heads = heads*hd, 1
	}
	for _, row := range x {
		for h := 0; h < heads; h++ {
			v := row[h*hd : (h+1)*hd]
			ss := 0.0
			for _, e := range v {
				ss += e * e
			}
			inv := 1 / math.Sqrt(ss/float64(hd)+r.m.Config.NormEps)
			for i := range v {
				v[i] *= inv * r.normWeight(w[i])
			}
		}
	}
}

// attend is block l's attention: causal, and within the last
// SlidingWindow keys on a sliding layer.
func (r ref64) attend(q, k, v [][]float64, heads, kvHeads, l int) [][]float64 {
	hd, T := r.m.Config.HeadDim, len(q)
	qs := float64(hd) // scores are divided by √qs
	if r.m.Config.QueryScale > 0 {
		qs = r.m.Config.QueryScale
	}
	first := func(i int) int {
		if r.m.Config.Sliding(l) {
			return max(0, i-r.m.Config.SlidingWindow+1)
		}
		return 0
	}
	y := make([][]float64, T)
	for t := range y {
		y[t] = make([]float64, heads*hd)
	}
	for h := 0; h < heads; h++ {
		g := h / (heads / kvHeads)
		for i := 0; i < T; i++ {
			j0 := first(i)
			sc := make([]float64, i+1-j0)
			mx := math.Inf(-1)
			for j := range sc {
				for e := 0; e < hd; e++ {
					sc[j] += q[i][h*hd+e] * k[j0+j][g*hd+e]
				}
				sc[j] /= math.Sqrt(qs)
				if c := r.m.Config.AttnSoftcap; c > 0 {
					sc[j] = c * math.Tanh(sc[j]/c)
				}
				mx = math.Max(mx, sc[j])
			}
			sum := 0.0
			for j := range sc {
				sc[j] = math.Exp(sc[j] - mx)
				sum += sc[j]
			}
			for j := range sc {
				for e := 0; e < hd; e++ {
					y[i][h*hd+e] += sc[j] / sum * v[j0+j][g*hd+e]
				}
			}
		}
	}
	return y
}

func (r ref64) act(x float64) float64 {
	switch r.m.Config.Act {
	case GELU:
		return 0.5 * x * (1 + math.Erf(x/math.Sqrt2))
	case GELUTanh:
		return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
	}
	return x / (1 + math.Exp(-x))
}

func addRows(x, y [][]float64) {
	for t := range x {
		for i := range x[t] {
			x[t][i] += y[t][i]
		}
	}
}

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
