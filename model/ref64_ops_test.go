package model

import "math"

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
