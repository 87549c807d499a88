package train

import (
	"context"
	"math/rand/v2"
	"testing"

	"lopper/model"
)

// BenchmarkTrainStep times one training step (forward, loss, backward,
// clipping, AdamW) of a 4-layer Llama with hidden 256 on 8 sequences of
// 128 tokens, with and without a teacher; it reports tokens per second.
func BenchmarkTrainStep(b *testing.B) {
	cfg := model.Config{
		Arch: model.Llama, ModelType: "llama", Hidden: 256, Vocab: 256, MaxPos: 128, HeadDim: 32,
		NormEps: 1e-5, RopeTheta: 10000, Act: model.SiLU, TiedEmbeddings: true,
	}
	for range 4 {
		cfg.Layers = append(cfg.Layers, model.LayerDims{Heads: 8, KVHeads: 4, Intermediate: 768})
	}
	newModel := func(seed uint64) *model.Model {
		m, err := model.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(seed, 1))
		for i := range m.W {
			m.W[i] = float32(rng.NormFloat64() * 0.05)
		}
		return m
	}
	data := Stream{Tokens: patternTokens(1<<16, 256, 1)}
	for _, distill := range []bool{false, true} {
		name := "lm"
		if distill {
			name = "distill"
		}
		b.Run(name, func(b *testing.B) {
			m := newModel(1)
			c := Config{Steps: 1, BatchSize: 8, SeqLen: 128, LR: 1e-4}
			if distill {
				c.Teacher = newModel(2)
			}
			b.ResetTimer()
			for range b.N {
				if _, err := Train(context.Background(), m, data, c); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*8*128)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
