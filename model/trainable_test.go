package model

import (
	"math"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// A pattern selects the tensors whose names it matches, laid out back to
// back in layout order; "" selects all of them over the layout itself; a
// pattern that does not compile or matches nothing is an error naming it.
func TestNewTrainable(t *testing.T) {
	m := randomModel(t, tinyConfigs()["llama"], 1)
	all, err := NewTrainable(m.Layout, "")
	if err != nil || !all.All() || all.Total != m.Layout.Total || all.Offset[3] != m.Layout.Tensors[3].Offset {
		t.Fatalf("all: %+v, %v", all, err)
	}
	sel, err := NewTrainable(m.Layout, `layers\.1\.mlp\.`)
	if err != nil {
		t.Fatal(err)
	}
	next, n := 0, 0
	for i, ti := range m.Layout.Tensors {
		want := strings.Contains(ti.Name, "layers.1.mlp.")
		if got := sel.Offset[i] >= 0; got != want {
			t.Errorf("%s: trainable %v", ti.Name, got)
		}
		if want {
			if sel.Offset[i] != next {
				t.Errorf("%s at %d, want %d", ti.Name, sel.Offset[i], next)
			}
			next += ti.Size
			n++
		}
	}
	if sel.Total != next || sel.Tensors != n || n != 3 || sel.All() {
		t.Errorf("total %d tensors %d, want %d and 3", sel.Total, sel.Tensors, next)
	}
	if _, err := NewTrainable(m.Layout, `layers\.(1`); err == nil || !strings.Contains(err.Error(), `trainable "layers\\.(1"`) {
		t.Errorf("bad pattern: %v", err)
	}
	if _, err := NewTrainable(m.Layout, `layers\.7\.`); err == nil || !strings.Contains(err.Error(), `"layers\\.7\\." matches no tensor`) {
		t.Errorf("no match: %v", err)
	}
}

// trainablePatterns cover the shapes of a selection: one block (the
// backward pass stops above the others), part of a fused product (q
// without k and v), norms only (linears frozen), embeddings only (every
// block frozen but visited), and the MLPs.
var trainablePatterns = []string{
	`(layers|h)\.1\.`, `q_proj|c_attn\.weight`, `norm|ln_`, `embed_tokens|wte|wpe`, `mlp`, `self_attn\.o_proj|attn\.c_proj`,
}

// The gradients of a selection are, bit for bit, the full backward pass's
// gradients of the selected tensors, masked entries zero, for every
// family.
func TestBackwardTrainableMatchesFull(t *testing.T) {
	for name, cfg := range tinyConfigs() {
		t.Run(name, func(t *testing.T) {
			m := randomModel(t, cfg, 3)
			randomMask(m, rand.New(rand.NewPCG(4, 4)), 0.3)
			tokens, dlogits := randomBatch(2, 6, cfg.Vocab, 5)
			full := backwardGrads(t, m, TrainOptions{}, tokens, dlogits, m.Layout.Total)
			for _, p := range trainablePatterns {
				sel, err := NewTrainable(m.Layout, p)
				if err != nil {
					continue // not in this family
				}
				got := backwardGrads(t, m, TrainOptions{Trainable: sel}, tokens, dlogits, sel.Total)
				for i, ti := range m.Layout.Tensors {
					o := sel.Offset[i]
					if o < 0 {
						continue
					}
					g, w := got[o:o+ti.Size], ti.Of(full)
					for j := range w {
						if math.Float32bits(g[j]) != math.Float32bits(w[j]) {
							t.Fatalf("%q: %s[%d] = %g, the full backward pass %g", p, ti.Name, j, g[j], w[j])
						}
					}
				}
			}
		})
	}
}

// Recomputing the activations in the backward pass gives the same logits
// and gradients, bit for bit, as keeping them, for every family, with or
// without a selection; one Backward per Forward.
func TestRecomputeMatchesStoredActivations(t *testing.T) {
	for name, cfg := range tinyConfigs() {
		t.Run(name, func(t *testing.T) {
			m := randomModel(t, cfg, 6)
			const B, T = 2, 7
			tokens, dlogits := randomBatch(B, T, cfg.Vocab, 7)
			sel, err := NewTrainable(m.Layout, `(layers|h)\.0\.|norm`)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range []TrainOptions{{}, {Trainable: sel}} {
				total := m.Layout.Total
				if o.Trainable != nil {
					total = sel.Total
				}
				want := backwardGrads(t, m, o, tokens, dlogits, total)
				o.Recompute = true
				got := backwardGrads(t, m, o, tokens, dlogits, total)
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("selection %v: gradient %d recomputed %g, stored %g", o.Trainable != nil, i, got[i], want[i])
					}
				}
			}
			st, err := NewTrainState(m, B, T, TrainOptions{Recompute: true})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.Forward(tokens); err != nil {
				t.Fatal(err)
			}
			g := make([]float32, m.Layout.Total)
			if err := st.Backward(dlogits, g); err != nil {
				t.Fatal(err)
			}
			if err := st.Backward(dlogits, g); err == nil {
				t.Error("a second Backward after one Forward with recompute: no error")
			}
		})
	}
}

// randomBatch returns B·T random tokens and a random gradient of their
// logits.
func randomBatch(B, T, vocab int, seed uint64) ([]int32, []float32) {
	rng := rand.New(rand.NewPCG(seed, seed))
	tokens := randomTokens(rng, B*T, vocab)
	dlogits := make([]float32, B*T*vocab)
	for i := range dlogits {
		dlogits[i] = float32(rng.NormFloat64())
	}
	return tokens, dlogits
}

// backwardGrads runs Forward and Backward on a fresh State with o.
func backwardGrads(t *testing.T, m *Model, o TrainOptions, tokens []int32, dlogits []float32, total int) []float32 {
	t.Helper()
	B, T := 2, len(tokens)/2
	st, err := NewTrainState(m, B, T, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Forward(tokens); err != nil {
		t.Fatal(err)
	}
	g := make([]float32, total)
	if err := st.Backward(dlogits, g); err != nil {
		t.Fatal(err)
	}
	return g
}

// AdamW over a selection updates exactly the selected tensors, as the
// full optimizer updates them, and leaves the others bit-identical; its
// moments cover the selection only.
func TestAdamWTrainable(t *testing.T) {
	m := randomModel(t, tinyConfigs()["gpt2"], 8)
	randomMask(m, rand.New(rand.NewPCG(9, 9)), 0.2)
	sel, err := NewTrainable(m.Layout, `h\.1\.mlp`)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(10, 10))
	full := make([]float32, m.Layout.Total)
	for i := range full {
		full[i] = float32(rng.NormFloat64())
	}
	compact := make([]float32, sel.Total)
	for i, ti := range m.Layout.Tensors {
		if o := sel.Offset[i]; o >= 0 {
			copy(compact[o:], ti.Of(full))
		}
	}
	c := AdamWConfig{LR: 1e-2, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.1}
	a, err := NewAdamW(m.Layout, c)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewAdamWFor(sel, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.M) != sel.Total || len(s.V) != sel.Total {
		t.Fatalf("moments of %d and %d values, want %d", len(s.M), len(s.V), sel.Total)
	}
	wa, ws := append([]float32(nil), m.W...), append([]float32(nil), m.W...)
	for range 3 {
		if err := a.Step(wa, full, m.Mask); err != nil {
			t.Fatal(err)
		}
		if err := s.Step(ws, compact, m.Mask); err != nil {
			t.Fatal(err)
		}
	}
	re := regexp.MustCompile(`h\.1\.mlp`)
	for _, ti := range m.Layout.Tensors {
		want := ti.Of(wa)
		if !re.MatchString(ti.Name) {
			want = ti.Of(m.W)
		}
		for j, g := range ti.Of(ws) {
			if math.Float32bits(g) != math.Float32bits(want[j]) {
				t.Fatalf("%s[%d] = %g, want %g", ti.Name, j, g, want[j])
			}
		}
	}
	if err := s.Step(ws, full, m.Mask); err == nil {
		t.Error("gradients over the whole layout for a selection: no error")
	}
}
