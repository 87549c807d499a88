package model

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// gemma3RoPE renders the RoPE fields of a config for comparisons.
func gemma3RoPE(c Config) string {
	b, _ := json.Marshal(struct {
		Theta, LocalTheta float64
		Rope, Local       RoPEScaling
		Rotary            int
	}{c.RopeTheta, c.RopeLocalTheta, c.Rope, c.RopeLocal, c.RotaryDim})
	return string(b)
}

// Gemma 3's RoPE reads the same from transformers 4.x's fields
// (rope_theta, rope_scaling for the full layers, rope_local_base_freq for
// the sliding ones) and 5.x's rope_parameters keyed by layer type, with
// Gemma3TextConfig.convert_rope_params_to_dict's defaults: a missing layer
// type is default RoPE, θ falls back to the top-level fields (then 1e6 and
// 1e4), a rope_scaling beside it updates the full layers' dict; and each
// layer type may have its own scaling.
func TestParseGemma3RoPELayerTypes(t *testing.T) {
	base := `{"model_type":"gemma3_text","hidden_size":32,"intermediate_size":64,"num_hidden_layers":4,"num_attention_heads":4,"num_key_value_heads":2,"vocab_size":50,"head_dim":8,`
	linear8 := RoPEScaling{Type: RoPELinear, Factor: 8}
	cases := []struct {
		name, json string
		want       Config
	}{
		{"4.x", `"rope_theta":500000.0,"rope_local_base_freq":20.0,"rope_scaling":{"rope_type":"linear","factor":8.0}}`,
			Config{RopeTheta: 5e5, Rope: linear8, RopeLocalTheta: 20}},
		{"4.x defaults", `"sliding_window":512}`, Config{RopeTheta: 1e6, RopeLocalTheta: 1e4}},
		{"5.x", `"rope_parameters":{"full_attention":{"rope_type":"linear","factor":8.0,"rope_theta":500000.0},"sliding_attention":{"rope_type":"default","rope_theta":20.0}}}`,
			Config{RopeTheta: 5e5, Rope: linear8, RopeLocalTheta: 20}},
		{"5.x θ from the top-level fields", `"rope_theta":500000.0,"rope_local_base_freq":20.0,"rope_parameters":{"full_attention":{"rope_type":"linear","factor":8.0},"sliding_attention":{"rope_type":"default"}}}`,
			Config{RopeTheta: 5e5, Rope: linear8, RopeLocalTheta: 20}},
		{"5.x dict θ wins", `"rope_theta":1.0,"rope_local_base_freq":2.0,"rope_parameters":{"full_attention":{"rope_type":"default","rope_theta":300.0},"sliding_attention":{"rope_type":"default","rope_theta":30.0}}}`,
			Config{RopeTheta: 300, RopeLocalTheta: 30}},
		{"5.x missing layer type", `"rope_parameters":{"full_attention":{"rope_type":"linear","factor":8.0}}}`,
			Config{RopeTheta: 1e6, Rope: linear8, RopeLocalTheta: 1e4}},
		{"5.x with rope_scaling", `"rope_scaling":{"rope_type":"linear","factor":8.0},"rope_parameters":{"full_attention":{"rope_type":"default","rope_theta":5.0},"sliding_attention":{"rope_type":"default","rope_theta":7.0}}}`,
			Config{RopeTheta: 5, Rope: linear8, RopeLocalTheta: 7}},
		{"5.x sliding scaling", `"rope_parameters":{"full_attention":{"rope_type":"default","rope_theta":1000.0},"sliding_attention":{"rope_type":"yarn","factor":4.0,"rope_theta":10.0,"original_max_position_embeddings":512}}}`,
			Config{RopeTheta: 1000, RopeLocalTheta: 10, RopeLocal: RoPEScaling{Type: RoPEYaRN, Factor: 4, OriginalMaxPos: 512}}},
	}
	for _, tc := range cases {
		c, err := ParseConfig([]byte(base + tc.json))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got, want := gemma3RoPE(c), gemma3RoPE(tc.want); got != want {
			t.Errorf("%s: parsed %s, want %s", tc.name, got, want)
		}
	}
	llama := `{"model_type":"llama","hidden_size":32,"intermediate_size":64,"num_hidden_layers":2,"num_attention_heads":4,"vocab_size":50,`
	for _, bad := range []struct{ json, want string }{
		{llama + `"rope_parameters":{"full_attention":{"rope_type":"default"},"sliding_attention":{"rope_type":"default"}}}`,
			`per-layer-type RoPE parameters are not supported for model_type "llama"`},
		{base + `"rope_parameters":{"full_attention":{"rope_type":"default"},"chunked_attention":{"rope_type":"default"}}}`,
			`unsupported layer type "chunked_attention"`},
		{base + `"rope_parameters":{"full_attention":{"rope_type":"default"},"rope_type":"default"}}`,
			`mixes layer types and plain RoPE keys ("rope_type")`},
		{base + `"rope_scaling":{"full_attention":{"rope_type":"default"}}}`,
			`"rope_scaling" = {"full_attention":{"rope_type":"default"}}: a dict per layer type is transformers 5.x's rope_parameters form`},
		{base + `"rope_parameters":{"sliding_attention":{"rope_type":"llama3","factor":2.0,"high_freq_factor":4.0}}}`,
			`field "rope_parameters": field "sliding_attention": field "low_freq_factor" is missing (required by rope_type "llama3")`},
		{base + `"rope_parameters":{"sliding_attention":{"rope_type":"default","rope_theta":-1.0}}}`,
			`the sliding layers' RoPE base -1: want a positive number`},
		{base + `"rope_local_base_freq":0}`, `"rope_local_base_freq" = 0: the sliding layers' RoPE base 0`},
		{base + `"rope_parameters":{"full_attention":{"rope_type":"default"},"sliding_attention":{"rope_type":"default","partial_rotary_factor":0.5}}}`,
			`the sliding layers' partial_rotary_factor 0.5 differs from the full layers' 1`},
		{base + `"rope_parameters":{"sliding_attention":{"rope_type":"linear","factor":0.0}}}`,
			`sliding layers: rope linear factor must be positive`},
	} {
		if _, err := ParseConfig([]byte(bad.json)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: error %v, want %q", bad.json, err, bad.want)
		}
	}
}

// The same Gemma 3 weights under transformers 4.x's config and 5.x's
// per-layer-type rope_parameters (the PyTorch goldens gemma3-f32 and
// gemma3-v5-f32) read to the same RoPE and give bit-identical logits; each
// saves back its own config.json byte for byte.
func TestGemma3ConfigFormsAgree(t *testing.T) {
	var logits [2][]float32
	var ropes [2]string
	for i, name := range []string{"gemma3-f32", "gemma3-v5-f32"} {
		dir := filepath.Join("testdata", "goldens", name)
		m, err := Load(dir, LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		g := loadGolden(t, dir)
		st, err := NewInferenceState(m, g.B, g.T)
		if err != nil {
			t.Fatal(err)
		}
		out, err := st.Forward(g.Tokens)
		if err != nil {
			t.Fatal(err)
		}
		logits[i], ropes[i] = append([]float32(nil), out...), gemma3RoPE(m.Config)
		saved := filepath.Join(t.TempDir(), "m")
		if err := m.Save(saved, SaveOptions{}); err != nil {
			t.Fatal(err)
		}
		src, err := os.ReadFile(filepath.Join(dir, "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(saved, "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(src) {
			t.Errorf("%s: saved config.json differs from the source:\n%s", name, got)
		}
	}
	if ropes[0] != ropes[1] {
		t.Errorf("RoPE 4.x %s, 5.x %s", ropes[0], ropes[1])
	}
	if i := firstBitDiff(logits[0], logits[1]); i >= 0 {
		t.Errorf("logit %d: 4.x %g, 5.x %g", i, logits[0][i], logits[1][i])
	}
}

// MarshalHF writes Gemma 3's RoPE in the form config.json has: a change to
// a 5.x config rewrites its rope_parameters (no 4.x fields appear), a
// change to a 4.x config its 4.x fields; a config built in Go whose
// sliding layers have a scaling gets the 5.x form (4.x cannot express
// it), one without gets the 4.x form. Each reparses to the config written.
func TestMarshalHFGemma3RoPEForms(t *testing.T) {
	base := `{"model_type":"gemma3_text","hidden_size":32,"intermediate_size":64,"num_hidden_layers":4,"num_attention_heads":4,"num_key_value_heads":2,"vocab_size":50,"head_dim":8,`
	v5 := base + `"dtype":"bfloat16","rope_parameters":{"full_attention":{"rope_type":"linear","factor":8.0,"rope_theta":500000.0},"sliding_attention":{"rope_type":"default","rope_theta":20.0}}}`
	v4 := base + `"torch_dtype":"bfloat16","rope_theta":500000.0,"rope_local_base_freq":20.0,"rope_scaling":{"rope_type":"linear","factor":8.0}}`
	literal := tinyConfigs()["gemma3"]
	local := tinyConfigs()["gemma3-local-rope"]
	for _, tc := range []struct {
		name   string
		src    string
		lit    *Config
		change func(c *Config)
		has    []string // in the output
		hasNot []string // top-level fields
	}{
		{"5.x unchanged", v5, nil, func(*Config) {}, []string{`"dtype": "float32"`, `"full_attention"`}, []string{"rope_theta", "rope_scaling", "rope_local_base_freq", "torch_dtype"}},
		{"5.x new θ", v5, nil, func(c *Config) { c.RopeTheta, c.RopeLocalTheta = 1000, 30 }, []string{`"rope_theta": 1000.0`, `"rope_theta": 30.0`},
			[]string{"rope_scaling", "rope_local_base_freq"}},
		{"5.x sliding scaling", v5, nil, func(c *Config) { c.RopeLocal = RoPEScaling{Type: RoPELinear, Factor: 2} }, []string{`"factor": 2.0`}, []string{"rope_scaling"}},
		{"4.x new θ", v4, nil, func(c *Config) { c.RopeTheta, c.RopeLocalTheta = 1000, 30 }, []string{`"rope_theta": 1000.0`, `"rope_local_base_freq": 30.0`, `"torch_dtype": "float32"`},
			[]string{"rope_parameters", "dtype"}},
		{"4.x sliding scaling", v4, nil, func(c *Config) { c.RopeLocal = RoPEScaling{Type: RoPELinear, Factor: 2} }, []string{`"sliding_attention"`, `"rope_scaling": null`}, nil},
		{"literal", "", &literal, func(*Config) {}, []string{`"rope_local_base_freq": 50.0`, `"rope_scaling"`}, []string{"rope_parameters"}},
		{"literal sliding scaling", "", &local, func(*Config) {}, []string{`"sliding_attention"`, `"rope_type": "yarn"`}, []string{"rope_local_base_freq", "rope_scaling"}},
	} {
		var c Config
		if tc.lit != nil {
			c = tc.lit.Clone()
		} else {
			var err error
			if c, err = ParseConfig([]byte(tc.src)); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
		}
		tc.change(&c)
		out, err := c.MarshalHF("float32")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for _, s := range tc.has {
			if !strings.Contains(string(out), s) {
				t.Errorf("%s: output lacks %s:\n%s", tc.name, s, out)
			}
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(out, &fields); err != nil {
			t.Fatal(err)
		}
		for _, k := range tc.hasNot {
			if _, ok := fields[k]; ok {
				t.Errorf("%s: output has %s:\n%s", tc.name, k, out)
			}
		}
		back, err := ParseConfig(out)
		if err != nil {
			t.Fatalf("%s: %v\n%s", tc.name, err, out)
		}
		if got, want := gemma3RoPE(back), gemma3RoPE(c); got != want {
			t.Errorf("%s: reparsed %s, want %s\n%s", tc.name, got, want, out)
		}
	}
}
