package model

import (
	"fmt"
	"math"
	"slices"
)

// RoPEType names a rotary-embedding frequency scaling (transformers'
// modeling_rope_utils.py ROPE_INIT_FUNCTIONS).
type RoPEType string

// The RoPE scalings lopper computes. The empty type means RoPEDefault.
const (
	RoPEDefault  RoPEType = "default"
	RoPELinear   RoPEType = "linear"
	RoPEDynamic  RoPEType = "dynamic"
	RoPEYaRN     RoPEType = "yarn"
	RoPELongRoPE RoPEType = "longrope"
	RoPELlama3   RoPEType = "llama3"
)

// RoPEScaling is a rotary embedding's frequency scaling: config.json's
// rope_scaling (transformers 4.x) or rope_parameters (5.x). Zero fields are
// absent; see RoPEFrequencies for what each type computes.
type RoPEScaling struct {
	Type   RoPEType
	Factor float64 // linear, dynamic, llama3 (required); yarn, longrope (0: max positions / OriginalMaxPos)
	// OriginalMaxPos is original_max_position_embeddings (yarn, longrope,
	// llama3): the top-level field wins over the dict's, as transformers'
	// standardize_rope_params does; 0 means MaxPos.
	OriginalMaxPos                int
	LowFreqFactor, HighFreqFactor float64 // llama3
	// AttentionFactor is the scale of cos and sin (yarn, longrope); 0
	// means derived from the factor.
	AttentionFactor    float64
	BetaFast, BetaSlow float64 // yarn; 0 means 32 and 1
	Mscale             float64 // yarn mscale
	MscaleAllDim       float64 // yarn mscale_all_dim
	NoTruncate         bool    // yarn "truncate": false
	// ShortFactor and LongFactor (longrope) hold RotaryDim/2 factors each.
	ShortFactor, LongFactor []float64
}

func (r RoPEScaling) typ() RoPEType {
	if r.Type == "" {
		return RoPEDefault
	}
	return r.Type
}

func (r RoPEScaling) clone() RoPEScaling {
	r.ShortFactor, r.LongFactor = slices.Clone(r.ShortFactor), slices.Clone(r.LongFactor)
	return r
}

func (r RoPEScaling) equal(o RoPEScaling) bool {
	return r.typ() == o.typ() && r.Factor == o.Factor && r.OriginalMaxPos == o.OriginalMaxPos &&
		r.LowFreqFactor == o.LowFreqFactor && r.HighFreqFactor == o.HighFreqFactor &&
		r.AttentionFactor == o.AttentionFactor && r.BetaFast == o.BetaFast && r.BetaSlow == o.BetaSlow &&
		r.Mscale == o.Mscale && r.MscaleAllDim == o.MscaleAllDim && r.NoTruncate == o.NoTruncate &&
		slices.Equal(r.ShortFactor, o.ShortFactor) && slices.Equal(r.LongFactor, o.LongFactor)
}

// String describes the scaling for people: "llama3 (factor 32)".
func (r RoPEScaling) String() string {
	t := r.typ()
	if r.Factor == 0 {
		return string(t)
	}
	return fmt.Sprintf("%s (factor %g)", t, r.Factor)
}

// Which keys each type requires (transformers raises KeyError without
// them) and may use; other keys are ignored, as transformers ignores them.
var ropeKeys = map[RoPEType]struct{ required, optional []string }{
	RoPEDefault:  {},
	RoPELinear:   {required: []string{"factor"}},
	RoPEDynamic:  {required: []string{"factor"}},
	RoPEYaRN:     {required: []string{"factor"}, optional: []string{"attention_factor", "beta_fast", "beta_slow", "mscale", "mscale_all_dim", "truncate", "original_max_position_embeddings"}},
	RoPELongRoPE: {required: []string{"short_factor", "long_factor"}, optional: []string{"factor", "attention_factor", "original_max_position_embeddings"}},
	RoPELlama3:   {required: []string{"factor", "low_freq_factor", "high_freq_factor"}, optional: []string{"original_max_position_embeddings"}},
}

// rotaryDim is the number of leading dims of each head that RoPE rotates.
func (c *Config) rotaryDim() int {
	if c.RotaryDim == 0 {
		return c.HeadDim
	}
	return c.RotaryDim
}

// originalMaxPos is the pretraining context of yarn, longrope and llama3.
func (c *Config) originalMaxPos() int {
	if c.Rope.OriginalMaxPos > 0 {
		return c.Rope.OriginalMaxPos
	}
	return c.MaxPos
}

// validateRoPE checks the rotary settings of a Llama-family config: the
// full layers' and, with a local base, Gemma 3's sliding layers'.
func (c *Config) validateRoPE() error {
	if c.RopeLocalTheta == 0 && c.RopeLocal.typ() != RoPEDefault {
		return fmt.Errorf("a sliding-layer RoPE scaling (%s) needs a sliding-layer RoPE base", c.RopeLocal)
	}
	if c.RopeLocalTheta != 0 {
		local := *c
		local.RopeTheta, local.Rope, local.RopeLocalTheta, local.RopeLocal = c.RopeLocalTheta, c.RopeLocal, 0, RoPEScaling{}
		if err := local.validateRoPE(); err != nil {
			return fmt.Errorf("sliding layers: %w", err)
		}
	}
	r, rot := &c.Rope, c.rotaryDim()
	if !(c.RopeTheta > 0) || math.IsInf(c.RopeTheta, 0) {
		return fmt.Errorf("rope theta must be positive, got %g", c.RopeTheta)
	}
	if rot <= 0 || rot > c.HeadDim || rot%2 != 0 {
		return fmt.Errorf("rotary embeddings need an even rotary dim in (0, head dim %d], got %d", c.HeadDim, rot)
	}
	t := r.typ()
	if _, ok := ropeKeys[t]; !ok {
		return fmt.Errorf("unsupported RoPE scaling %q", t)
	}
	pos := func(name string, v float64) error {
		if !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("rope %s %s must be positive, got %g", t, name, v)
		}
		return nil
	}
	var errs []error
	switch t {
	case RoPELinear:
		errs = append(errs, pos("factor", r.Factor))
	case RoPEDynamic:
		errs = append(errs, pos("factor", r.Factor))
		if rot <= 2 {
			errs = append(errs, fmt.Errorf("dynamic RoPE needs a rotary dim above 2, got %d", rot))
		}
	case RoPELlama3:
		errs = append(errs, pos("factor", r.Factor), pos("low_freq_factor", r.LowFreqFactor), pos("high_freq_factor", r.HighFreqFactor))
		if r.HighFreqFactor == r.LowFreqFactor {
			errs = append(errs, fmt.Errorf("rope llama3 high_freq_factor must differ from low_freq_factor (%g)", r.LowFreqFactor))
		}
	case RoPEYaRN:
		errs = append(errs, pos("factor", c.ropeFactor()))
	case RoPELongRoPE:
		errs = append(errs, pos("factor", c.ropeFactor()))
		for _, nf := range []struct {
			name string
			f    []float64
		}{{"short_factor", r.ShortFactor}, {"long_factor", r.LongFactor}} { // in order: messages are reproducible
			name, f := nf.name, nf.f
			if len(f) != rot/2 {
				errs = append(errs, fmt.Errorf("rope longrope %s has %d entries, want rotary dim / 2 = %d", name, len(f), rot/2))
			}
			for _, v := range f {
				if err := pos(name, v); err != nil {
					errs = append(errs, err)
					break
				}
			}
		}
	}
	if r.AttentionFactor < 0 || r.OriginalMaxPos < 0 {
		errs = append(errs, fmt.Errorf("rope %s attention_factor and original_max_position_embeddings must not be negative", t))
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// ropeFactor is the scaling factor; yarn and longrope without one use
// max positions / original max positions, as transformers does.
func (c *Config) ropeFactor() float64 {
	if c.Rope.Factor == 0 && (c.Rope.Type == RoPEYaRN || c.Rope.Type == RoPELongRoPE) {
		return float64(c.MaxPos) / float64(c.originalMaxPos())
	}
	return c.Rope.Factor
}
