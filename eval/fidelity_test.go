package eval

import (
	"context"
	"math"
	"runtime"
	"testing"

	"lopper/internal/sharedtest"
	"lopper/model"
)

// loadShared loads a shared tiny model and returns it with its directory.
func loadShared(t testing.TB, name string) (*model.Model, string) {
	t.Helper()
	dir := sharedtest.ModelDir(t, name)
	m, err := model.Load(dir, model.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return m, dir
}

// TestDenseMatchesPyTorch is the fidelity test of issue 5: perplexity and
// next-token accuracy of the shared models on shakespeare_eval.txt (byte
// tokens from the model's tokenizer.json, non-overlapping 128-token
// windows, every prediction scored) equal PyTorch's within 0.1 %, with the
// same number of tokens.
func TestDenseMatchesPyTorch(t *testing.T) {
	text := sharedtest.Path(t, "data", "shakespeare_eval.txt")
	for _, name := range sharedtest.Models {
		t.Run(name, func(t *testing.T) {
			m, _ := loadShared(t, name)
			ref := sharedtest.LoadReference(t, name)
			res, err := TextFile(context.Background(), m, text, TextOptions{SeqLen: 128, Batch: 4})
			if err != nil {
				t.Fatal(err)
			}
			if res.Tokens != ref.Dense.Tokens {
				t.Errorf("tokens %d, PyTorch %d", res.Tokens, ref.Dense.Tokens)
			}
			// The issue asks for 0.1 %; float32 forward passes agree to about
			// 1e-8, so hold them to 1e-5.
			if rel := math.Abs(res.Perplexity-ref.Dense.PPL) / ref.Dense.PPL; rel > 1e-5 {
				t.Errorf("perplexity %.10f, PyTorch %.10f (%.2g relative)", res.Perplexity, ref.Dense.PPL, rel)
			}
			// Accuracy: a prediction whose two best logits tie within float32
			// rounding may flip; allow 3 of the 115,328 predictions.
			if diff := math.Abs(float64(res.Correct) - ref.Dense.Acc*float64(res.Tokens)); diff > 3 {
				t.Errorf("accuracy %.10f (%d correct), PyTorch %.10f: %.0f predictions differ", res.Accuracy, res.Correct, ref.Dense.Acc, diff)
			}
			p := res.Protocol
			if p.Windows != 901 || p.SeqLen != 128 || p.Stride != 128 || p.TextTokens != 115394 || len(p.SHA256) != 64 ||
				p.Tokenizer == nil || p.Tokenizer.Vocab != 256 || p.Tokenizer.Model != "BPE" {
				t.Errorf("protocol %+v tokenizer %+v", p, p.Tokenizer)
			}
			t.Logf("%s: ppl %.10f (PyTorch %.10f), acc %.10f (PyTorch %.10f), %d tokens",
				name, res.Perplexity, ref.Dense.PPL, res.Accuracy, ref.Dense.Acc, res.Tokens)
		})
	}
}

// TestTextSlidingMatchesBruteForceOnModel checks the sliding-window
// protocol on a real model against a forward pass per scored token over
// exactly that token's context.
func TestTextSlidingMatchesBruteForceOnModel(t *testing.T) {
	m, _ := loadShared(t, "tiny-llama")
	tokens := sharedtest.Tokens(sharedtest.EvalText(t)[:300])
	const seqLen, stride = 64, 24
	res, err := Text(context.Background(), m, tokens, TextOptions{SeqLen: seqLen, Stride: stride, Batch: 3})
	if err != nil {
		t.Fatal(err)
	}
	nll, correct, scored := bruteForceText(t, modelLM{m}, tokens, seqLen, stride, 0)
	if res.Tokens != scored || math.Abs(float64(res.Correct-correct)) > 1 {
		t.Errorf("tokens %d correct %d; brute force %d and %d", res.Tokens, res.Correct, scored, correct)
	}
	if got := res.NLL * float64(res.Tokens); math.Abs(got-nll) > 1e-5*nll {
		t.Errorf("total NLL %.9g, brute force %.9g", got, nll)
	}
}

// TestTextGOMAXPROCS checks that results are bit-identical with one and two
// threads.
func TestTextGOMAXPROCS(t *testing.T) {
	text := sharedtest.Path(t, "data", "shakespeare_eval.txt")
	for _, name := range sharedtest.Models {
		m, _ := loadShared(t, name)
		opts := TextOptions{SeqLen: 128, Stride: 96, Batch: 2, Limit: 40}
		if testing.Short() {
			opts.Limit = 10
		}
		var results [2]TextResult
		for i, procs := range []int{1, 2} {
			prev := runtime.GOMAXPROCS(procs)
			res, err := TextFile(context.Background(), m, text, opts)
			runtime.GOMAXPROCS(prev)
			if err != nil {
				t.Fatal(err)
			}
			results[i] = res
		}
		a, b := results[0], results[1]
		if math.Float64bits(a.NLL) != math.Float64bits(b.NLL) || a.Correct != b.Correct || a.Tokens != b.Tokens {
			t.Errorf("%s: GOMAXPROCS 1 gives NLL %v correct %d; 2 gives %v, %d", name, a.NLL, a.Correct, b.NLL, b.Correct)
		}
	}
}
