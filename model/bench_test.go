package model

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Transformer blocks of GPT-2-small size, timed as training and pruning run
// them: forward, and forward + backward. scripts/bench_block.py times the
// same blocks in PyTorch (same shapes, same FLOP count); BENCHMARKS.md has
// the numbers.

// gpt2SmallBlock is GPT-2 small's block: hidden 768, 12 heads of 64, MLP
// 3072, gelu_new.
var gpt2SmallBlock = Config{
	Arch: GPT2, ModelType: "gpt2", Hidden: 768, Vocab: 64, MaxPos: 1024, HeadDim: 64,
	Layers: []LayerDims{{12, 12, 3072}}, NormEps: 1e-5, Act: GELUTanh, TiedEmbeddings: true,
}

// llamaSmallBlock is a Llama block of about the same size: hidden 768, 12
// query heads of 64 sharing 4 kv heads, SwiGLU MLP 2048 (as many MLP
// weights as GPT-2's 3072), RoPE.
var llamaSmallBlock = Config{
	Arch: Llama, ModelType: "llama", Hidden: 768, Vocab: 64, MaxPos: 1024, HeadDim: 64,
	Layers: []LayerDims{{12, 4, 2048}}, NormEps: 1e-5, RopeTheta: 10000, Act: SiLU, TiedEmbeddings: true,
}

// blockShapes are the batches the block benchmarks run: B sequences of T.
var blockShapes = [][2]int{{4, 128}, {1, 512}}

// blockFlops is the multiply-add work (2 flops each) of one block's
// forward pass over b sequences of T tokens: the linear layers and the
// causal half of QKᵀ and PV. The backward pass does twice as much.
func blockFlops(c *Config, b, T int) float64 {
	d := c.Layers[0]
	n, H, hd := float64(b*T), float64(c.Hidden), float64(c.HeadDim)
	qd, kvd := float64(d.Heads)*hd, float64(d.KVHeads)*hd
	mlp := 2 * float64(d.Intermediate) * H
	if c.Arch == Llama {
		mlp = 3 * float64(d.Intermediate) * H
	}
	linear := H*(qd+2*kvd) + qd*H + mlp
	causal := float64(b*d.Heads) * float64(T*(T+1)/2) * hd
	return 2*n*linear + 2*2*causal
}

// blockBench is one block's State, input and output gradient.
type blockBench struct {
	st      *State
	h, dout []float32
	grads   []float32
	b, T    int
	flops   float64
}

func newBlockBench(tb testing.TB, cfg Config, B, T int) *blockBench {
	m := randomModel(tb, cfg, 1)
	st, err := NewState(m, B, T)
	if err != nil {
		tb.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	h := make([]float32, B*T*cfg.Hidden)
	dout := make([]float32, len(h))
	for i := range h {
		h[i] = float32(rng.NormFloat64())
		dout[i] = float32(rng.NormFloat64())
	}
	st.b, st.t = B, T
	st.allocGrad()
	copy(st.res[0], h)
	return &blockBench{st, h, dout, make([]float32, m.Layout.Total), B, T, blockFlops(&cfg, B, T)}
}

func (bb *blockBench) forward() { bb.st.block(0, bb.st.res[0], bb.st.res[1], bb.b, bb.T, nil) }

func (bb *blockBench) forwardBackward() {
	bb.forward()
	copy(bb.st.grad.dres, bb.dout)
	bb.st.blockBackward(0, bb.grads)
}

// report adds GFLOP/s and tokens/s over the given seconds for b.N passes.
func (bb *blockBench) report(b *testing.B, flops, seconds float64) {
	b.ReportMetric(flops*float64(b.N)/seconds/1e9, "GFLOP/s")
	b.ReportMetric(float64(bb.b*bb.T*b.N)/seconds, "tokens/s")
}

// benchBlock runs the forward and forward+backward sub-benchmarks of cfg's
// block on every shape, timed by the wall clock.
func benchBlock(b *testing.B, cfg Config) {
	for _, shape := range blockShapes {
		bb := newBlockBench(b, cfg, shape[0], shape[1])
		b.Run(fmt.Sprintf("forward/B%dxT%d", bb.b, bb.T), func(b *testing.B) {
			bb.forward() // warm: first touches of the buffers, pooled packing space
			for b.Loop() {
				bb.forward()
			}
			bb.report(b, bb.flops, b.Elapsed().Seconds())
		})
		b.Run(fmt.Sprintf("forward+backward/B%dxT%d", bb.b, bb.T), func(b *testing.B) {
			bb.forwardBackward()
			for b.Loop() {
				bb.forwardBackward()
			}
			bb.report(b, 3*bb.flops, b.Elapsed().Seconds())
		})
	}
}

func BenchmarkGPT2Block(b *testing.B)  { benchBlock(b, gpt2SmallBlock) }
func BenchmarkLlamaBlock(b *testing.B) { benchBlock(b, llamaSmallBlock) }
