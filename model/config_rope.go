package model

import (
	"bytes"
	"cmp"
	"encoding/json"
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

// ropeLayerTypes are the keys of transformers 5.x's per-layer-type
// rope_parameters (Gemma 3).
var ropeLayerTypes = []string{"full_attention", "sliding_attention"}

// parseRoPE reads the rotary embedding of a Llama-family config: θ, the
// scaling and the rotary dim, resolved as transformers does
// (standardize_rope_params): the dict is rope_scaling or rope_parameters,
// its type rope_type or the legacy type, θ the dict's rope_theta or the
// top-level one, partial_rotary_factor the dict's or the top-level one.
func parseRoPE(p *fieldParser, c *Config) {
	key, dict := ropeDict(p)
	if p.err != nil {
		return
	}
	d := &fieldParser{raw: dict}
	c.RopeTheta = p.number("rope_theta", cmp.Or(families[c.ModelType].ropeTheta, 10000))
	if d.present("rope_theta") {
		c.RopeTheta = d.number("rope_theta", c.RopeTheta)
	}
	factor := p.number("partial_rotary_factor", 1)
	if d.present("partial_rotary_factor") {
		if f := d.number("partial_rotary_factor", 1); p.present("partial_rotary_factor") && f != factor && d.err == nil {
			d.fail("partial_rotary_factor", f, fmt.Sprintf("disagrees with the top-level partial_rotary_factor %v", factor))
		} else {
			factor = f
		}
	}
	if c.HeadDim > 0 && p.err == nil && d.err == nil {
		if !(factor > 0 && factor <= 1) {
			p.fail("partial_rotary_factor", factor, "want a number in (0, 1]")
		}
		// transformers: int(head_dim * partial_rotary_factor); 0 means all.
		if c.RotaryDim = int(float64(c.HeadDim) * factor); c.RotaryDim == c.HeadDim {
			c.RotaryDim = 0
		}
	}
	r := &c.Rope
	typ := d.str("type", "default", false)
	if (typ == "su" || typ == "yarn") && c.ModelType == "phi3" {
		typ = string(RoPELongRoPE) // Phi3Config._rope_scaling_adjustment
	}
	r.Type = RoPEType(d.str("rope_type", typ, false))
	keys, ok := ropeKeys[r.Type]
	if tkey := "rope_type"; !ok && d.err == nil {
		if !d.present(tkey) {
			tkey = "type"
		}
		d.fail(tkey, r.Type, "unsupported RoPE scaling (want default, linear, dynamic, yarn, longrope or llama3)")
	}
	for _, k := range keys.required {
		if _, ok := dict[k]; !ok && d.err == nil {
			d.err = fmt.Errorf("field %q is missing (required by rope_type %q)", k, r.Type)
		}
	}
	r.Factor = d.number("factor", 0)
	r.LowFreqFactor = d.number("low_freq_factor", 0)
	r.HighFreqFactor = d.number("high_freq_factor", 0)
	if r.AttentionFactor = d.number("attention_factor", 0); d.present("attention_factor") && !(r.AttentionFactor > 0) && d.err == nil {
		d.fail("attention_factor", r.AttentionFactor, "want a positive number")
	}
	r.BetaFast = d.number("beta_fast", 0)
	r.BetaSlow = d.number("beta_slow", 0)
	r.Mscale = d.number("mscale", 0)
	r.MscaleAllDim = d.number("mscale_all_dim", 0)
	r.NoTruncate = !d.boolean("truncate", true)
	d.get("short_factor", &r.ShortFactor, "a list of numbers", false)
	d.get("long_factor", &r.LongFactor, "a list of numbers", false)
	if r.Type == RoPEYaRN || r.Type == RoPELongRoPE || r.Type == RoPELlama3 {
		r.OriginalMaxPos = d.integer("original_max_position_embeddings", 0, false)
		if p.present("original_max_position_embeddings") {
			r.OriginalMaxPos = p.integer("original_max_position_embeddings", 0, false)
		}
	}
	if r.Type == RoPEDefault {
		*r = RoPEScaling{}
	}
	if d.err != nil && p.err == nil {
		p.err = fmt.Errorf("field %q: %w", key, d.err)
	}
}

// ropeDict returns the scaling dict and the field it came from: rope_scaling
// or rope_parameters (both may be present only when they agree), or nil.
func ropeDict(p *fieldParser) (string, map[string]json.RawMessage) {
	var found []string
	var dicts []map[string]json.RawMessage
	for _, key := range []string{"rope_scaling", "rope_parameters"} {
		var d map[string]json.RawMessage
		if !p.get(key, &d, "an object", false) {
			continue
		}
		if len(d) > 0 && !slices.ContainsFunc(mapKeys(d), func(k string) bool { return !slices.Contains(ropeLayerTypes, k) }) {
			p.fail(key, p.raw[key], "per-layer-type RoPE parameters are not supported")
			return key, nil
		}
		found, dicts = append(found, key), append(dicts, d)
	}
	switch {
	case len(found) == 0:
		return "rope_scaling", nil
	case len(found) == 2 && !sameDict(dicts[0], dicts[1]):
		p.fail("rope_parameters", p.raw["rope_parameters"], "disagrees with rope_scaling; set one of them")
		return found[1], nil
	}
	return found[0], dicts[0]
}

func mapKeys(m map[string]json.RawMessage) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// sameDict reports whether two JSON objects hold the same values.
func sameDict(a, b map[string]json.RawMessage) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		vb, ok := b[k]
		if !ok {
			return false
		}
		var x, y any
		if json.Unmarshal(va, &x) != nil || json.Unmarshal(vb, &y) != nil {
			return false
		}
		bx, _ := json.Marshal(x)
		by, _ := json.Marshal(y)
		if !bytes.Equal(bx, by) {
			return false
		}
	}
	return true
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

// validateRoPE checks the rotary settings of a Llama-family config.
func (c *Config) validateRoPE() error {
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

// ropeScalingJSON renders c.Rope as a transformers 4.x rope_scaling dict
// (nil for the default rotary embedding).
func (c *Config) ropeScalingJSON() map[string]any {
	r := c.Rope
	if r.typ() == RoPEDefault {
		return nil
	}
	out := map[string]any{"rope_type": string(r.Type)}
	set := func(k string, v float64) {
		if v != 0 {
			out[k] = v
		}
	}
	set("factor", r.Factor)
	set("low_freq_factor", r.LowFreqFactor)
	set("high_freq_factor", r.HighFreqFactor)
	set("attention_factor", r.AttentionFactor)
	set("beta_fast", r.BetaFast)
	set("beta_slow", r.BetaSlow)
	set("mscale", r.Mscale)
	set("mscale_all_dim", r.MscaleAllDim)
	if r.OriginalMaxPos != 0 {
		out["original_max_position_embeddings"] = r.OriginalMaxPos
	}
	if r.NoTruncate {
		out["truncate"] = false
	}
	if r.ShortFactor != nil {
		out["short_factor"], out["long_factor"] = r.ShortFactor, r.LongFactor
	}
	return out
}

// ropeFieldsOwned sets, in f, the rotary fields config.json must change to
// express c: rope_theta, and rope_scaling when c's scaling is not the one
// config.json already has.
func (c *Config) ropeFieldsOwned(f map[string]any) {
	p := &fieldParser{raw: c.raw}
	var was Config
	was.HeadDim, was.ModelType = c.HeadDim, c.ModelType
	parseRoPE(p, &was)
	key, dict := ropeDict(&fieldParser{raw: c.raw})
	if _, inDict := dict["rope_theta"]; !inDict || was.RopeTheta != c.RopeTheta {
		f["rope_theta"] = c.RopeTheta
	}
	if was.RotaryDim != c.RotaryDim && families[c.modelType()].partialRotary && c.HFCompatible() == nil {
		// The family's attention reads partial_rotary_factor: write one
		// that gives c's rotary dim (transformers: int(head_dim · factor)).
		factor := float64(c.rotaryDim()) / float64(c.HeadDim)
		for int(float64(c.HeadDim)*factor) < c.rotaryDim() {
			factor = math.Nextafter(factor, 2)
		}
		f["partial_rotary_factor"] = factor
		if _, ok := dict["partial_rotary_factor"]; ok {
			d := make(map[string]any, len(dict))
			for k, v := range dict {
				d[k] = v
			}
			d["partial_rotary_factor"] = factor
			f[key] = d
		}
	}
	if p.err != nil || !was.Rope.equal(c.Rope) {
		f["rope_scaling"] = c.ropeScalingJSON()
		if _, ok := c.raw["rope_parameters"]; ok {
			f["rope_parameters"] = nil
		}
	}
}
