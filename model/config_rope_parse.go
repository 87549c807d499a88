package model

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// ropeLayerTypes are the keys of transformers 5.x's per-layer-type
// rope_parameters (Gemma 3), in the order lopper writes them.
var ropeLayerTypes = []string{"full_attention", "sliding_attention"}

// ropeFields are what one RoPE dict gives: θ, the scaling and the partial
// rotary factor.
type ropeFields struct {
	theta, rotary float64
	scaling       RoPEScaling
}

// parseRoPE reads the rotary embedding of a Llama-family config: θ, the
// scaling and the rotary dim, resolved as transformers does
// (standardize_rope_params): the dict is rope_scaling or rope_parameters,
// its type rope_type or the legacy type, θ the dict's rope_theta or the
// top-level one, partial_rotary_factor the dict's or the top-level one.
//
// Gemma 3 also has its sliding layers' RoPE (RopeLocalTheta, RopeLocal):
// in the 4.x form rope_local_base_freq without scaling (the scaling is the
// full layers'); in the 5.x form rope_parameters keyed by layer type,
// {"full_attention": {...}, "sliding_attention": {...}}, each a dict of its
// own whose θ defaults to rope_theta and rope_local_base_freq, as
// Gemma3TextConfig.convert_rope_params_to_dict reads them (a rope_scaling
// beside it updates the full layers' dict).
func parseRoPE(p *fieldParser, c *Config) {
	key, dict, perLayer := ropeDict(p, c.modelType())
	if p.err != nil {
		return
	}
	thetaDef := cmp.Or(families[c.modelType()].ropeTheta, 10000)
	gemma3 := families[c.modelType()].gemma == 3
	var full, local ropeFields
	localKey := "rope_local_base_freq"
	if perLayer == nil {
		full = readRoPEDict(p, dict, c.modelType(), "rope_theta", thetaDef, key)
		if gemma3 {
			local = ropeFields{theta: p.number(localKey, 10000), rotary: full.rotary}
		}
	} else {
		full, local = readRoPELayerTypes(p, perLayer, c.modelType(), thetaDef)
		localKey = key
	}
	if p.err != nil {
		return
	}
	c.RopeTheta, c.Rope = full.theta, full.scaling
	if gemma3 {
		c.RopeLocalTheta, c.RopeLocal = local.theta, local.scaling
		switch {
		case !(local.theta > 0):
			p.fail(localKey, p.raw[localKey], fmt.Sprintf("the sliding layers' RoPE base %v: want a positive number", local.theta))
		case local.rotary != full.rotary:
			p.fail(localKey, p.raw[localKey], fmt.Sprintf("the sliding layers' partial_rotary_factor %v differs from the full layers' %v", local.rotary, full.rotary))
		}
	}
	if c.HeadDim > 0 && p.err == nil {
		if !(full.rotary > 0 && full.rotary <= 1) {
			p.fail("partial_rotary_factor", full.rotary, "want a number in (0, 1]")
		}
		// transformers: int(head_dim * partial_rotary_factor); 0 means all.
		if c.RotaryDim = int(float64(c.HeadDim) * full.rotary); c.RotaryDim == c.HeadDim {
			c.RotaryDim = 0
		}
	}
}

// readRoPEDict reads one RoPE dict (nil: none) over the top-level fields
// of p: θ is the dict's rope_theta, else the top-level thetaKey, else
// thetaDef; the partial rotary factor is the dict's or the top-level one
// (they must agree). An error in the dict is reported under the field
// path where (e.g. "rope_scaling", or "rope_parameters", "full_attention").
func readRoPEDict(p *fieldParser, dict map[string]json.RawMessage, mt, thetaKey string, thetaDef float64, where ...string) ropeFields {
	d := &fieldParser{raw: dict}
	out := ropeFields{theta: p.number(thetaKey, thetaDef), rotary: p.number("partial_rotary_factor", 1)}
	if d.present("rope_theta") {
		out.theta = d.number("rope_theta", out.theta)
	}
	if d.present("partial_rotary_factor") {
		if f := d.number("partial_rotary_factor", 1); p.present("partial_rotary_factor") && f != out.rotary && d.err == nil {
			d.fail("partial_rotary_factor", f, fmt.Sprintf("disagrees with the top-level partial_rotary_factor %v", out.rotary))
		} else {
			out.rotary = f
		}
	}
	r := &out.scaling
	typ := d.str("type", "default", false)
	if (typ == "su" || typ == "yarn") && mt == "phi3" {
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
		err := d.err
		for i := len(where) - 1; i >= 0; i-- {
			err = fmt.Errorf("field %q: %w", where[i], err)
		}
		p.err = err
	}
	return out
}

// readRoPELayerTypes reads Gemma 3's per-layer-type rope_parameters
// (transformers 5.x, Gemma3TextConfig.convert_rope_params_to_dict): a
// missing layer type is {"rope_type": "default"}; a rope_scaling beside it
// updates the full layers' dict; θ defaults to the top-level rope_theta
// (else the family's) for the full layers and rope_local_base_freq (else
// 10000) for the sliding ones.
func readRoPELayerTypes(p *fieldParser, perLayer map[string]map[string]json.RawMessage, mt string, thetaDef float64) (full, local ropeFields) {
	fullDict := maps.Clone(perLayer["full_attention"])
	var scaling map[string]json.RawMessage
	if p.get("rope_scaling", &scaling, "an object", false) && len(scaling) > 0 {
		if fullDict == nil {
			fullDict = map[string]json.RawMessage{}
		}
		maps.Copy(fullDict, scaling)
	}
	full = readRoPEDict(p, fullDict, mt, "rope_theta", thetaDef, "rope_parameters", "full_attention")
	local = readRoPEDict(p, perLayer["sliding_attention"], mt, "rope_local_base_freq", 10000, "rope_parameters", "sliding_attention")
	return full, local
}

// ropeDict returns the scaling dict and the field it came from:
// rope_scaling or rope_parameters (both may be present only when they
// agree), or nil. A rope_parameters keyed by layer type (Gemma 3, 5.x)
// comes back as perLayer, each layer type's dict, with rope_parameters as
// the field: only gemma3_text reads it.
func ropeDict(p *fieldParser, mt string) (key string, dict map[string]json.RawMessage, perLayer map[string]map[string]json.RawMessage) {
	var found []string
	var dicts []map[string]json.RawMessage
	for _, key := range []string{"rope_scaling", "rope_parameters"} {
		var d map[string]json.RawMessage
		if !p.get(key, &d, "an object", false) {
			continue
		}
		if byType := layerTypeDicts(p, key, d); p.err != nil {
			return key, nil, nil
		} else if byType != nil {
			switch {
			case key != "rope_parameters":
				p.fail(key, p.raw[key], "a dict per layer type is transformers 5.x's rope_parameters form; rope_scaling holds one dict")
			case families[mt].gemma != 3:
				p.fail(key, p.raw[key], fmt.Sprintf("per-layer-type RoPE parameters are not supported for model_type %q (transformers reads them for Gemma 3: gemma3_text)", mt))
			}
			return key, nil, byType
		}
		found, dicts = append(found, key), append(dicts, d)
	}
	switch {
	case len(found) == 0:
		return "rope_scaling", nil, nil
	case len(found) == 2 && !sameDict(dicts[0], dicts[1]):
		p.fail("rope_parameters", p.raw["rope_parameters"], "disagrees with rope_scaling; set one of them")
		return found[1], nil, nil
	}
	return found[0], dicts[0], nil
}

// layerTypeDicts returns the layer types' dicts of a rope dict d keyed by
// layer type (one whose values are objects), nil for a flat dict.
func layerTypeDicts(p *fieldParser, key string, d map[string]json.RawMessage) map[string]map[string]json.RawMessage {
	nested := false
	for _, k := range slices.Sorted(maps.Keys(d)) {
		if v := bytes.TrimSpace(d[k]); len(v) == 0 || v[0] != '{' {
			continue
		}
		if !slices.Contains(ropeLayerTypes, k) {
			p.fail(key, p.raw[key], fmt.Sprintf("unsupported layer type %q (want full_attention or sliding_attention)", k))
			return nil
		}
		nested = true
	}
	if !nested {
		return nil
	}
	byType := map[string]map[string]json.RawMessage{}
	for _, k := range slices.Sorted(maps.Keys(d)) {
		var sub map[string]json.RawMessage
		if !slices.Contains(ropeLayerTypes, k) || json.Unmarshal(d[k], &sub) != nil {
			p.fail(key, p.raw[key], fmt.Sprintf("mixes layer types and plain RoPE keys (%q); want one dict per layer type", k))
			return nil
		}
		byType[k] = sub
	}
	return byType
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
