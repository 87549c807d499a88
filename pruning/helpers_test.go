package pruning

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"lopper/model"
)

func itoa(n int) string { return strconv.Itoa(n) }

// tinyModel returns a small random model of arch (llama or gpt2) with two
// blocks: hidden 16, 4 heads of 4 (llama: 2 KV heads), intermediate 24,
// vocab 32, 16 positions. Norm weights are 1, everything else N(0, 0.2²).
func tinyModel(t testing.TB, arch model.Arch, seed uint64) *model.Model {
	t.Helper()
	cfg := model.Config{
		Arch: arch, Hidden: 16, Vocab: 32, MaxPos: 16, HeadDim: 4, NormEps: 1e-5,
		Layers: []model.LayerDims{{Heads: 4, KVHeads: 2, Intermediate: 24}, {Heads: 4, KVHeads: 2, Intermediate: 24}},
	}
	if arch == model.Llama {
		cfg.Act, cfg.RopeTheta = model.SiLU, 10000
	} else {
		cfg.Act = model.GELU
		for i := range cfg.Layers {
			cfg.Layers[i].KVHeads = 4
		}
	}
	m, err := model.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 99))
	for _, ti := range m.Layout.Tensors {
		w := ti.Of(m.W)
		switch ti.Role {
		case model.RoleAttnNorm, model.RoleMLPNorm, model.RoleFinalNorm:
			for i := range w {
				w[i] = 1
			}
		default:
			for i := range w {
				w[i] = float32(0.2 * rng.NormFloat64())
			}
		}
	}
	return m
}

// tinyCalib returns n random windows of T tokens below vocab.
func tinyCalib(n, T, vocab int, seed uint64) *Calibration {
	rng := rand.New(rand.NewPCG(seed, 7))
	c := &Calibration{SeqLen: T, Tokens: make([]int32, n*T)}
	for i := range c.Tokens {
		c.Tokens[i] = int32(rng.IntN(vocab))
	}
	return c
}

// tensorMask returns m's mask restricted to t.
func tensorMask(m *model.Model, t model.TensorInfo) []byte {
	return spanBytes(m.Mask, t.Offset, t.Offset+t.Size)
}

// relClose reports |a−b| ≤ tol·max(|a|, |b|).
func relClose(a, b, tol float64) bool {
	return math.Abs(a-b) <= tol*math.Max(math.Abs(a), math.Abs(b))
}
