package model

import (
	"math"
	"sort"
	"testing"

	"lopper/internal/sharedtest"
)

// The shared tiny models match PyTorch's numbers in reference.json.
func TestSharedModelsMatchPyTorch(t *testing.T) {
	for _, name := range sharedtest.Models {
		t.Run(name, func(t *testing.T) {
			ref := sharedtest.LoadReference(t, name)
			m, err := Load(sharedtest.ModelDir(t, name), LoadOptions{CheckFinite: true})
			if err != nil {
				t.Fatal(err)
			}
			if m.NumParams() != ref.Params {
				t.Errorf("parameters: got %d, reference %d", m.NumParams(), ref.Params)
			}
			checkPrompt(t, m, ref)
			checkPerplexity(t, m, ref, sharedtest.Tokens(sharedtest.EvalText(t)))
		})
	}
}

func checkPrompt(t *testing.T, m *Model, ref *sharedtest.Reference) {
	prompt := []byte("ROMEO: ")
	tokens := make([]int32, len(prompt))
	for i, c := range prompt {
		tokens[i] = int32(c)
	}
	st, err := NewInferenceState(m, 1, len(tokens))
	if err != nil {
		t.Fatal(err)
	}
	logits, err := st.Forward(tokens)
	if err != nil {
		t.Fatal(err)
	}
	V := m.Config.Vocab
	var sum float64
	for _, v := range logits {
		sum += math.Abs(float64(v))
	}
	if relErr(sum, ref.SumAbs) > 1e-4 {
		t.Errorf("sum |logits|: got %.6f, reference %.6f", sum, ref.SumAbs)
	}
	last := logits[(len(tokens)-1)*V:]
	ids := make([]int, V)
	for i := range ids {
		ids[i] = i
	}
	sort.SliceStable(ids, func(a, b int) bool { return last[ids[a]] > last[ids[b]] })
	for k, want := range ref.Top5 {
		id, val := ids[k], float64(last[ids[k]])
		if id != int(want[0]) || relErr(val, want[1]) > 1e-4 {
			t.Errorf("top-5 #%d: got id %d logit %.6f, reference id %d logit %.6f", k, id, val, int(want[0]), want[1])
		}
	}
}

// checkPerplexity runs the shared evaluation protocol: non-overlapping
// 128-byte windows, every one of the 128 next-byte predictions scored.
func checkPerplexity(t *testing.T, m *Model, ref *sharedtest.Reference, text []int32) {
	const B = 32
	st, err := NewInferenceState(m, B, sharedtest.Window)
	if err != nil {
		t.Fatal(err)
	}
	got, err := sharedtest.Score(text, m.Config.Vocab, B, func(tokens []int32, b, T int) ([]float32, error) {
		return st.ForwardBatch(tokens, b, T)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("perplexity %.6f (reference %.6f), accuracy %.6f (reference %.6f), %d tokens", got.PPL, ref.Dense.PPL, got.Acc, ref.Dense.Acc, got.Tokens)
	if got.Tokens != ref.Dense.Tokens {
		t.Errorf("scored %d tokens, reference %d", got.Tokens, ref.Dense.Tokens)
	}
	if relErr(got.PPL, ref.Dense.PPL) > 1e-3 {
		t.Errorf("perplexity %.6f, reference %.6f", got.PPL, ref.Dense.PPL)
	}
	if math.Abs(got.Acc-ref.Dense.Acc) > 1e-3 {
		t.Errorf("accuracy %.6f, reference %.6f", got.Acc, ref.Dense.Acc)
	}
}

func relErr(got, want float64) float64 {
	return math.Abs(got-want) / math.Max(math.Abs(want), 1e-12)
}
