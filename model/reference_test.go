package model

import (
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// The shared tiny models match PyTorch's numbers in reference.json.
func TestSharedModelsMatchPyTorch(t *testing.T) {
	shared := sharedDir(t)
	for _, name := range []string{"tiny-llama", "tiny-gpt2"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(shared, "models", name)
			ref := loadReference(t, dir)
			m, err := Load(dir, LoadOptions{CheckFinite: true})
			if err != nil {
				t.Fatal(err)
			}
			if m.NumParams() != ref.Params {
				t.Errorf("parameters: got %d, reference %d", m.NumParams(), ref.Params)
			}
			checkPrompt(t, m, ref)
			checkPerplexity(t, m, ref, filepath.Join(shared, "data", "shakespeare_eval.txt"))
		})
	}
}

func checkPrompt(t *testing.T, m *Model, ref reference) {
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
func checkPerplexity(t *testing.T, m *Model, ref reference, path string) {
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const T, B = 128, 32
	windows := (len(text) - 1) / T
	st, err := NewInferenceState(m, B, T)
	if err != nil {
		t.Fatal(err)
	}
	V := m.Config.Vocab
	var nll float64
	correct, n := 0, 0
	for w0 := 0; w0 < windows; w0 += B {
		b := min(B, windows-w0)
		in := make([]int32, b*T)
		tg := make([]int32, b*T)
		for i := range in {
			in[i] = int32(text[w0*T+i])
			tg[i] = int32(text[w0*T+i+1])
		}
		logits, err := st.Forward(in)
		if err != nil {
			t.Fatal(err)
		}
		loss, err := CrossEntropy(logits, tg, V, nil)
		if err != nil {
			t.Fatal(err)
		}
		nll += loss * float64(len(tg))
		n += len(tg)
		for r, want := range tg {
			row := logits[r*V : (r+1)*V]
			best := 0
			for j, v := range row {
				if v > row[best] {
					best = j
				}
			}
			if best == int(want) {
				correct++
			}
		}
	}
	ppl, acc := math.Exp(nll/float64(n)), float64(correct)/float64(n)
	t.Logf("perplexity %.6f (reference %.6f), accuracy %.6f (reference %.6f), %d tokens", ppl, ref.Dense.PPL, acc, ref.Dense.Acc, n)
	if n != ref.Dense.Tokens {
		t.Errorf("scored %d tokens, reference %d", n, ref.Dense.Tokens)
	}
	if relErr(ppl, ref.Dense.PPL) > 1e-3 {
		t.Errorf("perplexity %.6f, reference %.6f", ppl, ref.Dense.PPL)
	}
	if math.Abs(acc-ref.Dense.Acc) > 1e-3 {
		t.Errorf("accuracy %.6f, reference %.6f", acc, ref.Dense.Acc)
	}
}

func relErr(got, want float64) float64 {
	return math.Abs(got-want) / math.Max(math.Abs(want), 1e-12)
}
