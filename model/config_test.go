package model

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseConfigFamilies(t *testing.T) {
	cases := []struct {
		name, json string
		check      func(t *testing.T, c Config)
	}{
		{"mistral defaults", `{"model_type":"mistral","hidden_size":32,"intermediate_size":64,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"vocab_size":50}`,
			func(t *testing.T, c Config) {
				if c.Arch != Llama || c.SlidingWindow != 4096 || c.RopeTheta != 10000 || c.NormEps != 1e-6 || c.TiedEmbeddings || c.QKVBias || c.HeadDim != 8 || c.MaxPos != 131072 {
					t.Errorf("%+v", c)
				}
			}},
		{"mistral without window", `{"model_type":"mistral","hidden_size":32,"intermediate_size":64,"num_hidden_layers":2,"num_attention_heads":4,"vocab_size":50,"sliding_window":null,"head_dim":16}`,
			func(t *testing.T, c Config) {
				if c.SlidingWindow != 0 || c.HeadDim != 16 || c.Layers[1].KVHeads != 4 {
					t.Errorf("%+v", c)
				}
			}},
		{"qwen2", `{"model_type":"qwen2","architectures":["Qwen2ForCausalLM"],"hidden_size":32,"intermediate_size":64,"num_hidden_layers":1,"num_attention_heads":4,"num_key_value_heads":2,"vocab_size":50,"use_sliding_window":false,"sliding_window":4096,"rope_theta":1000000.0}`,
			func(t *testing.T, c Config) {
				if !c.QKVBias || c.OBias || c.MLPBias || c.SlidingWindow != 0 || c.RopeTheta != 1e6 {
					t.Errorf("%+v", c)
				}
			}},
		{"qwen3 defaults", `{"model_type":"qwen3","hidden_size":64,"intermediate_size":64,"num_hidden_layers":2,"num_attention_heads":32,"vocab_size":50}`,
			func(t *testing.T, c Config) {
				// Qwen3Config: head_dim 128 and 32 kv heads when absent; no biases.
				if !c.QKNorm || c.HeadDim != 128 || c.Layers[0].KVHeads != 32 || c.QKVBias || c.OBias || c.MaxPos != 32768 || c.TiedEmbeddings {
					t.Errorf("%+v", c)
				}
			}},
		{"qwen3 nulls and bias", `{"model_type":"qwen3","architectures":["Qwen3ForCausalLM"],"hidden_size":64,"intermediate_size":64,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":null,"head_dim":null,"attention_bias":true,"vocab_size":50}`,
			func(t *testing.T, c Config) {
				if c.HeadDim != 16 || c.Layers[0].KVHeads != 4 || !c.QKVBias || !c.OBias || c.MLPBias {
					t.Errorf("%+v", c)
				}
			}},
		{"qwen3 window below max_window_layers", `{"model_type":"qwen3","hidden_size":32,"intermediate_size":64,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"vocab_size":50,"use_sliding_window":true,"sliding_window":64,"max_window_layers":2}`,
			func(t *testing.T, c Config) {
				if c.SlidingWindow != 0 {
					t.Errorf("no layer slides (max_window_layers 2 of 2), window %d", c.SlidingWindow)
				}
			}},
		{"qwen2 window from max_window_layers", `{"model_type":"qwen2","hidden_size":32,"intermediate_size":64,"num_hidden_layers":2,"num_attention_heads":4,"vocab_size":50,"use_sliding_window":true,"sliding_window":64,"max_window_layers":1}`,
			func(t *testing.T, c Config) {
				if c.SlidingWindow != 64 {
					t.Errorf("layer 1 slides, window %d", c.SlidingWindow)
				}
			}},
		{"qwen2 explicit layer_types win", `{"model_type":"qwen2","hidden_size":32,"intermediate_size":64,"num_hidden_layers":2,"num_attention_heads":4,"vocab_size":50,"use_sliding_window":true,"sliding_window":64,"max_window_layers":0,"layer_types":["full_attention","full_attention"]}`,
			func(t *testing.T, c Config) {
				if c.SlidingWindow != 0 {
					t.Errorf("layer_types lists no sliding layer, window %d", c.SlidingWindow)
				}
			}},
		{"qwen2 window off", `{"model_type":"qwen2","hidden_size":32,"intermediate_size":64,"num_hidden_layers":2,"num_attention_heads":4,"vocab_size":50,"use_sliding_window":false,"sliding_window":64,"max_window_layers":0,"layer_types":["sliding_attention","sliding_attention"]}`,
			func(t *testing.T, c Config) {
				if c.SlidingWindow != 0 {
					t.Errorf("use_sliding_window false, window %d", c.SlidingWindow)
				}
			}},
		{"gpt2 defaults", `{"model_type":"gpt2","n_embd":32,"n_layer":3,"n_head":4,"vocab_size":50}`,
			func(t *testing.T, c Config) {
				if c.Arch != GPT2 || c.Act != GELUTanh || c.Layers[2].Intermediate != 128 || c.HeadDim != 8 || !c.TiedEmbeddings || c.MaxPos != 1024 || c.NormEps != 1e-5 {
					t.Errorf("%+v", c)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tc.json))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestParseConfigRejects(t *testing.T) {
	base := `"hidden_size":32,"intermediate_size":64,"num_hidden_layers":2,"num_attention_heads":4,"vocab_size":50`
	cases := []struct{ json, want string }{
		{`[1]`, "not a JSON object"},
		{`{"hidden_size":32}`, `"model_type" is missing`},
		{`{"model_type":"t5"}`, `"model_type" = "t5": unsupported`},
		{`{"model_type":"llama",` + base + `,"hidden_act":"gelu"}`, `"hidden_act" = "gelu"`},
		{`{"model_type":"llama",` + base + `,"rope_scaling":{"rope_type":"llama3"}}`, `field "rope_scaling": field "factor" is missing (required by rope_type "llama3")`},
		{`{"model_type":"llama",` + base + `,"num_key_value_heads":3}`, "not a multiple of 3 kv heads"},
		{`{"model_type":"llama",` + base + `,"head_dim":7}`, "even head dim"},
		{`{"model_type":"llama",` + base + `,"vocab_size":1.5}`, `"vocab_size" = 1.5: want an integer`},
		{`{"model_type":"llama",` + base + `,"tie_word_embeddings":"yes"}`, `"tie_word_embeddings" = "yes": want true or false`},
		{`{"model_type":"llama",` + base + `,"partial_rotary_factor":0.5}`, `"partial_rotary_factor" = 0.5: transformers' llama attention rotates whole heads`},
		{`{"model_type":"llama",` + base + `,"architectures":["MistralForCausalLM"]}`, `unsupported entry "MistralForCausalLM"`},
		{`{"model_type":"mistral",` + base + `,"layer_types":["full_attention","sliding_attention"]}`, `"layer_types" = ["full_attention","sliding_attention"]: mixes attention kinds`},
		{`{"model_type":"qwen2",` + base + `,"use_sliding_window":true,"sliding_window":8,"layer_types":["full_attention"]}`, `has 1 entries for 2 layers`},
		{`{"model_type":"qwen2",` + base + `,"use_sliding_window":true,"sliding_window":8,"layer_types":["full_attention","chunked_attention"]}`, `unsupported entry "chunked_attention"`},
		{`{"model_type":"qwen3",` + base + `,"architectures":["Qwen3MoeForCausalLM"]}`, `unsupported entry "Qwen3MoeForCausalLM"`},
		{`{"model_type":"gpt2","n_embd":30,"n_layer":1,"n_head":4,"vocab_size":50}`, `"n_head" = 4: does not divide n_embd 30`},
		{`{"model_type":"gpt2","n_embd":32,"n_layer":1,"n_head":4,"vocab_size":50,"scale_attn_by_inverse_layer_idx":true}`, `"scale_attn_by_inverse_layer_idx"`},
		{`{"model_type":"gpt2","n_embd":32,"n_layer":0,"n_head":4,"vocab_size":50}`, "number of layers must be positive"},
		{`{"model_type":"llama",` + base + `,"lopper_dims":{"head_dim":8,"layers":[{"heads":4,"kv_heads":2,"intermediate":64}]}}`, `lists 1 layers but the config has 2`},
	}
	for _, c := range cases {
		_, err := ParseConfig([]byte(c.json))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.json, err, c.want)
		}
	}
}

// MarshalHF keeps unknown fields and the spelling of unchanged values,
// sorts keys, and writes changed dims; the output parses back to the same
// config and is a fixed point.
func TestMarshalHFKeepsFieldsAndUpdatesDims(t *testing.T) {
	src := `{"model_type":"llama","architectures":["LlamaForCausalLM"],"hidden_size":24,"intermediate_size":40,
	  "num_hidden_layers":2,"num_attention_heads":3,"num_key_value_heads":1,"vocab_size":29,"rope_theta":10000.0,
	  "rms_norm_eps":1e-05,"custom":{"z":1.50,"a":[1,2]},"bos_token_id":1,"transformers_version":"4.44.0"}`
	c, out := parseMarshal(t, src)
	s := string(out)
	for _, want := range []string{`"custom": {` + "\n" + `    "z": 1.50,`, `"rope_theta": 10000.0`, `"rms_norm_eps": 1e-05`, `"transformers_version": "4.44.0"`} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "head_dim") || strings.Contains(s, "lopper_dims") {
		t.Errorf("unexpected fields for an HF-compatible model:\n%s", s)
	}
	if !strings.HasPrefix(s, "{\n  \"architectures\"") || !strings.HasSuffix(s, "}\n") {
		t.Errorf("not sorted / newline-terminated:\n%s", s)
	}

	// Structured pruning: 2 heads per layer now, intermediate 33.
	for i := range c.Layers {
		c.Layers[i] = LayerDims{Heads: 2, KVHeads: 1, Intermediate: 33}
	}
	out, err := c.MarshalHF("bfloat16")
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(out, &fields); err != nil {
		t.Fatal(err)
	}
	if fields["num_attention_heads"] != 2.0 || fields["head_dim"] != 8.0 || fields["intermediate_size"] != 33.0 || fields["torch_dtype"] != "bfloat16" {
		t.Errorf("dims not updated: %v", fields)
	}
	c2, err := ParseConfig(out)
	if err != nil {
		t.Fatal(err)
	}
	if c2.HeadDim != 8 || c2.Layers[1] != c.Layers[1] {
		t.Errorf("reparsed %+v", c2)
	}
	again, err := c2.MarshalHF("bfloat16")
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(out) {
		t.Errorf("not a fixed point:\n%s\nvs\n%s", out, again)
	}
}

// Non-uniform layers are written with lopper_dims, flagged as not loadable
// by Hugging Face, and load back with their per-layer dims.
func TestNonUniformModelRoundTrip(t *testing.T) {
	m := randomModel(t, tinyConfigs()["gpt2-tanh-nonuniform"], 3)
	if m.Config.Uniform() || m.Config.HFCompatible() == nil {
		t.Fatal("config should be non-uniform and HF-incompatible")
	}
	dir := filepath.Join(t.TempDir(), "m")
	if err := m.Save(dir, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	m2, err := Load(dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m2.Config.Layers) != 2 || m2.Config.Layers[1] != (LayerDims{2, 2, 18}) || firstBitDiff(m.W, m2.W) >= 0 {
		t.Fatalf("reloaded %+v", m2.Config.Layers)
	}
	var doc lopperDoc
	b, err := os.ReadFile(filepath.Join(dir, metaFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.HFCompatible || !strings.Contains(doc.Reason, "layer 1: 2 heads") {
		t.Errorf("lopper.json: %s", b)
	}
	cfg, err := os.ReadFile(filepath.Join(dir, configFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cfg), `"lopper_dims"`) || !strings.Contains(string(cfg), `"n_head": 3`) {
		t.Errorf("config.json:\n%s", cfg)
	}
	// Made uniform again, the model drops lopper_dims.
	m2.Config.Layers[1] = m2.Config.Layers[0]
	out, err := m2.Config.MarshalHF("")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "lopper_dims") {
		t.Errorf("uniform model still has lopper_dims:\n%s", out)
	}
}

// Floats are written as Python's repr writes them (the values below are
// what CPython's repr() prints), so saved configs look like HF's own.
func TestPyFloat(t *testing.T) {
	for v, want := range map[float64]string{
		10000: "10000.0", 1e6: "1000000.0", 1e-5: "1e-05", 1e-6: "1e-06", 0.5: "0.5",
		1e16: "1e+16", 123456789.125: "123456789.125", 0.0001: "0.0001", 2.5e-7: "2.5e-07", 0: "0.0",
	} {
		if got := pyFloat(v); got != want {
			t.Errorf("pyFloat(%v) = %s, Python repr %s", v, got, want)
		}
	}
}

// A window shorter than the sequence is computed, not refused.
func TestSlidingWindowLongerSequences(t *testing.T) {
	cfg := tinyConfigs()["llama"]
	cfg.ModelType, cfg.TiedEmbeddings, cfg.SlidingWindow = "mistral", false, 4
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, T := range []int{4, 5, 16} {
		if _, err := NewState(m, 1, T); err != nil {
			t.Errorf("T %d: %v", T, err)
		}
	}
	if _, err := NewState(m, 1, 17); err == nil || !strings.Contains(err.Error(), "exceeds the model's 16 positions") {
		t.Errorf("T beyond max positions: %v", err)
	}
}

// A Qwen config keeps window fields that still fit its layers; after layer
// removal it says which of the remaining layers slide (max_window_layers
// when the sliding layers come last, else layer_types), and loads back to
// the same layers.
func TestMarshalHFQwenWindow(t *testing.T) {
	src := `{"model_type":"qwen3","architectures":["Qwen3ForCausalLM"],"hidden_size":32,"intermediate_size":64,"num_hidden_layers":4,"num_attention_heads":4,"num_key_value_heads":4,"head_dim":8,"vocab_size":50,
	  "use_sliding_window":true,"sliding_window":64,"max_window_layers":2}`
	c, out := parseMarshal(t, src)
	if c.SlidingWindow != 64 || !slices.Equal(c.Kinds, []LayerKind{{}, {}, {Sliding: true}, {Sliding: true}}) {
		t.Fatalf("window %d kinds %v", c.SlidingWindow, c.Kinds)
	}
	if !strings.Contains(string(out), `"max_window_layers": 2`) || strings.Contains(string(out), `layer_types`) {
		t.Errorf("window fields rewritten although they fit:\n%s", out)
	}
	for _, tc := range []struct {
		keep  []int
		kinds []LayerKind
		field string
	}{
		{[]int{0, 1}, nil, `"max_window_layers": 2`}, // still true: no layer slides
		{[]int{0, 3}, []LayerKind{{}, {Sliding: true}}, `"max_window_layers": 1`},
		{[]int{2, 3}, nil, `"max_window_layers": 0`},
		{[]int{0, 2, 1}, []LayerKind{{}, {Sliding: true}, {}}, `"sliding_attention",`},
	} {
		c2 := c.Clone()
		c2.SetLayers(tc.keep, uniformLayers(len(tc.keep), c.Layers[0]))
		back, out := reparse(t, &c2)
		want := 64
		if tc.kinds == nil && tc.keep[0] == 0 {
			want = 0
		}
		if back.SlidingWindow != want || !slices.Equal(back.Kinds, tc.kinds) || !strings.Contains(string(out), tc.field) {
			t.Errorf("layers %v: reloaded window %d kinds %v, want %d %v and %s:\n%s", tc.keep, back.SlidingWindow, back.Kinds, want, tc.kinds, tc.field, out)
		}
	}
}
