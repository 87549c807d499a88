package model

import (
	"math"

	"lopper/model/tensor"
)

// RoPEFrequencies returns the rotary embedding's inverse frequencies
// (RotaryDim/2 of them, for dims i and i + RotaryDim/2 of each head) and
// the attention scale A that multiplies cos and sin, for a forward pass over
// seqLen positions. They follow transformers' modeling_rope_utils.py
// (_compute_*_parameters and dynamic_rope_update), in float64:
//
//   - default: inv_i = θ^(−2i/r), A = 1.
//   - linear: inv_i / factor.
//   - dynamic (NTK): θ' = θ·(factor·L/M − (factor−1))^(r/(r−2)) with
//     L = max(seqLen, M), M = MaxPos. Up to M positions it is the default;
//     beyond, it depends on seqLen. transformers caches the longest length
//     seen and reuses it for shorter inputs above M; lopper is stateless
//     and always uses the current pass's length (a fresh transformers model
//     computes the same).
//   - yarn: inv_i blends inv_i and inv_i/factor by a linear ramp over the
//     correction range [floor(low), ceil(high)] of beta_fast and beta_slow
//     (truncate false: unrounded); A = attention_factor, or
//     mscale(factor, mscale)/mscale(factor, mscale_all_dim) when both are
//     set, or 0.1·ln(factor) + 1. A applies at every length.
//   - longrope: inv_i / short_factor_i, or / long_factor_i when seqLen
//     exceeds original_max_position_embeddings O; A = attention_factor, or
//     sqrt(1 + ln(factor)/ln(O)) for factor > 1 (factor: the dict's, or
//     MaxPos/O), at every length.
//   - llama3: wavelengths 2π/inv_i above O/low_freq_factor are divided by
//     factor, those below O/high_freq_factor kept, those between smoothed.
//
// The runtime rounds inv and A to float32 and builds cos and sin as
// transformers does (see tensor.FillRoPETable).
func (c *Config) RoPEFrequencies(seqLen int) (inv []float64, attnScale float64) {
	rot, theta, r := c.rotaryDim(), c.RopeTheta, &c.Rope
	base := func(theta float64) []float64 {
		inv := make([]float64, rot/2)
		for i := range inv {
			inv[i] = 1 / math.Pow(theta, float64(2*i)/float64(rot))
		}
		return inv
	}
	switch r.typ() {
	case RoPELinear:
		inv = base(theta)
		for i := range inv {
			inv[i] /= r.Factor
		}
		return inv, 1
	case RoPEDynamic:
		M := float64(c.MaxPos)
		L := math.Max(float64(seqLen), M)
		return base(theta * math.Pow(r.Factor*L/M-(r.Factor-1), float64(rot)/float64(rot-2))), 1
	case RoPEYaRN:
		return c.yarnFrequencies()
	case RoPELongRoPE:
		O := c.originalMaxPos()
		ext := r.ShortFactor
		if seqLen > O {
			ext = r.LongFactor
		}
		inv = base(theta)
		for i := range inv {
			inv[i] /= ext[i]
		}
		a := r.AttentionFactor
		if s := c.ropeFactor(); a == 0 {
			a = 1
			if s > 1 {
				a = math.Sqrt(1 + math.Log(s)/math.Log(float64(O)))
			}
		}
		return inv, a
	case RoPELlama3:
		inv = base(theta)
		O := float64(c.originalMaxPos())
		lowWave, highWave := O/r.LowFreqFactor, O/r.HighFreqFactor
		for i, f := range inv {
			switch wave := 2 * math.Pi / f; {
			case wave < highWave:
			case wave > lowWave:
				inv[i] = f / r.Factor
			default:
				sm := (O/wave - r.LowFreqFactor) / (r.HighFreqFactor - r.LowFreqFactor)
				inv[i] = (1-sm)*f/r.Factor + sm*f
			}
		}
		return inv, 1
	}
	return base(theta), 1
}

// yarnFrequencies is RoPEFrequencies for yarn (_compute_yarn_parameters).
func (c *Config) yarnFrequencies() ([]float64, float64) {
	rot, theta, r := float64(c.rotaryDim()), c.RopeTheta, &c.Rope
	s, O := c.ropeFactor(), float64(c.originalMaxPos())
	mscale := func(m float64) float64 {
		if s <= 1 {
			return 1
		}
		return 0.1*m*math.Log(s) + 1
	}
	a := r.AttentionFactor
	if a == 0 {
		a = mscale(1)
		if r.Mscale != 0 && r.MscaleAllDim != 0 {
			a = mscale(r.Mscale) / mscale(r.MscaleAllDim)
		}
	}
	betaFast, betaSlow := r.BetaFast, r.BetaSlow
	if betaFast == 0 {
		betaFast = 32
	}
	if betaSlow == 0 {
		betaSlow = 1
	}
	corr := func(rotations float64) float64 {
		return rot * math.Log(O/(rotations*2*math.Pi)) / (2 * math.Log(theta))
	}
	low, high := corr(betaFast), corr(betaSlow)
	if !r.NoTruncate {
		low, high = math.Floor(low), math.Ceil(high)
	}
	low, high = math.Max(low, 0), math.Min(high, rot-1)
	if low == high {
		high += 0.001
	}
	inv := make([]float64, int(rot)/2)
	for i := range inv {
		ramp := math.Min(math.Max((float64(i)-low)/(high-low), 0), 1)
		f := math.Pow(theta, float64(2*i)/rot)
		inv[i] = 1/(s*f)*ramp + 1/f*(1-ramp)
	}
	return inv, a
}

// ropeRegime identifies the cos and sin tables a pass over T positions
// needs: they depend on T only for dynamic (beyond MaxPos) and longrope
// (beyond the original context).
func (c *Config) ropeRegime(T int) int {
	switch c.Rope.typ() {
	case RoPEDynamic:
		return max(T, c.MaxPos)
	case RoPELongRoPE:
		if T > c.originalMaxPos() {
			return 1
		}
	}
	return 0
}

// ropeTables are a State's cos and sin tables [positions, RotaryDim/2]
// and the regime (ropeRegime) they were filled for.
type ropeTables struct {
	cos, sin, inv []float32
	positions     int
	regime        int
}

func newRoPETables(c *Config, positions int) ropeTables {
	half := c.rotaryDim() / 2
	rt := ropeTables{
		cos: make([]float32, positions*half), sin: make([]float32, positions*half),
		inv: make([]float32, half), positions: positions, regime: -1,
	}
	rt.use(c, positions)
	return rt
}

// use fills the tables for a pass over T positions unless they hold that
// regime already (no work, no allocation, for every static scaling).
func (rt *ropeTables) use(c *Config, T int) {
	reg := c.ropeRegime(T)
	if reg == rt.regime {
		return
	}
	inv, a := c.RoPEFrequencies(T)
	for i, f := range inv {
		rt.inv[i] = float32(f)
	}
	tensor.FillRoPETable(rt.cos, rt.sin, rt.inv, float32(a), rt.positions)
	rt.regime = reg
}
