package model

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// tinyEncoders are encoder configs with dims that divide nothing nicely:
// BERT with a layer that lost heads (pruned_heads) and a narrower FFN,
// single-label; RoBERTa (pad 1, offset positions, one token type),
// multi-label; DistilBERT, regression.
func tinyEncoders() map[string]Config {
	return map[string]Config{
		"bert": {
			Arch: BERT, ModelType: "bert", Hidden: 16, Vocab: 23, MaxPos: 12, HeadDim: 4,
			Layers: []LayerDims{{4, 4, 24}, {3, 3, 20}}, NormEps: 1e-12, Act: GELU,
			TypeVocab: 2, PadID: 0, Labels: []string{"a", "b", "c"}, Label2ID: map[string]int{"a": 0, "b": 1, "c": 2}, Problem: SingleLabel,
		},
		"roberta": {
			Arch: BERT, ModelType: "roberta", Hidden: 16, Vocab: 23, MaxPos: 12, HeadDim: 8,
			Layers: []LayerDims{{2, 2, 24}, {2, 2, 24}}, NormEps: 1e-5, Act: GELU,
			TypeVocab: 1, PadID: 1, Labels: []string{"x", "y"}, Problem: MultiLabel,
		},
		"distilbert": {
			Arch: BERT, ModelType: "distilbert", Hidden: 16, Vocab: 23, MaxPos: 12, HeadDim: 4,
			Layers: []LayerDims{{4, 4, 24}, {4, 4, 24}}, NormEps: 1e-12, Act: GELU,
			PadID: 0, Labels: []string{"LABEL_0"}, Problem: Regression,
		},
	}
}

// encoderBatch returns b sequences of T tokens with real lengths lens
// (right padding with the model's pad id), type ids 0 then 1 from the
// middle of each sequence (BERT), and targets for the model's problem.
func encoderBatch(rng *rand.Rand, c *Config, T int, lens []int) (EncoderBatch, ClassifierTargets) {
	b := len(lens)
	in := EncoderBatch{IDs: make([]int32, b*T), Mask: make([]int32, b*T), T: T}
	if c.TypeVocab > 1 {
		in.TypeIDs = make([]int32, b*T)
	}
	for s, n := range lens {
		for t := 0; t < T; t++ {
			i := s*T + t
			if t >= n {
				in.IDs[i] = int32(c.PadID)
				continue
			}
			in.Mask[i] = 1
			for in.IDs[i] = int32(rng.IntN(c.Vocab)); in.IDs[i] == int32(c.PadID); {
				in.IDs[i] = int32(rng.IntN(c.Vocab))
			}
			if in.TypeIDs != nil && t >= n/2 {
				in.TypeIDs[i] = 1
			}
		}
	}
	L := len(c.Labels)
	var tg ClassifierTargets
	switch c.Problem {
	case SingleLabel:
		for range b {
			tg.Classes = append(tg.Classes, int32(rng.IntN(L)))
		}
	case MultiLabel:
		for range b * L {
			tg.Values = append(tg.Values, float32(rng.IntN(2)))
		}
	case Regression:
		for range b * L {
			tg.Values = append(tg.Values, float32(rng.NormFloat64()))
		}
	}
	return in, tg
}

// The float32 classifier's logits agree with the float64 reference, on a
// training State of the batch's size and on a larger inference State.
func TestEncoderForwardMatchesFloat64Reference(t *testing.T) {
	for name, cfg := range tinyEncoders() {
		t.Run(name, func(t *testing.T) {
			m := randomModel(t, cfg, 1)
			rng := rand.New(rand.NewPCG(2, 2))
			in, _ := encoderBatch(rng, &cfg, 7, []int{7, 4, 1})
			want := encRef{m, toF64(m.W)}.logits(in)
			exact, err := NewClassifierState(m, 3, 7)
			if err != nil {
				t.Fatal(err)
			}
			larger, err := NewClassifierInferenceState(m, 5, cfg.MaxSeqLen())
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range []*ClassifierState{exact, larger} {
				got, err := st.Forward(in)
				if err != nil {
					t.Fatal(err)
				}
				checkEncoderLogits(t, got, want, 1e-5)
			}
			got, err := m.Classify(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			checkEncoderLogits(t, got, want, 1e-5)
		})
	}
}

func checkEncoderLogits(t *testing.T, got []float32, want [][]float64, tol float64) {
	t.Helper()
	L := len(want[0])
	if len(got) != len(want)*L {
		t.Fatalf("%d logits, want %d × %d", len(got), len(want), L)
	}
	for b, row := range want {
		for j, w := range row {
			if g := float64(got[b*L+j]); math.Abs(g-w) > tol*(1+math.Abs(w)) {
				t.Fatalf("logit [%d, %d]: %.7g, reference %.7g", b, j, g, w)
			}
		}
	}
}

// The decoder-only entry points refuse an encoder with ErrNotCausalLM, and
// the classifier's refuse a decoder.
func TestEncoderIsNotACausalLM(t *testing.T) {
	m := randomModel(t, tinyEncoders()["bert"], 1)
	for _, mk := range []func(*Model, int, int) (*State, error){NewState, NewInferenceState} {
		_, err := mk(m, 1, 4)
		if !errors.Is(err, ErrNotCausalLM) || !strings.Contains(err.Error(), "BertForSequenceClassification") {
			t.Errorf("decoder state of an encoder: %v", err)
		}
	}
	dec := randomModel(t, tinyConfigs()["gpt2"], 1)
	if _, err := NewClassifierState(dec, 1, 4); err == nil || !strings.Contains(err.Error(), "not an encoder classifier") {
		t.Errorf("classifier state of a decoder: %v", err)
	}
}

// Bad batches are errors naming the sequence and position; a batch that
// does not fit the State is refused.
func TestEncoderBadInput(t *testing.T) {
	cfg := tinyEncoders()["bert"]
	m := randomModel(t, cfg, 1)
	st, err := NewClassifierInferenceState(m, 2, 4)
	if err != nil {
		t.Fatal(err)
	}
	ok := func() EncoderBatch {
		return EncoderBatch{IDs: []int32{5, 6, 7, 0, 5, 6, 0, 0}, TypeIDs: make([]int32, 8), Mask: []int32{1, 1, 1, 0, 1, 1, 0, 0}, T: 4}
	}
	if _, err := st.Forward(ok()); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		edit func(*EncoderBatch)
		want string
	}{
		"token":       {func(b *EncoderBatch) { b.IDs[6] = 23 }, "sequence 1, position 2: token 23 is outside the vocabulary"},
		"type":        {func(b *EncoderBatch) { b.TypeIDs[1] = 2 }, "sequence 0, position 1: token type 2"},
		"mask value":  {func(b *EncoderBatch) { b.Mask[5] = 2 }, "sequence 1, position 1: attention mask 2"},
		"empty":       {func(b *EncoderBatch) { copy(b.Mask[4:], []int32{0, 0, 0, 0}) }, "sequence 1: the attention mask hides every token"},
		"too long":    {func(b *EncoderBatch) { b.T = 8 }, "do not fit the State's 2 × 4"},
		"too many":    {func(b *EncoderBatch) { b.T = 2 }, "do not fit"},
		"short types": {func(b *EncoderBatch) { b.TypeIDs = b.TypeIDs[:3] }, "3 type ids"},
	}
	for name, tc := range cases {
		in := ok()
		tc.edit(&in)
		if _, err := st.Forward(in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
	}
	if _, err := NewClassifierState(m, 1, 13); err == nil || !strings.Contains(err.Error(), "exceeds the model's 12 positions") {
		t.Errorf("long state: %v", err)
	}
	rob := randomModel(t, tinyEncoders()["roberta"], 1)
	if _, err := NewClassifierState(rob, 1, 11); err == nil || !strings.Contains(err.Error(), "exceeds the model's 10 positions") {
		t.Errorf("RoBERTa state beyond max_position_embeddings − pad − 1: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Classify(ctx, ok()); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled classify: %v", err)
	}
}

// Output is the last block's output: its first token's row, through the
// pooler and the classifier, gives Forward's logits.
func TestClassifierStateOutput(t *testing.T) {
	for name, cfg := range tinyEncoders() {
		m, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(3, 4))
		for i := range m.W {
			m.W[i] = float32(rng.NormFloat64() * 0.3)
		}
		in, _ := encoderBatch(rng, &cfg, 6, []int{6, 3})
		s, err := NewClassifierInferenceState(m, 2, 6)
		if err != nil {
			t.Fatal(err)
		}
		logits, err := s.Forward(in)
		if err != nil {
			t.Fatal(err)
		}
		out, H, L := s.Output(), cfg.Hidden, len(cfg.Labels)
		if len(out) != 2*6*H {
			t.Fatalf("%s: output of %d values, want %d", name, len(out), 2*6*H)
		}
		pool, poolb := m.Param(findRole(t, m, RolePooler)), m.Param(findRole(t, m, RolePoolerBias))
		cls, clsb := m.Param(findRole(t, m, RoleClassifier)), m.Param(findRole(t, m, RoleClassifierBias))
		for b := range 2 {
			x := out[b*6*H : b*6*H+H]
			pooled := make([]float64, H)
			for i := range H {
				v := float64(poolb[i])
				for j := range H {
					v += float64(pool[i*H+j]) * float64(x[j])
				}
				if name == "distilbert" {
					pooled[i] = math.Max(v, 0)
				} else {
					pooled[i] = math.Tanh(v)
				}
			}
			for k := range L {
				v := float64(clsb[k])
				for j := range H {
					v += float64(cls[k*H+j]) * pooled[j]
				}
				if math.Abs(v-float64(logits[b*L+k])) > 1e-4 {
					t.Errorf("%s: sequence %d logit %d from Output %g, Forward %g", name, b, k, v, logits[b*L+k])
				}
			}
		}
	}
}

func findRole(t *testing.T, m *Model, r Role) string {
	t.Helper()
	ti, ok := m.Layout.Find(-1, r)
	if !ok {
		t.Fatalf("no %s tensor", r)
	}
	return ti.Name
}

// The summary counts the embedding tables: tokens, positions and token
// types for BERT, tokens and positions for DistilBERT, and a tied
// decoder's token table once.
func TestSummaryEmbeddings(t *testing.T) {
	enc := tinyEncoders()
	llama := Config{Arch: Llama, ModelType: "llama", Hidden: 8, Vocab: 10, MaxPos: 16, HeadDim: 4, NormEps: 1e-5,
		RopeTheta: 10000, Act: SiLU, TiedEmbeddings: true, Layers: []LayerDims{{2, 2, 8}}}
	for name, c := range map[string]struct {
		cfg  Config
		want int
	}{
		"bert":       {enc["bert"], (23 + 12 + 2) * 16},
		"distilbert": {enc["distilbert"], (23 + 12) * 16},
		"llama":      {llama, 10 * 8},
	} {
		m, err := New(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		s := m.Summarize()
		if s.EmbeddingParameters != c.want || s.EmbeddingShare != float64(c.want)/float64(s.Parameters) {
			t.Errorf("%s: %d embedding parameters (share %g of %d), want %d", name, s.EmbeddingParameters, s.EmbeddingShare, s.Parameters, c.want)
		}
	}
}
