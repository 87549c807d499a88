package model

import (
	"slices"
	"strings"
	"testing"
)

// Gemma configs read as transformers' config classes do: the activation
// (Gemma 1: hidden_activation when set, else hidden_act), the defaults of
// absent fields, null softcaps, the sliding layers (layer_types, else the
// family's pattern) and Gemma 3's local RoPE base.
func TestParseGemmaConfigs(t *testing.T) {
	base := `"hidden_size":32,"intermediate_size":64,"num_hidden_layers":4,"num_attention_heads":4,"num_key_value_heads":2,"vocab_size":50`
	slide := func(s ...bool) []LayerKind {
		k := make([]LayerKind, len(s))
		for i, v := range s {
			k[i].Sliding = v
		}
		return k
	}
	cases := []struct {
		name, json string
		check      func(c Config) bool
	}{
		{"gemma hidden_act gelu", `{"model_type":"gemma",` + base + `,"hidden_act":"gelu"}`, func(c Config) bool {
			return c.Act == GELU && c.HeadDim == 256 && c.NormOffset && c.EmbedScale && !c.PostNorms && c.TiedEmbeddings && c.SlidingWindow == 0
		}},
		{"gemma hidden_activation wins", `{"model_type":"gemma",` + base + `,"hidden_act":"gelu","hidden_activation":"gelu_pytorch_tanh"}`, func(c Config) bool {
			return c.Act == GELUTanh
		}},
		{"gemma2 defaults", `{"model_type":"gemma2",` + base + `}`, func(c Config) bool {
			return c.Act == GELUTanh && c.PostNorms && c.QueryScale == 256 && c.AttnSoftcap == 50 && c.FinalSoftcap == 30 &&
				c.SlidingWindow == 4096 && slices.Equal(c.Kinds, slide(true, false, true, false)) && c.RopeTheta == 10000 && !c.QKNorm
		}},
		{"gemma2 null softcaps", `{"model_type":"gemma2",` + base + `,"attn_logit_softcapping":null,"final_logit_softcapping":null,"query_pre_attn_scalar":144}`, func(c Config) bool {
			return c.AttnSoftcap == 0 && c.FinalSoftcap == 0 && c.QueryScale == 144
		}},
		{"gemma3 defaults", `{"model_type":"gemma3_text",` + base + `,"sliding_window":512}`, func(c Config) bool {
			return c.QKNorm && c.RopeTheta == 1e6 && c.RopeLocalTheta == 10000 && c.AttnSoftcap == 0 && c.FinalSoftcap == 0 &&
				c.SlidingWindow == 512 && c.Kinds == nil // (i+1) % 6 ≠ 0 for all 4 layers
		}},
		{"gemma3 pattern", `{"model_type":"gemma3_text",` + base + `,"sliding_window_pattern":2,"rope_local_base_freq":20,"rope_scaling":{"rope_type":"linear","factor":8.0}}`, func(c Config) bool {
			return slices.Equal(c.Kinds, slide(true, false, true, false)) && c.RopeLocalTheta == 20 && c.Rope.Type == RoPELinear
		}},
		{"gemma3 _sliding_window_pattern", `{"model_type":"gemma3_text",` + base + `,"_sliding_window_pattern":3}`, func(c Config) bool {
			return slices.Equal(c.Kinds, slide(true, true, false, true))
		}},
		{"gemma3 layer_types win", `{"model_type":"gemma3_text",` + base + `,"sliding_window_pattern":2,"layer_types":["full_attention","sliding_attention","sliding_attention","sliding_attention"]}`, func(c Config) bool {
			return slices.Equal(c.Kinds, slide(false, true, true, true))
		}},
	}
	for _, tc := range cases {
		c, err := ParseConfig([]byte(tc.json))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !tc.check(c) {
			t.Errorf("%s: parsed %+v", tc.name, c)
		}
	}
	for _, bad := range []struct{ json, want string }{
		{`{"model_type":"gemma3_text",` + base + `,"use_bidirectional_attention":true}`, `"use_bidirectional_attention" = true: bidirectional attention`},
		{`{"model_type":"gemma2",` + base + `,"hidden_activation":"relu"}`, `"hidden_activation" = "relu": unsupported activation`},
		{`{"model_type":"gemma2",` + base + `,"attn_logit_softcapping":-1}`, `"attn_logit_softcapping" = -1: want a positive number`},
		{`{"model_type":"gemma3",` + base + `}`, `"model_type" = "gemma3": unsupported`},
	} {
		if _, err := ParseConfig([]byte(bad.json)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: error %v, want %q", bad.json, err, bad.want)
		}
	}
}

// After layer removal a Gemma 2 or 3 config lists which remaining layers
// slide in layer_types (the pattern no longer gives them), and loads back
// to the same layers; a config whose fields still fit is left alone.
func TestMarshalHFGemmaLayerTypes(t *testing.T) {
	for _, mt := range []string{"gemma2", "gemma3_text"} {
		src := `{"model_type":"` + mt + `","hidden_size":32,"intermediate_size":64,"num_hidden_layers":4,"num_attention_heads":4,"num_key_value_heads":2,"vocab_size":50,"sliding_window":8,"sliding_window_pattern":2}`
		c, out := parseMarshal(t, src)
		if strings.Contains(string(out), "layer_types") || strings.Contains(string(out), "hidden_act") {
			t.Errorf("%s: fields written although they fit:\n%s", mt, out)
		}
		c.SetLayers([]int{1, 2, 3}, c.Layers[:3])
		back, out := reparse(t, &c)
		want := []LayerKind{{}, {Sliding: true}, {}}
		if back.SlidingWindow != 8 || !slices.Equal(back.Kinds, want) || !strings.Contains(string(out), `"full_attention",`) {
			t.Errorf("%s: reloaded window %d kinds %v, want 8 %v:\n%s", mt, back.SlidingWindow, back.Kinds, want, out)
		}
	}
}
