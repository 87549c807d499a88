package model

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// The float32 runtime's logits agree with the independent float64
// reference implementation.
func TestForwardMatchesFloat64Reference(t *testing.T) {
	for name, cfg := range tinyConfigs() {
		t.Run(name, func(t *testing.T) {
			m := randomModel(t, cfg, 1)
			rng := rand.New(rand.NewPCG(2, 2))
			const B, T = 2, 5
			tokens := randomTokens(rng, B*T, cfg.Vocab)
			want := ref64{m, toF64(m.W)}.logits(tokens, B, T)
			// A training State of exactly B × T, and a larger inference
			// State running a smaller batch.
			exact, err := NewState(m, B, T)
			if err != nil {
				t.Fatal(err)
			}
			larger, err := NewInferenceState(m, B+2, T+9)
			if err != nil {
				t.Fatal(err)
			}
			for _, run := range []func() ([]float32, error){
				func() ([]float32, error) { return exact.Forward(tokens) },
				func() ([]float32, error) { return larger.ForwardBatch(tokens, B, T) },
			} {
				got, err := run()
				if err != nil {
					t.Fatal(err)
				}
				for r, row := range want {
					for j, w := range row {
						if g := float64(got[r*cfg.Vocab+j]); math.Abs(g-w) > 1e-5*(1+math.Abs(w)) {
							t.Fatalf("logit [%d, %d]: float32 %.7g, float64 reference %.7g", r, j, g, w)
						}
					}
				}
			}
		})
	}
}

// Every parameter tensor's gradient (so every backward function: head,
// norms, MLP activations, linear layers, attention, RoPE, embeddings,
// cross entropy) agrees with float64 central differences of the reference
// loss, sampled entries per tensor; masked entries get exactly zero.
func TestBackwardMatchesFiniteDifferences(t *testing.T) {
	for name, cfg := range tinyConfigs() {
		for _, masked := range []bool{false, true} {
			label := name
			if masked {
				label += "/masked"
			}
			perTensor := 12
			if testing.Short() {
				perTensor = 2
			}
			t.Run(label, func(t *testing.T) { checkGradients(t, cfg, masked, 2, 5, perTensor) })
		}
	}
}

// Sequences longer than one attention block (attnBlock query rows) take
// the blocked paths of the attention products and their gradients.
func TestBackwardAcrossAttentionBlocks(t *testing.T) {
	for _, name := range []string{"llama", "gpt2-tanh-nonuniform", "mistral-window/5", "mistral-window/70"} {
		t.Run(name, func(t *testing.T) {
			cfg := tinyConfigs()[name]
			switch name {
			case "mistral-window/5": // windows within one block of queries
				cfg = tinyConfigs()["mistral-window"]
				cfg.SlidingWindow = 5
			case "mistral-window/70": // windows across blocks
				cfg = tinyConfigs()["mistral-window"]
				cfg.SlidingWindow = attnBlock + 6
			}
			cfg.MaxPos = 2*attnBlock + 8
			checkGradients(t, cfg, false, 1, attnBlock+9, 2)
		})
	}
}

func checkGradients(t *testing.T, cfg Config, masked bool, B, T, perTensor int) {
	m := randomModel(t, cfg, 3)
	rng := rand.New(rand.NewPCG(4, 4))
	if masked {
		randomMask(m, rng, 0.3)
	}
	tokens := randomTokens(rng, B*T, cfg.Vocab)
	targets := randomTokens(rng, B*T, cfg.Vocab)
	targets[3] = -1 // ignored position

	grads := computeGrads(t, m, tokens, targets, B, T)
	ref := ref64{m, toF64(m.W)}
	checkFiniteDifferences(t, m, grads, ref.w, func() float64 { return ref.loss(tokens, targets, B, T) },
		func(ti TensorInfo) []int { return sampleIndices(rng, m, ti, perTensor) })
}

// checkFiniteDifferences compares grads (over m's layout) with float64
// central differences of loss, a function of the parameters w (over the
// same layout), at the entries sample picks in each tensor; pruned entries
// must have exactly zero gradient.
func checkFiniteDifferences(t *testing.T, m *Model, grads []float32, w []float64, loss func() float64, sample func(TensorInfo) []int) {
	t.Helper()
	const h = 1e-5
	for _, ti := range m.Layout.Tensors {
		g := ti.Of(grads)
		scale := 0.0
		for i, v := range g {
			scale = math.Max(scale, math.Abs(float64(v)))
			if m.Mask != nil && !m.Mask.Get(ti.Offset+i) && v != 0 {
				t.Fatalf("%s[%d]: pruned entry has gradient %g, want exactly 0", ti.Name, i, v)
			}
		}
		for _, i := range sample(ti) {
			k := ti.Offset + i
			w0 := w[k]
			w[k] = w0 + h
			lp := loss()
			w[k] = w0 - h
			lm := loss()
			w[k] = w0
			fd := (lp - lm) / (2 * h)
			if diff := math.Abs(float64(g[i]) - fd); diff > 1e-4*scale+1e-6 {
				t.Errorf("%s[%d]: backward %.7g, finite difference %.7g (tensor gradient scale %.3g)", ti.Name, i, g[i], fd, scale)
			}
		}
	}
}

// computeGrads runs ForwardBatch, CrossEntropy and Backward on a training
// State larger than the batch (so the passes use the call's B and T, not
// the State's).
func computeGrads(t testing.TB, m *Model, tokens, targets []int32, B, T int) []float32 {
	t.Helper()
	st, err := NewState(m, B+1, T+3)
	if err != nil {
		t.Fatal(err)
	}
	logits, err := st.ForwardBatch(tokens, B, T)
	if err != nil {
		t.Fatal(err)
	}
	dlogits := make([]float32, len(logits))
	if _, err := CrossEntropy(logits, targets, m.Config.Vocab, dlogits); err != nil {
		t.Fatal(err)
	}
	grads := make([]float32, m.Layout.Total)
	if err := st.Backward(dlogits, grads); err != nil {
		t.Fatal(err)
	}
	return grads
}

// sampleIndices picks up to n distinct unmasked entries of a tensor. For
// embeddings it prefers rows of tokens that occur (others have zero
// gradient unless the head is tied).
func sampleIndices(rng *rand.Rand, m *Model, ti TensorInfo, n int) []int {
	var cand []int
	for i := 0; i < ti.Size; i++ {
		if m.Mask == nil || m.Mask.Get(ti.Offset+i) {
			cand = append(cand, i)
		}
	}
	rng.Shuffle(len(cand), func(a, b int) { cand[a], cand[b] = cand[b], cand[a] })
	cand = cand[:min(n, len(cand))]
	sort.Ints(cand)
	return cand
}

func toF64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}
