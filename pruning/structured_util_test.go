package pruning

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"lopper/model"
)

// Synthetic models for the structured-pruning property tests: small, with
// random weights, covering grouped-query Llama (with and without biases)
// and GPT-2.

func stLlamaConfig(layers, heads, kv, inter int, bias bool) model.Config {
	c := model.Config{
		Arch: model.Llama, ModelType: "llama", Hidden: 32, Vocab: 40, MaxPos: 32, HeadDim: 8,
		NormEps: 1e-5, RopeTheta: 10000, Act: model.SiLU,
		QKVBias: bias, OBias: bias, MLPBias: bias,
	}
	for range layers {
		c.Layers = append(c.Layers, model.LayerDims{Heads: heads, KVHeads: kv, Intermediate: inter})
	}
	return c
}

func stGPT2Config(layers, heads, inter int) model.Config {
	c := model.Config{
		Arch: model.GPT2, ModelType: "gpt2", Hidden: 32, Vocab: 40, MaxPos: 32, HeadDim: 8,
		NormEps: 1e-5, Act: model.GELU, TiedEmbeddings: true,
	}
	for range layers {
		c.Layers = append(c.Layers, model.LayerDims{Heads: heads, KVHeads: heads, Intermediate: inter})
	}
	return c
}

// stQwen3Config is a Qwen3 (per-head q/k norms shared by the heads) with
// head_dim 12, which does not divide hidden 32, and YaRN RoPE.
func stQwen3Config(layers, heads, kv, inter int) model.Config {
	c := stLlamaConfig(layers, heads, kv, inter, false)
	c.ModelType, c.QKNorm, c.HeadDim, c.TiedEmbeddings = "qwen3", true, 12, true
	c.Rope = model.RoPEScaling{Type: model.RoPEYaRN, Factor: 4, OriginalMaxPos: 16}
	return c
}

// stConfigs are the architectures every property test runs on.
func stConfigs() map[string]model.Config {
	partial := stLlamaConfig(2, 4, 2, 24, false)
	partial.RotaryDim, partial.RopeTheta = 4, 500
	partial.Rope = model.RoPEScaling{Type: model.RoPELlama3, Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPos: 16}
	return map[string]model.Config{
		"llama-gqa":       stLlamaConfig(3, 4, 2, 24, false),
		"llama-gqa4-bias": stLlamaConfig(2, 8, 2, 20, true),
		"qwen3":           stQwen3Config(2, 6, 2, 20),
		// partial rotary (4 of 8 dims), llama3 RoPE
		"llama-partial-rotary": partial,
		"gpt2":                 stGPT2Config(3, 4, 48),
	}
}

// stRandomModel returns a model for cfg with normal random weights (norm
// weights around 1) drawn from seed.
func stRandomModel(t testing.TB, cfg model.Config, seed uint64) *model.Model {
	t.Helper()
	m, err := model.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	for _, ti := range m.Layout.Tensors {
		w := ti.Of(m.W)
		scale := 0.3
		switch ti.Role {
		case model.RoleEmbed, model.RolePosEmbed:
			scale = 1
		}
		for i := range w {
			w[i] = float32(rng.NormFloat64() * scale)
		}
		switch ti.Role {
		case model.RoleAttnNorm, model.RoleMLPNorm, model.RoleFinalNorm, model.RoleQNorm, model.RoleKNorm:
			for i := range w {
				w[i] = 1 + w[i]/3
			}
		}
	}
	return m
}

// stTokens returns b·T tokens below vocab.
func stTokens(n, vocab int, seed uint64) []int32 {
	rng := rand.New(rand.NewPCG(seed, 11))
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(rng.IntN(vocab))
	}
	return out
}

// stSaveLoad saves m into a new directory and loads it back.
func stSaveLoad(t testing.TB, m *model.Model) (*model.Model, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "out")
	if err := m.Save(dir, model.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	back, err := model.Load(dir, model.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return back, dir
}

// logits runs m on b sequences of T tokens and returns a copy of the
// logits.
func stLogits(t testing.TB, m *model.Model, tokens []int32, T int) []float32 {
	t.Helper()
	st, err := model.NewInferenceState(m, len(tokens)/T, T)
	if err != nil {
		t.Fatal(err)
	}
	out, err := st.Forward(tokens)
	if err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), out...)
}

// stAssertClose fails unless a and b agree within tol·max(1, max|b|).
func stAssertClose(t testing.TB, what string, a, b []float32, tol float64) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d values vs %d", what, len(a), len(b))
	}
	scale, worst, at := 1.0, 0.0, 0
	for i := range b {
		scale = math.Max(scale, math.Abs(float64(b[i])))
		if d := math.Abs(float64(a[i]) - float64(b[i])); d > worst || math.IsNaN(d) {
			worst, at = d, i
		}
	}
	if !(worst <= tol*scale) {
		t.Errorf("%s: max |difference| %g at %d (%g vs %g), tolerance %g", what, worst, at, a[at], b[at], tol*scale)
	}
}

// param returns the named tensor of m, failing when absent.
func stParam(t testing.TB, m *model.Model, name string) (model.TensorInfo, []float32) {
	t.Helper()
	ti, ok := m.Layout.Lookup(name)
	if !ok {
		t.Fatalf("no tensor %q", name)
	}
	return ti, ti.Of(m.W)
}

// names of a layer's tensors, spelled out independently of the package's
// role-based lookup.
func mlpNames(c model.Config, l int) (in []string, down string) {
	if c.Arch == model.GPT2 {
		p := fmt.Sprintf("transformer.h.%d.mlp.", l)
		return []string{p + "c_fc.weight", p + "c_fc.bias"}, p + "c_proj.weight"
	}
	p := fmt.Sprintf("model.layers.%d.mlp.", l)
	in = []string{p + "gate_proj.weight", p + "up_proj.weight"}
	if c.MLPBias {
		in = append(in, p+"gate_proj.bias", p+"up_proj.bias")
	}
	return in, p + "down_proj.weight"
}

func oName(c model.Config, l int) string {
	if c.Arch == model.GPT2 {
		return fmt.Sprintf("transformer.h.%d.attn.c_proj.weight", l)
	}
	return fmt.Sprintf("model.layers.%d.self_attn.o_proj.weight", l)
}

// zeroNeurons zeroes, by name, the parameters of MLP neurons js of layer l.
func zeroNeurons(t testing.TB, m *model.Model, l int, js []int) {
	in, down := mlpNames(m.Config, l)
	for _, n := range in {
		ti, w := stParam(t, m, n)
		for _, j := range js {
			clear(w[j*ti.Cols() : (j+1)*ti.Cols()])
		}
	}
	ti, w := stParam(t, m, down)
	for r := 0; r < ti.Rows(); r++ {
		for _, j := range js {
			w[r*ti.Cols()+j] = 0
		}
	}
}

// zeroHeadOutputs zeroes the o_proj columns of query heads hs of layer l,
// which removes the heads' contribution whatever their q, k and v.
func zeroHeadOutputs(t testing.TB, m *model.Model, l int, hs []int) {
	ti, w := stParam(t, m, oName(m.Config, l))
	hd := m.Config.HeadDim
	for r := 0; r < ti.Rows(); r++ {
		for _, h := range hs {
			clear(w[r*ti.Cols()+h*hd : r*ti.Cols()+(h+1)*hd])
		}
	}
}
