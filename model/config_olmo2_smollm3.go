package model

import (
	"fmt"
	"slices"
)

// OLMo 2 (transformers' models/olmo2, modular_olmo2.py): a Llama block
// without input norms, whose attention and MLP outputs are normalized
// (post_attention_layernorm, post_feedforward_layernorm) before the
// residual adds, and whose q and k are RMS-normalized over the whole
// projection (q_norm [heads·head_dim], k_norm [kv heads·head_dim]) before
// RoPE. The norms are Llama's (x·w).
func parseOLMo2(p *fieldParser, c *Config) {
	c.QKVBias = p.boolean("attention_bias", false)
	c.OBias = c.QKVBias
	c.PostNorms, c.NoPreNorms = true, true
	c.QKNorm, c.QKNormWide = true, true
}

// SmolLM3 (models/smollm3, modular_smollm3.py): a Llama block whose
// layers with no_rope_layers[i] = 0 apply no rotary embedding (absent
// list: every no_rope_layer_interval-th layer, 4 by default); with
// use_sliding_window, the layers layer_types marks (else the NoPE layers)
// attend within sliding_window.
func parseSmolLM3(p *fieldParser, c *Config, n int) {
	c.QKVBias = p.boolean("attention_bias", false)
	c.OBias = c.QKVBias
	c.MLPBias = p.boolean("mlp_bias", false)
	rope := smolLM3RoPELayers(p, n)
	if rope == nil {
		return
	}
	kinds := layerTypes(p, n)
	if kinds == nil {
		kinds = make([]LayerKind, n)
		for i := range kinds {
			kinds[i].Sliding = !rope[i]
		}
	}
	w := 0
	if p.boolean("use_sliding_window", false) {
		w = p.integer("sliding_window", 0, false)
	}
	for i := range kinds {
		kinds[i].NoRoPE = !rope[i]
	}
	c.SlidingWindow, c.Kinds = slidingKinds(w, kinds)
}

// smolLM3RoPELayers says which of n layers apply RoPE: no_rope_layers (at
// least n entries, 1 = RoPE), else all but every no_rope_layer_interval-th.
func smolLM3RoPELayers(p *fieldParser, n int) []bool {
	rope := make([]bool, n)
	var list []int
	if p.get("no_rope_layers", &list, "a list of 0s and 1s", false) {
		if len(list) < n {
			p.fail("no_rope_layers", p.raw["no_rope_layers"], fmt.Sprintf("has %d entries for %d layers", len(list), n))
			return nil
		}
		for i := range rope {
			if list[i] != 0 && list[i] != 1 {
				p.fail("no_rope_layers", p.raw["no_rope_layers"], "want a list of 0s and 1s")
				return nil
			}
			rope[i] = list[i] == 1
		}
		return rope
	}
	interval := p.integer("no_rope_layer_interval", 4, false)
	if interval <= 0 {
		p.fail("no_rope_layer_interval", interval, "want a positive integer")
		return nil
	}
	for i := range rope {
		rope[i] = (i+1)%interval != 0
	}
	return rope
}

// smolLM3Owned sets the SmolLM3 fields config.json must change to express
// c: attention_bias and mlp_bias always; no_rope_layers, and the window
// fields, when config.json's own no longer give c's layers.
func (c *Config) smolLM3Owned(f map[string]any) {
	f["attention_bias"] = c.QKVBias
	f["mlp_bias"] = c.MLPBias
	p := &fieldParser{raw: c.raw}
	var was Config
	parseSmolLM3(p, &was, len(c.Layers))
	if p.err == nil && was.SlidingWindow == c.SlidingWindow && slices.Equal(was.Kinds, c.Kinds) {
		return
	}
	rope := make([]int, len(c.Layers))
	for i := range rope {
		if !c.noRoPE(i) {
			rope[i] = 1
		}
	}
	f["no_rope_layers"] = rope
	f["use_sliding_window"] = c.SlidingWindow > 0
	if c.SlidingWindow > 0 {
		f["sliding_window"] = c.SlidingWindow
	}
	f["layer_types"] = c.layerTypes()
}
