package model

import (
	"math/rand/v2"
	"testing"
)

// Tiny configurations with dims that divide nothing nicely, covering both
// architectures, biases, GQA, explicit head_dim, untied heads and
// per-layer dims that differ.
func tinyConfigs() map[string]Config {
	return map[string]Config{
		"llama": {
			Arch: Llama, ModelType: "llama", Hidden: 24, Vocab: 29, MaxPos: 16, HeadDim: 8,
			Layers:  []LayerDims{{3, 1, 40}, {3, 1, 40}},
			NormEps: 1e-5, RopeTheta: 10000, Act: SiLU, TiedEmbeddings: true,
		},
		"llama-bias-nonuniform": {
			Arch: Llama, ModelType: "llama", Hidden: 24, Vocab: 29, MaxPos: 16, HeadDim: 6,
			Layers:  []LayerDims{{3, 1, 40}, {2, 2, 26}},
			NormEps: 1e-6, RopeTheta: 500000, Act: SiLU,
			QKVBias: true, OBias: true, MLPBias: true,
		},
		"qwen2": {
			Arch: Llama, ModelType: "qwen2", Hidden: 24, Vocab: 29, MaxPos: 16, HeadDim: 8,
			Layers:  []LayerDims{{3, 1, 40}, {3, 1, 40}},
			NormEps: 1e-6, RopeTheta: 1e6, Act: SiLU, QKVBias: true,
		},
		// Qwen3: per-head q/k norms, head_dim 10 ≠ hidden/heads, tied.
		"qwen3": {
			Arch: Llama, ModelType: "qwen3", Hidden: 24, Vocab: 29, MaxPos: 16, HeadDim: 10,
			Layers:  []LayerDims{{4, 2, 40}, {4, 2, 40}},
			NormEps: 1e-6, RopeTheta: 1e6, Act: SiLU, TiedEmbeddings: true, QKNorm: true,
		},
		// RoPE scalings; the bases are small so that every frequency band
		// of the short test sequences matters.
		"llama3-rope": {
			Arch: Llama, ModelType: "llama", Hidden: 24, Vocab: 29, MaxPos: 16, HeadDim: 16,
			Layers: []LayerDims{{3, 1, 40}}, NormEps: 1e-5, RopeTheta: 50, Act: SiLU,
			Rope: RoPEScaling{Type: RoPELlama3, Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPos: 64},
		},
		"yarn": {
			Arch: Llama, ModelType: "llama", Hidden: 24, Vocab: 29, MaxPos: 16, HeadDim: 16,
			Layers: []LayerDims{{3, 1, 40}}, NormEps: 1e-5, RopeTheta: 100, Act: SiLU,
			Rope: RoPEScaling{Type: RoPEYaRN, Factor: 4, OriginalMaxPos: 40, BetaFast: 4, BetaSlow: 0.5},
		},
		"linear-rope": {
			Arch: Llama, ModelType: "qwen2", Hidden: 24, Vocab: 29, MaxPos: 16, HeadDim: 8,
			Layers: []LayerDims{{3, 1, 40}}, NormEps: 1e-6, RopeTheta: 10000, Act: SiLU, QKVBias: true,
			Rope: RoPEScaling{Type: RoPELinear, Factor: 2.5},
		},
		// Dynamic NTK beyond max positions: tests run 5-token sequences.
		"dynamic-rope": {
			Arch: Llama, ModelType: "mistral", Hidden: 24, Vocab: 29, MaxPos: 4, HeadDim: 8,
			Layers: []LayerDims{{3, 3, 40}}, NormEps: 1e-6, RopeTheta: 100, Act: SiLU,
			Rope: RoPEScaling{Type: RoPEDynamic, Factor: 3},
		},
		// Partial rotary (6 of 10 dims) with longrope's long factors past
		// 3 positions: lopper's own lopper_dims form for a Llama.
		"longrope-partial": {
			Arch: Llama, ModelType: "llama", Hidden: 24, Vocab: 29, MaxPos: 16, HeadDim: 10, RotaryDim: 6,
			Layers: []LayerDims{{2, 1, 40}}, NormEps: 1e-5, RopeTheta: 100, Act: SiLU,
			Rope: RoPEScaling{Type: RoPELongRoPE, OriginalMaxPos: 3, ShortFactor: []float64{1, 1.5, 2}, LongFactor: []float64{1.2, 3, 7}},
		},
		// Sliding windows shorter than the 5-token test sequences: every
		// layer (Mistral), and the last layer only (Qwen2's
		// max_window_layers).
		"mistral-window": {
			Arch: Llama, ModelType: "mistral", Hidden: 24, Vocab: 29, MaxPos: 16, HeadDim: 8,
			Layers: []LayerDims{{3, 1, 40}, {3, 1, 40}}, NormEps: 1e-5, RopeTheta: 100, Act: SiLU,
			SlidingWindow: 3,
		},
		"qwen2-window-layers": {
			Arch: Llama, ModelType: "qwen2", Hidden: 24, Vocab: 29, MaxPos: 16, HeadDim: 8,
			Layers: []LayerDims{{2, 2, 40}, {2, 2, 40}}, NormEps: 1e-6, RopeTheta: 100, Act: SiLU, QKVBias: true,
			SlidingWindow: 2, Kinds: []LayerKind{{}, {Sliding: true}},
		},
		// Phi-3: fused projections (split in the layout), Phi-4-mini's
		// partial rotary (6 of 8) with longrope, GQA, a window of 4.
		"phi3": {
			Arch: Llama, ModelType: "phi3", Hidden: 24, Vocab: 29, MaxPos: 16, HeadDim: 8, RotaryDim: 6,
			Layers: []LayerDims{{4, 2, 40}, {4, 2, 40}}, NormEps: 1e-5, RopeTheta: 100, Act: SiLU,
			Rope:          RoPEScaling{Type: RoPELongRoPE, OriginalMaxPos: 3, ShortFactor: []float64{1, 1.5, 2}, LongFactor: []float64{1.2, 3, 7}},
			SlidingWindow: 4,
		},
		// Gemma: (1 + w) norms, √hidden embedding scale, GeGLU (tanh),
		// head_dim 10 ≠ hidden/heads, MQA, tied.
		"gemma": {
			Arch: Llama, ModelType: "gemma", Hidden: 24, Vocab: 29, MaxPos: 16, HeadDim: 10,
			Layers: []LayerDims{{3, 1, 40}, {3, 1, 40}}, NormEps: 1e-6, RopeTheta: 10000, Act: GELUTanh,
			TiedEmbeddings: true, NormOffset: true, EmbedScale: true,
		},
		// Gemma 2: four norms per layer, query_pre_attn_scalar, both
		// softcaps (small, so that they bend), window 3 on even layers,
		// exact GELU.
		"gemma2": {
			Arch: Llama, ModelType: "gemma2", Hidden: 24, Vocab: 29, MaxPos: 16, HeadDim: 8,
			Layers: []LayerDims{{4, 2, 40}, {4, 2, 40}}, NormEps: 1e-6, RopeTheta: 100, Act: GELU,
			TiedEmbeddings: true, NormOffset: true, EmbedScale: true, PostNorms: true,
			QueryScale: 20, AttnSoftcap: 1.5, FinalSoftcap: 2, SlidingWindow: 3, Kinds: []LayerKind{{Sliding: true}, {}},
		},
		// Gemma 3: Gemma 2's block with (1 + w) q/k norms, local layers
		// (window 2, base 50) and a global one with linear RoPE scaling.
		"gemma3": {
			Arch: Llama, ModelType: "gemma3_text", Hidden: 24, Vocab: 29, MaxPos: 16, HeadDim: 12,
			Layers: []LayerDims{{2, 1, 40}, {2, 1, 40}, {2, 1, 40}}, NormEps: 1e-6, RopeTheta: 10000, Act: GELUTanh,
			Rope:           RoPEScaling{Type: RoPELinear, Factor: 4},
			TiedEmbeddings: true, NormOffset: true, EmbedScale: true, PostNorms: true, QKNorm: true,
			QueryScale: 12, RopeLocalTheta: 50, SlidingWindow: 2, Kinds: []LayerKind{{Sliding: true}, {Sliding: true}, {}},
		},
		// Gemma 3 with a scaling on the sliding layers too (transformers
		// 5.x's per-layer-type rope_parameters): YaRN, whose attention
		// factor scales their cos and sin; linear ×4 on the global one.
		"gemma3-local-rope": {
			Arch: Llama, ModelType: "gemma3_text", Hidden: 24, Vocab: 29, MaxPos: 16, HeadDim: 12,
			Layers: []LayerDims{{2, 1, 40}, {2, 1, 40}, {2, 1, 40}}, NormEps: 1e-6, RopeTheta: 10000, Act: GELUTanh,
			Rope:           RoPEScaling{Type: RoPELinear, Factor: 4},
			TiedEmbeddings: true, NormOffset: true, EmbedScale: true, PostNorms: true, QKNorm: true,
			QueryScale: 12, RopeLocalTheta: 1000, RopeLocal: RoPEScaling{Type: RoPEYaRN, Factor: 4},
			SlidingWindow: 2, Kinds: []LayerKind{{Sliding: true}, {}, {Sliding: true}},
		},
		// OLMo 2: no input norms, post-norms, q/k norms over the whole
		// projection, GQA.
		"olmo2": {
			Arch: Llama, ModelType: "olmo2", Hidden: 24, Vocab: 29, MaxPos: 16, HeadDim: 8,
			Layers: []LayerDims{{4, 2, 40}, {4, 2, 40}}, NormEps: 1e-6, RopeTheta: 500000, Act: SiLU,
			PostNorms: true, NoPreNorms: true, QKNorm: true, QKNormWide: true,
		},
		// SmolLM3: layer 1 of 3 applies no RoPE and slides (window 2).
		"smollm3": {
			Arch: Llama, ModelType: "smollm3", Hidden: 24, Vocab: 29, MaxPos: 16, HeadDim: 8,
			Layers: []LayerDims{{3, 1, 40}, {3, 1, 40}, {3, 1, 40}}, NormEps: 1e-6, RopeTheta: 100, Act: SiLU, TiedEmbeddings: true,
			SlidingWindow: 2, Kinds: []LayerKind{{}, {Sliding: true, NoRoPE: true}, {}},
		},
		"gpt2": {
			Arch: GPT2, ModelType: "gpt2", Hidden: 24, Vocab: 29, MaxPos: 16, HeadDim: 8,
			Layers:  []LayerDims{{3, 3, 40}, {3, 3, 40}},
			NormEps: 1e-5, Act: GELU, TiedEmbeddings: true,
		},
		"gpt2-tanh-nonuniform": {
			Arch: GPT2, ModelType: "gpt2", Hidden: 24, Vocab: 29, MaxPos: 16, HeadDim: 8,
			Layers:  []LayerDims{{3, 3, 40}, {2, 2, 18}},
			NormEps: 1e-5, Act: GELUTanh,
		},
	}
}

// randomModel returns a model for cfg with random weights: N(0, 0.3²) for
// matrices, 1 + N(0, 0.1²) for norm weights, N(0, 0.1²) for biases.
func randomModel(t testing.TB, cfg Config, seed uint64) *Model {
	t.Helper()
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	for _, ti := range m.Layout.Tensors {
		w := ti.Of(m.W)
		for i := range w {
			switch {
			case len(ti.Shape) == 2:
				w[i] = float32(rng.NormFloat64() * 0.3)
			case isNormWeight(ti.Role):
				w[i] = float32(1 + rng.NormFloat64()*0.1)
			default:
				w[i] = float32(rng.NormFloat64() * 0.1)
			}
		}
	}
	return m
}

func isNormWeight(r Role) bool {
	return r == RoleAttnNorm || r == RoleMLPNorm || r == RoleFinalNorm || r == RoleQNorm || r == RoleKNorm ||
		r == RolePostAttnNorm || r == RolePostMLPNorm || r == RoleEmbedNorm
}

// randomTokens returns n tokens below v.
func randomTokens(rng *rand.Rand, n, v int) []int32 {
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(rng.IntN(v))
	}
	return out
}

// randomMask prunes about frac of every prunable tensor and applies it.
func randomMask(m *Model, rng *rand.Rand, frac float64) {
	m.Mask = m.Layout.NewMask()
	for _, t := range m.Layout.Tensors {
		if !Prunable(t) {
			continue
		}
		for i := t.Offset; i < t.Offset+t.Size; i++ {
			if rng.Float64() < frac {
				m.Mask.Set(i, false)
			}
		}
	}
	m.ApplyMask()
}
