package model

import (
	"slices"
	"strings"
	"testing"
)

// SmolLM3's NoPE layers come from no_rope_layers (1 = RoPE; a longer list
// is cut to the layers), else every no_rope_layer_interval-th layer; with
// use_sliding_window the NoPE layers slide, unless layer_types says
// otherwise. OLMo 2 has no input norms and q/k norms over the whole
// projection.
func TestParseOLMo2AndSmolLM3(t *testing.T) {
	base := `"hidden_size":32,"intermediate_size":64,"num_hidden_layers":4,"num_attention_heads":4,"num_key_value_heads":2,"vocab_size":50`
	kinds := func(s ...string) []LayerKind { // "r": RoPE, "n": NoPE, "ns": NoPE and sliding, "rs"
		out := make([]LayerKind, len(s))
		for i, k := range s {
			out[i] = LayerKind{NoRoPE: k[0] == 'n', Sliding: strings.HasSuffix(k, "s")}
		}
		return out
	}
	cases := []struct {
		name, json string
		window     int
		kinds      []LayerKind
	}{
		{"interval default", `{"model_type":"smollm3",` + base + `}`, 0, kinds("r", "r", "r", "n")},
		{"interval 2", `{"model_type":"smollm3",` + base + `,"no_rope_layer_interval":2}`, 0, kinds("r", "n", "r", "n")},
		{"list wins, longer", `{"model_type":"smollm3",` + base + `,"no_rope_layers":[0,1,1,1,0,0],"no_rope_layer_interval":2}`, 0, kinds("n", "r", "r", "r")},
		{"sliding NoPE layers", `{"model_type":"smollm3",` + base + `,"use_sliding_window":true,"sliding_window":8}`, 8, kinds("r", "r", "r", "ns")},
		{"layer_types win", `{"model_type":"smollm3",` + base + `,"use_sliding_window":true,"sliding_window":8,"layer_types":["sliding_attention","full_attention","full_attention","full_attention"]}`, 8, kinds("rs", "r", "r", "n")},
		{"window off", `{"model_type":"smollm3",` + base + `,"use_sliding_window":false,"sliding_window":8}`, 0, kinds("r", "r", "r", "n")},
	}
	for _, tc := range cases {
		c, err := ParseConfig([]byte(tc.json))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if c.SlidingWindow != tc.window || !slices.Equal(c.Kinds, tc.kinds) || !c.TiedEmbeddings || c.RopeTheta != 2e6 {
			t.Errorf("%s: window %d kinds %v tied %v θ %g, want %d %v", tc.name, c.SlidingWindow, c.Kinds, c.TiedEmbeddings, c.RopeTheta, tc.window, tc.kinds)
		}
	}
	c, err := ParseConfig([]byte(`{"model_type":"olmo2",` + base + `}`))
	if err != nil {
		t.Fatal(err)
	}
	if !c.NoPreNorms || !c.PostNorms || !c.QKNorm || !c.QKNormWide || c.TiedEmbeddings || c.NormEps != 1e-5 || c.NormOffset {
		t.Errorf("olmo2: %+v", c)
	}
	l, err := NewLayout(&c)
	if err != nil {
		t.Fatal(err)
	}
	for name, size := range map[string]int{"model.layers.0.self_attn.q_norm.weight": 32, "model.layers.0.self_attn.k_norm.weight": 16,
		"model.layers.0.post_attention_layernorm.weight": 32, "model.layers.0.post_feedforward_layernorm.weight": 32} {
		if ti, ok := l.Lookup(name); !ok || ti.Size != size {
			t.Errorf("olmo2: %s %+v", name, ti)
		}
	}
	for _, absent := range []string{"model.layers.0.input_layernorm.weight", "model.layers.0.pre_feedforward_layernorm.weight"} {
		if _, ok := l.Lookup(absent); ok {
			t.Errorf("olmo2 has %s", absent)
		}
	}
	for _, bad := range []struct{ json, want string }{
		{`{"model_type":"smollm3",` + base + `,"no_rope_layers":[1,1]}`, `has 2 entries for 4 layers`},
		{`{"model_type":"smollm3",` + base + `,"no_rope_layers":[1,2,1,1]}`, `want a list of 0s and 1s`},
		{`{"model_type":"smollm3",` + base + `,"no_rope_layer_interval":0}`, `"no_rope_layer_interval" = 0: want a positive integer`},
	} {
		if _, err := ParseConfig([]byte(bad.json)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: error %v, want %q", bad.json, err, bad.want)
		}
	}
}

// After layer removal a SmolLM3 config lists its remaining NoPE layers in
// no_rope_layers (the interval no longer gives them) and loads back to the
// same layers; a config whose fields fit is left alone.
func TestMarshalHFSmolLM3Layers(t *testing.T) {
	src := `{"model_type":"smollm3","hidden_size":32,"intermediate_size":64,"num_hidden_layers":4,"num_attention_heads":4,"num_key_value_heads":2,"vocab_size":50,"use_sliding_window":true,"sliding_window":8}`
	c, out := parseMarshal(t, src)
	if strings.Contains(string(out), "no_rope_layers") || strings.Contains(string(out), "layer_types") {
		t.Errorf("fields written although they fit:\n%s", out)
	}
	c.SetLayers([]int{0, 3, 2}, c.Layers[:3])
	back, out := reparse(t, &c)
	want := []LayerKind{{}, {Sliding: true, NoRoPE: true}, {}}
	if back.SlidingWindow != 8 || !slices.Equal(back.Kinds, want) {
		t.Errorf("reloaded window %d kinds %v, want 8 %v:\n%s", back.SlidingWindow, back.Kinds, want, out)
	}
}
