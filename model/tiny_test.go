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
	return r == RoleAttnNorm || r == RoleMLPNorm || r == RoleFinalNorm || r == RoleQNorm || r == RoleKNorm || r == RoleEmbedNorm
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
				m.Mask[i] = 0
			}
		}
	}
	m.ApplyMask()
}
