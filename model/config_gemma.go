package model

import (
	"fmt"
	"math"
	"slices"
)

// The Gemma families (transformers' models/gemma, gemma2, gemma3):
//
//   - gemma (GemmaForCausalLM): a Llama block with (1 + w) norms, the
//     token embeddings scaled by √hidden, and a GeGLU MLP.
//   - gemma2 (Gemma2ForCausalLM): plus a norm after attention and after the
//     MLP (four per layer), scores scaled by query_pre_attn_scalar^-½,
//     attention and final logit softcapping, and sliding-window attention
//     on every other layer (layer_types, else the even layers).
//   - gemma3_text (Gemma3ForCausalLM, Gemma 3 1B): Gemma 2's block with
//     per-head (1 + w) q/k norms, no softcapping by default, sliding
//     layers but every sliding_window_pattern-th (layer_types, else
//     layers i with (i+1) % pattern ≠ 0) using RoPE base
//     rope_local_base_freq without scaling, the others rope_theta with
//     rope_scaling; or, in transformers 5.x's form, each layer type's own
//     RoPE from rope_parameters keyed by layer type (config_rope_parse.go).
//
// Gemma 3's multimodal checkpoints (model_type gemma3,
// Gemma3ForConditionalGeneration) are not read.

// gemmaActivation reads the MLP activation: Gemma 2 and 3 read
// hidden_activation (default gelu_pytorch_tanh). Gemma 1's config.json
// files say hidden_act "gelu" while the models were trained with the tanh
// approximation; transformers 4.38–4.47 used hidden_activation (default
// tanh) and ignored hidden_act, 4.48 on reads hidden_act. lopper reads
// hidden_activation when the config sets it, else hidden_act.
func gemmaActivation(p *fieldParser, fam family) (key string, act Activation) {
	key = "hidden_activation"
	if fam.gemma == 1 && !p.present(key) {
		key = "hidden_act"
	}
	switch s := p.str(key, "gelu_pytorch_tanh", false); s {
	case "gelu_pytorch_tanh", "gelu_new":
		return key, GELUTanh
	case "gelu":
		return key, GELU
	default:
		if p.err == nil {
			p.fail(key, s, "unsupported activation (want gelu_pytorch_tanh, gelu_new or gelu)")
		}
	}
	return key, GELUTanh
}

// parseGemma reads the Gemma fields of config.json into c (n layers).
func parseGemma(p *fieldParser, c *Config, fam family, n int) {
	c.NormOffset, c.EmbedScale = true, true
	_, c.Act = gemmaActivation(p, fam)
	c.QKVBias = p.boolean("attention_bias", false)
	c.OBias = c.QKVBias
	if p.boolean("use_bidirectional_attention", false) {
		p.fail("use_bidirectional_attention", true, "bidirectional attention (EmbeddingGemma) is not supported")
	}
	if fam.gemma == 1 {
		return
	}
	c.PostNorms = true
	c.QueryScale = p.number("query_pre_attn_scalar", 256)
	defCap := 0.0
	if fam.gemma == 2 {
		defCap = 50
	}
	c.AttnSoftcap = nullable(p, "attn_logit_softcapping", defCap)
	if fam.gemma == 2 {
		defCap = 30
	}
	c.FinalSoftcap = nullable(p, "final_logit_softcapping", defCap)
	for _, f := range []struct {
		key string
		v   float64
	}{{"query_pre_attn_scalar", c.QueryScale}, {"attn_logit_softcapping", c.AttnSoftcap}, {"final_logit_softcapping", c.FinalSoftcap}} {
		if (f.v < 0 || math.IsInf(f.v, 0) || (f.key == "query_pre_attn_scalar" && f.v == 0)) && p.err == nil {
			p.fail(f.key, f.v, "want a positive number")
		}
	}
	w := int(nullable(p, "sliding_window", 4096))
	c.SlidingWindow, c.Kinds = slidingKinds(w, gemmaLayerTypes(p, fam, n))
	c.QKNorm = fam.gemma == 3 // the local RoPE: parseRoPE
}

// nullable reads a number that defaults to def when absent and means 0
// (none) when null.
func nullable(p *fieldParser, key string, def float64) float64 {
	if _, ok := p.raw[key]; !ok {
		return def
	}
	return p.number(key, 0)
}

// gemmaLayerTypes says which layers slide: layer_types, else Gemma 2's
// even layers or Gemma 3's all but every sliding_window_pattern-th.
func gemmaLayerTypes(p *fieldParser, fam family, n int) []LayerKind {
	if kinds := layerTypes(p, n); kinds != nil {
		return kinds
	}
	pattern := 2
	if fam.gemma == 3 {
		key := "sliding_window_pattern"
		if !p.present(key) && p.present("_sliding_window_pattern") {
			key = "_sliding_window_pattern"
		}
		if pattern = p.integer(key, 6, false); pattern <= 0 && p.err == nil {
			p.fail(key, pattern, "want a positive integer")
			return nil
		}
	}
	kinds := make([]LayerKind, n)
	for i := range kinds {
		kinds[i].Sliding = (i+1)%pattern != 0
	}
	return kinds
}

// checkGemma reports whether c's Gemma fields contradict model type mt
// (every Llama-family model type).
func (c *Config) checkGemma(mt string) error {
	gen := families[mt].gemma
	gelu := c.Act == GELU || c.Act == GELUTanh
	bad := gelu != (gen > 0) || c.NormOffset != (gen > 0) || c.EmbedScale != (gen > 0) || c.PostNorms != (gen >= 2 || mt == "olmo2") ||
		(gen < 2 && (c.QueryScale != 0 || c.AttnSoftcap != 0 || c.FinalSoftcap != 0)) ||
		(gen != 3 && (c.RopeLocalTheta != 0 || c.RopeLocal.typ() != RoPEDefault)) || (gen == 1 && c.SlidingWindow != 0) || (gen > 0 && c.MLPBias)
	if bad {
		return fmt.Errorf("model type %q cannot express Act=%s NormOffset=%v EmbedScale=%v PostNorms=%v QueryScale=%g softcaps %g/%g RopeLocalTheta=%g SlidingWindow=%d MLPBias=%v",
			mt, c.Act, c.NormOffset, c.EmbedScale, c.PostNorms, c.QueryScale, c.AttnSoftcap, c.FinalSoftcap, c.RopeLocalTheta, c.SlidingWindow, c.MLPBias)
	}
	if c.QueryScale < 0 || c.AttnSoftcap < 0 || c.FinalSoftcap < 0 || c.RopeLocalTheta < 0 {
		return fmt.Errorf("query scale, softcaps and local RoPE base must not be negative")
	}
	return nil
}

// gemmaOwned sets the Gemma fields config.json must change to express c
// (those config.json's own, or the family's defaults, do not give):
// attention_bias always; the activation, query_pre_attn_scalar and the
// softcaps when they differ; the window and, after layer removal,
// layer_types. The local RoPE is ropeFieldsOwned's.
func (c *Config) gemmaOwned(f map[string]any) {
	fam := families[c.modelType()]
	f["attention_bias"] = c.QKVBias
	p := &fieldParser{raw: c.raw}
	was := Config{ModelType: c.modelType()}
	parseGemma(p, &was, fam, len(c.Layers))
	if key, act := gemmaActivation(&fieldParser{raw: c.raw}, fam); act != c.Act || p.err != nil {
		name := "gelu_pytorch_tanh"
		if c.Act == GELU {
			name = "gelu"
		}
		f[key] = name
	}
	if fam.gemma == 1 {
		return
	}
	set := func(key string, was, v float64) {
		if p.err != nil || was != v {
			f[key] = v
			if v == 0 {
				f[key] = nil // none
			}
		}
	}
	set("query_pre_attn_scalar", was.QueryScale, c.QueryScale)
	set("attn_logit_softcapping", was.AttnSoftcap, c.AttnSoftcap)
	set("final_logit_softcapping", was.FinalSoftcap, c.FinalSoftcap)
	if p.err != nil || was.SlidingWindow != c.SlidingWindow || !slices.Equal(was.Kinds, c.Kinds) {
		if c.SlidingWindow > 0 {
			f["sliding_window"] = c.SlidingWindow
		}
		f["layer_types"] = c.layerTypes()
	}
}
