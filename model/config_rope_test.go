package model

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const ropeBase = `"hidden_size":32,"intermediate_size":64,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"vocab_size":50`

// Both config forms (transformers 4.x rope_scaling with type or rope_type
// and a top-level rope_theta; 5.x rope_parameters holding rope_theta) give
// the same scaling; transformers' precedence rules hold.
func TestParseRoPEConfigForms(t *testing.T) {
	llama32 := RoPEScaling{Type: RoPELlama3, Factor: 32, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPos: 8192}
	cases := []struct {
		name, json string
		theta      float64
		want       RoPEScaling
		rotary     int
	}{
		{"v4 llama3", `{"model_type":"llama",` + ropeBase + `,"rope_theta":500000.0,"rope_scaling":{"factor":32.0,"high_freq_factor":4.0,"low_freq_factor":1.0,"original_max_position_embeddings":8192,"rope_type":"llama3"}}`,
			5e5, llama32, 0},
		{"v5 llama3", `{"model_type":"llama",` + ropeBase + `,"rope_parameters":{"rope_theta":500000.0,"factor":32.0,"high_freq_factor":4.0,"low_freq_factor":1.0,"original_max_position_embeddings":8192,"rope_type":"llama3"}}`,
			5e5, llama32, 0},
		{"both forms agreeing", `{"model_type":"llama",` + ropeBase + `,"rope_theta":500000.0,"rope_scaling":{"rope_type":"llama3","factor":32,"high_freq_factor":4,"low_freq_factor":1,"original_max_position_embeddings":8192},"rope_parameters":{"rope_type":"llama3","factor":32.0,"high_freq_factor":4.0,"low_freq_factor":1.0,"original_max_position_embeddings":8192}}`,
			5e5, llama32, 0},
		{"legacy type key", `{"model_type":"llama",` + ropeBase + `,"rope_scaling":{"type":"linear","factor":2.0}}`,
			10000, RoPEScaling{Type: RoPELinear, Factor: 2}, 0},
		{"dict theta wins", `{"model_type":"qwen2",` + ropeBase + `,"rope_theta":10000.0,"rope_parameters":{"rope_type":"default","rope_theta":1000000.0}}`,
			1e6, RoPEScaling{}, 0},
		{"null scaling", `{"model_type":"mistral",` + ropeBase + `,"rope_scaling":null,"rope_theta":1000000.0}`,
			1e6, RoPEScaling{}, 0},
		{"yarn, dict context", `{"model_type":"qwen3",` + ropeBase + `,"head_dim":16,"rope_scaling":{"type":"yarn","factor":4.0,"original_max_position_embeddings":32768,"beta_fast":16,"truncate":false,"mscale":1.0,"mscale_all_dim":1.0}}`,
			10000, RoPEScaling{Type: RoPEYaRN, Factor: 4, OriginalMaxPos: 32768, BetaFast: 16, NoTruncate: true, Mscale: 1, MscaleAllDim: 1}, 0},
		{"longrope, top-level context wins", `{"model_type":"llama",` + ropeBase + `,"original_max_position_embeddings":4096,"rope_scaling":{"rope_type":"longrope","original_max_position_embeddings":2048,"short_factor":[1,1,1,1],"long_factor":[1,2,3,4]}}`,
			10000, RoPEScaling{Type: RoPELongRoPE, OriginalMaxPos: 4096, ShortFactor: []float64{1, 1, 1, 1}, LongFactor: []float64{1, 2, 3, 4}}, 0},
		{"dynamic", `{"model_type":"llama",` + ropeBase + `,"rope_scaling":{"rope_type":"dynamic","factor":2.0,"original_max_position_embeddings":1024}}`,
			10000, RoPEScaling{Type: RoPEDynamic, Factor: 2}, 0},
		{"full rotary factor", `{"model_type":"llama",` + ropeBase + `,"partial_rotary_factor":1.0}`,
			10000, RoPEScaling{}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tc.json))
			if err != nil {
				t.Fatal(err)
			}
			if c.RopeTheta != tc.theta || !c.Rope.equal(tc.want) || c.RotaryDim != tc.rotary {
				t.Errorf("theta %g rope %+v rotary %d, want %g %+v %d", c.RopeTheta, c.Rope, c.RotaryDim, tc.theta, tc.want, tc.rotary)
			}
		})
	}
}

func TestParseRoPEConfigRejects(t *testing.T) {
	cases := []struct{ json, want string }{
		{`"rope_scaling":{"rope_type":"su","short_factor":[1],"long_factor":[1]}`, `field "rope_scaling": field "rope_type" = "su": unsupported RoPE scaling`},
		{`"rope_scaling":{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0}`, `field "high_freq_factor" is missing (required by rope_type "llama3")`},
		{`"rope_scaling":{"rope_type":"longrope","short_factor":[1,1,1,1]}`, `field "long_factor" is missing`},
		{`"rope_scaling":{"rope_type":"longrope","short_factor":[1,1,1],"long_factor":[1,1,1]}`, "longrope short_factor has 3 entries, want rotary dim / 2 = 4"},
		{`"rope_scaling":{"rope_type":"linear","factor":-2.0}`, "rope linear factor must be positive"},
		{`"rope_scaling":{"rope_type":"yarn","factor":4.0,"attention_factor":0}`, `"attention_factor" = 0: want a positive number`},
		{`"rope_scaling":{"rope_type":"linear","factor":2.0},"rope_parameters":{"rope_type":"linear","factor":4.0}`, `"rope_parameters"`},
		{`"rope_parameters":{"full_attention":{"rope_type":"default"},"sliding_attention":{"rope_type":"default"}}`, "per-layer-type RoPE parameters are not supported"},
		{`"rope_parameters":{"rope_type":"default","partial_rotary_factor":0.5}`, `"partial_rotary_factor" = 0.5: transformers' llama attention rotates whole heads`},
		{`"partial_rotary_factor":1.5`, `"partial_rotary_factor" = 1.5: want a number in (0, 1]`},
		{`"rope_scaling":"linear"`, `"rope_scaling" = "linear": want an object`},
	}
	for _, c := range cases {
		_, err := ParseConfig([]byte(`{"model_type":"llama",` + ropeBase + `,` + c.json + `}`))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.json, err, c.want)
		}
	}
}

// The float64 vectors of the spec (model-families.md §1), computed there
// from transformers' formulas for released configurations.
func TestRoPEFrequenciesSpecVectors(t *testing.T) {
	near := func(t *testing.T, what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-6*math.Abs(want) {
			t.Errorf("%s = %.7g, want %.7g", what, got, want)
		}
	}
	// Llama 3.2 1B/3B: θ 5e5, head dim 64, llama3 factor 32, O 8192.
	c := Config{MaxPos: 131072, HeadDim: 64, RopeTheta: 5e5,
		Rope: RoPEScaling{Type: RoPELlama3, Factor: 32, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPos: 8192}}
	inv, a := c.RoPEFrequencies(10)
	for i, want := range map[int]float64{15: 1.290548e-3, 16: 4.295568e-4, 17: 9.708288e-5, 18: 1.946164e-5, 31: 9.418307e-8} {
		near(t, "llama3.2 inv["+strconv.Itoa(i)+"]", inv[i], want)
	}
	near(t, "llama3 A", a, 1)
	// Llama 3.1: head dim 128, factor 8: 0..28 kept, 29..34 smoothed, 35..63 / 8.
	c.HeadDim, c.Rope.Factor = 128, 8
	inv, _ = c.RoPEFrequencies(10)
	plain, _ := (&Config{HeadDim: 128, RopeTheta: 5e5}).RoPEFrequencies(10)
	for i := range inv {
		switch {
		case i <= 28 && inv[i] != plain[i], i >= 35 && inv[i] != plain[i]/8,
			i > 28 && i < 35 && (inv[i] >= plain[i] || inv[i] <= plain[i]/8):
			t.Errorf("llama3.1 inv[%d] = %g (default %g)", i, inv[i], plain[i])
		}
	}
	// YaRN: r 128, θ 1e6, factor 4, O 32768.
	y := Config{MaxPos: 32768, HeadDim: 128, RopeTheta: 1e6, Rope: RoPEScaling{Type: RoPEYaRN, Factor: 4, OriginalMaxPos: 32768}}
	inv, a = y.RoPEFrequencies(1)
	near(t, "yarn A", a, 1.1386294)
	for i, want := range map[int]float64{0: 1, 10: 1.154782e-1, 20: 1.333521e-2, 30: 1.064361e-3, 40: 4.445699e-5, 50: 5.133813e-6, 63: 3.102344e-7} {
		near(t, "yarn inv["+strconv.Itoa(i)+"]", inv[i], want)
	}
	y.Rope.Mscale, y.Rope.MscaleAllDim = 0.707, 0.707 // DeepSeek style
	if _, a = y.RoPEFrequencies(1); a != 1 {
		t.Errorf("yarn A with mscale = mscale_all_dim: %g, want 1", a)
	}
	// Dynamic NTK: θ 1e4, factor 2, M 4096, r 128: θ' = 30527.74 at L 8192,
	// plain RoPE up to M.
	d := Config{MaxPos: 4096, HeadDim: 128, RopeTheta: 1e4, Rope: RoPEScaling{Type: RoPEDynamic, Factor: 2}}
	inv, _ = d.RoPEFrequencies(8192)
	near(t, "dynamic inv[1]", inv[1], math.Pow(30527.74, -2.0/128))
	inv, _ = d.RoPEFrequencies(4096)
	plain, _ = (&Config{HeadDim: 128, RopeTheta: 1e4}).RoPEFrequencies(1)
	if !slices.Equal(inv, plain) {
		t.Error("dynamic RoPE within max positions differs from the default")
	}
	// LongRoPE, Phi-3-mini-128k: M 131072, O 4096 → A 1.1902381 at every
	// length; long factors only beyond O.
	short, long := make([]float64, 48), make([]float64, 48)
	for i := range short {
		short[i], long[i] = 1+float64(i)/100, 2+float64(i)
	}
	l := Config{MaxPos: 131072, HeadDim: 96, RopeTheta: 1e4, Rope: RoPEScaling{Type: RoPELongRoPE, OriginalMaxPos: 4096, ShortFactor: short, LongFactor: long}}
	for _, n := range []int{1, 4096, 4097} {
		inv, a = l.RoPEFrequencies(n)
		near(t, "longrope A", a, 1.1902381)
		ext := short
		if n > 4096 {
			ext = long
		}
		near(t, "longrope inv[5] at "+strconv.Itoa(n), inv[5], math.Pow(1e4, -10.0/96)/ext[5])
	}
}

// The runtime's RoPE frequencies agree with the test's independent
// formulation (refRoPEFrequencies) for every tiny configuration and both
// sides of the length thresholds.
func TestRoPEFrequenciesMatchReference(t *testing.T) {
	for name, cfg := range tinyConfigs() {
		if cfg.Arch != Llama {
			continue
		}
		for _, L := range []int{1, 3, 4, 5, 16} {
			got, ga := cfg.RoPEFrequencies(L)
			want, wa := refRoPEFrequencies(&cfg, L)
			if math.Abs(ga-wa) > 1e-12 || len(got) != len(want) {
				t.Fatalf("%s L=%d: A %g, reference %g (%d vs %d frequencies)", name, L, ga, wa, len(got), len(want))
			}
			for i := range got {
				if math.Abs(got[i]-want[i]) > 1e-12*want[i] {
					t.Errorf("%s L=%d: ω[%d] = %.15g, reference %.15g", name, L, i, got[i], want[i])
				}
			}
		}
	}
}

// Dynamic and longrope tables follow each pass's length on one State:
// long, short and long again, every pass equal to the float64 reference of
// its own length.
func TestRoPELengthRegimesOnOneState(t *testing.T) {
	for _, name := range []string{"dynamic-rope", "longrope-partial"} {
		t.Run(name, func(t *testing.T) {
			cfg := tinyConfigs()[name]
			m := randomModel(t, cfg, 5)
			st, err := NewInferenceState(m, 1, 9)
			if err != nil {
				t.Fatal(err)
			}
			for _, T := range []int{9, 2, 6, 3, 9} {
				tokens := randomTokens(rand.New(rand.NewPCG(uint64(T), 1)), T, cfg.Vocab)
				got, err := st.ForwardBatch(tokens, 1, T)
				if err != nil {
					t.Fatal(err)
				}
				want := ref64{m, toF64(m.W)}.logits(tokens, 1, T)
				for r, row := range want {
					for j, w := range row {
						if g := float64(got[r*cfg.Vocab+j]); math.Abs(g-w) > 1e-5*(1+math.Abs(w)) {
							t.Fatalf("T=%d logit [%d, %d]: %.7g, reference %.7g", T, r, j, g, w)
						}
					}
				}
			}
		})
	}
}

// Configs keep their RoPE form through MarshalHF: a transformers 4.x or 5.x
// config is written back unchanged, a config built in Go gets rope_scaling,
// and partial rotary in a Llama is lopper_dims' rotary_dim.
func TestMarshalHFKeepsRoPE(t *testing.T) {
	for _, src := range []string{
		`{"architectures":["LlamaForCausalLM"],"model_type":"llama",` + ropeBase + `,"rope_theta":500000.0,"rope_scaling":{"factor":32.0,"high_freq_factor":4.0,"low_freq_factor":1.0,"original_max_position_embeddings":8192,"rope_type":"llama3"}}`,
		`{"architectures":["Qwen3ForCausalLM"],"model_type":"qwen3",` + ropeBase + `,"head_dim":16,"rope_parameters":{"rope_type":"yarn","rope_theta":1000000.0,"factor":4.0,"original_max_position_embeddings":32768}}`,
	} {
		c, out := parseMarshal(t, src)
		if strings.Contains(src, "rope_parameters") != strings.Contains(string(out), "rope_parameters") ||
			strings.Contains(src, "rope_scaling") != strings.Contains(string(out), "rope_scaling") ||
			strings.Contains(src, `"rope_theta":500000.0`) != strings.Contains(string(out), `"rope_theta": 500000.0`) {
			t.Errorf("RoPE fields changed form:\n%s", out)
		}
		c2, err := ParseConfig(out)
		if err != nil {
			t.Fatal(err)
		}
		if !c2.Rope.equal(c.Rope) || c2.RopeTheta != c.RopeTheta {
			t.Errorf("reparsed %+v θ %g, want %+v θ %g", c2.Rope, c2.RopeTheta, c.Rope, c.RopeTheta)
		}
	}
	for _, name := range []string{"llama3-rope", "yarn", "linear-rope", "dynamic-rope", "longrope-partial", "qwen3"} {
		m := randomModel(t, tinyConfigs()[name], 1)
		dir := filepath.Join(t.TempDir(), "m")
		if err := m.Save(dir, SaveOptions{}); err != nil {
			t.Fatal(err)
		}
		m2, err := Load(dir, LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c, c2 := m.Config, m2.Config
		if !c2.Rope.equal(c.Rope) || c2.RopeTheta != c.RopeTheta || c2.RotaryDim != c.RotaryDim || c2.HeadDim != c.HeadDim || c2.QKNorm != c.QKNorm {
			t.Errorf("%s: reloaded θ %g %+v rotary %d head %d qk %v, want θ %g %+v rotary %d head %d qk %v", name,
				c2.RopeTheta, c2.Rope, c2.RotaryDim, c2.HeadDim, c2.QKNorm, c.RopeTheta, c.Rope, c.RotaryDim, c.HeadDim, c.QKNorm)
		}
		if (c.RotaryDim != 0) != (c.HFCompatible() != nil) {
			t.Errorf("%s: HFCompatible %v with rotary dim %d", name, c.HFCompatible(), c.RotaryDim)
		}
	}
}
