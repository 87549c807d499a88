package model

import (
	"math"
	"math/cmplx"
)

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
