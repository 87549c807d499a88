package model

import (
	"encoding/json"
	"math"
)

// renderRoPE renders scaling r as a transformers RoPE dict: rope_type and
// the type's non-zero fields.
func renderRoPE(r RoPEScaling) map[string]any {
	out := map[string]any{"rope_type": string(r.typ())}
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

// ropeScalingJSON renders c.Rope as a transformers 4.x rope_scaling dict
// (nil for the default rotary embedding).
func (c *Config) ropeScalingJSON() map[string]any {
	if c.Rope.typ() == RoPEDefault {
		return nil
	}
	return renderRoPE(c.Rope)
}

// localRoPE is the RoPE base and scaling of Gemma 3's sliding layers:
// their own, or the full layers' when RopeLocalTheta is 0.
func (c *Config) localRoPE() (float64, RoPEScaling) {
	if c.RopeLocalTheta > 0 {
		return c.RopeLocalTheta, c.RopeLocal
	}
	return c.RopeTheta, c.Rope
}

// ropeLayerTypesJSON renders Gemma 3's RoPE as transformers 5.x's
// per-layer-type rope_parameters.
func (c *Config) ropeLayerTypesJSON() map[string]any {
	full := renderRoPE(c.Rope)
	full["rope_theta"] = c.RopeTheta
	theta, r := c.localRoPE()
	local := renderRoPE(r)
	local["rope_theta"] = theta
	return map[string]any{"full_attention": full, "sliding_attention": local}
}

// ropeFieldsOwned sets, in f, the rotary fields config.json must change to
// express c, in the form config.json has: rope_theta, rope_scaling (4.x)
// or rope_parameters (5.x, flat or per layer type), Gemma 3's local base,
// when they do not give c's already. A config built in Go gets the 4.x
// form, or the per-layer-type form when Gemma 3's sliding layers have a
// scaling (the 4.x form cannot express one).
func (c *Config) ropeFieldsOwned(f map[string]any) {
	p := &fieldParser{raw: c.raw}
	was := Config{HeadDim: c.HeadDim, ModelType: c.ModelType}
	parseRoPE(p, &was)
	key, dict, perLayer := ropeDict(&fieldParser{raw: c.raw}, c.modelType())
	gemma3 := families[c.modelType()].gemma == 3
	wasTheta, wasLocal := was.localRoPE()
	localTheta, local := c.localRoPE()
	localSame := !gemma3 || (wasTheta == localTheta && wasLocal.equal(local))
	same := p.err == nil && was.RopeTheta == c.RopeTheta && was.Rope.equal(c.Rope) && localSame
	if gemma3 && (perLayer != nil || (!same && local.typ() != RoPEDefault)) {
		if !same {
			f["rope_parameters"] = c.ropeLayerTypesJSON()
			for k, v := range map[string]any{"rope_scaling": nil, "rope_theta": c.RopeTheta, "rope_local_base_freq": localTheta} {
				if _, ok := c.raw[k]; ok {
					f[k] = v // keep the fields beside it consistent
				}
			}
		}
		return
	}
	var factor any
	if was.RotaryDim != c.RotaryDim && families[c.modelType()].partialRotary && c.HFCompatible() == nil {
		// The family's attention reads partial_rotary_factor: write one
		// that gives c's rotary dim (transformers: int(head_dim · factor)).
		fr := float64(c.rotaryDim()) / float64(c.HeadDim)
		for int(float64(c.HeadDim)*fr) < c.rotaryDim() {
			fr = math.Nextafter(fr, 2)
		}
		f["partial_rotary_factor"], factor = fr, fr
		if _, ok := dict["partial_rotary_factor"]; ok {
			d := make(map[string]any, len(dict))
			for k, v := range dict {
				d[k] = v
			}
			d["partial_rotary_factor"] = fr
			f[key] = d
		}
	}
	if gemma3 && (p.err != nil || !localSame) {
		f["rope_local_base_freq"] = localTheta
	}
	if key == "rope_parameters" && dict != nil {
		// transformers 5.x's flat dict: θ and the scaling live in it.
		if p.err == nil && was.RopeTheta == c.RopeTheta && was.Rope.equal(c.Rope) {
			return
		}
		d := renderRoPE(c.Rope)
		d["rope_theta"] = c.RopeTheta
		if v, ok := dict["partial_rotary_factor"]; ok {
			d["partial_rotary_factor"] = json.RawMessage(v)
			if factor != nil {
				d["partial_rotary_factor"] = factor
			}
		}
		f[key] = d
		if _, ok := c.raw["rope_theta"]; ok {
			f["rope_theta"] = c.RopeTheta
		}
		return
	}
	if _, inDict := dict["rope_theta"]; !inDict || was.RopeTheta != c.RopeTheta {
		f["rope_theta"] = c.RopeTheta
	}
	if p.err != nil || !was.Rope.equal(c.Rope) {
		f["rope_scaling"] = c.ropeScalingJSON()
		if _, ok := c.raw["rope_parameters"]; ok {
			f["rope_parameters"] = nil
		}
	}
}
