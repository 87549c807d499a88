package eval

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"lopper/model"
)

func randomTokens(n, vocab int, seed uint64) []int32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(rng.IntN(vocab))
	}
	return out
}

// bruteForceText scores every target j with its own forward pass over
// exactly the context the protocol gives it: tokens[b(j) : j], where b(j)
// is 0 for the first seqLen targets and otherwise k·stride for the smallest
// k with j ≤ k·stride + seqLen (the first window that reaches j, as in
// Hugging Face's sliding-window perplexity). Targets after the last full
// window are not scored. It shares no code with evalText.
func bruteForceText(t *testing.T, m lm, tokens []int32, seqLen, stride, limit int) (nll float64, correct, scored int) {
	t.Helper()
	lastBegin := ((len(tokens) - 1 - seqLen) / stride) * stride
	if limit > 0 {
		lastBegin = min(lastBegin, (limit-1)*stride)
	}
	for j := 1; j <= lastBegin+seqLen; j++ {
		b := 0
		if j > seqLen {
			k := (j - seqLen + stride - 1) / stride
			b = k * stride
		}
		r, err := m.newRunner(1, j-b)
		if err != nil {
			t.Fatal(err)
		}
		logits, err := r.forward(tokens[b:j], 1, j-b)
		if err != nil {
			t.Fatal(err)
		}
		v := m.vocab()
		row := logits[(j-b-1)*v : (j-b)*v]
		// log softmax computed directly, without logProb.
		var z float64
		best := 0
		for i, x := range row {
			z += math.Exp(float64(x))
			if x > row[best] {
				best = i
			}
		}
		nll -= float64(row[tokens[j]]) - math.Log(z)
		if best == int(tokens[j]) {
			correct++
		}
		scored++
	}
	return nll, correct, scored
}

func TestTextMatchesBruteForce(t *testing.T) {
	m := prefixLM{v: 11, maxPos: 16}
	tokens := randomTokens(203, m.v, 5)
	for _, c := range []struct{ seqLen, stride, batch, workers, limit int }{
		{16, 16, 1, 1, 0},
		{16, 16, 4, 2, 0},
		{16, 5, 3, 2, 0},
		{12, 1, 7, 3, 0},
		{16, 7, 2, 2, 4},
		{9, 9, 100, 2, 0},
	} {
		res, err := evalText(context.Background(), m, tokens, TextOptions{
			SeqLen: c.seqLen, Stride: c.stride, Batch: c.batch, Workers: c.workers, Limit: c.limit})
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		nll, correct, scored := bruteForceText(t, m, tokens, c.seqLen, c.stride, c.limit)
		if res.Tokens != scored || res.Correct != correct {
			t.Errorf("%+v: tokens %d correct %d, brute force %d and %d", c, res.Tokens, res.Correct, scored, correct)
		}
		if got := res.NLL * float64(res.Tokens); math.Abs(got-nll) > 1e-9*nll {
			t.Errorf("%+v: total NLL %.15g, brute force %.15g", c, got, nll)
		}
		if want := math.Exp(nll / float64(scored)); math.Abs(res.Perplexity-want) > 1e-12*want {
			t.Errorf("%+v: perplexity %v, want %v", c, res.Perplexity, want)
		}
		p := res.Protocol
		if p.SeqLen != c.seqLen || p.Stride != c.stride || p.TextTokens != len(tokens) || p.Kind != "text" {
			t.Errorf("%+v: protocol %+v", c, p)
		}
	}
}

func TestTextIndependentOfBatchAndWorkers(t *testing.T) {
	m := prefixLM{v: 13, maxPos: 32}
	tokens := randomTokens(500, m.v, 9)
	var first TextResult
	for i, c := range []struct{ batch, workers int }{{1, 1}, {3, 2}, {8, 4}, {64, 3}} {
		res, err := evalText(context.Background(), m, tokens, TextOptions{Stride: 10, Batch: c.batch, Workers: c.workers})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = res
			continue
		}
		if math.Float64bits(res.NLL) != math.Float64bits(first.NLL) || res.Correct != first.Correct {
			t.Errorf("batch %d workers %d: NLL %v correct %d; batch 1 workers 1: %v, %d",
				c.batch, c.workers, res.NLL, res.Correct, first.NLL, first.Correct)
		}
	}
}

func TestTextProgress(t *testing.T) {
	m := prefixLM{v: 5, maxPos: 8}
	tokens := randomTokens(100, m.v, 2)
	var calls, last, total int
	_, err := evalText(context.Background(), m, tokens, TextOptions{Batch: 2, Workers: 2, Progress: func(done, tot int) {
		if done < last {
			t.Errorf("progress went back from %d to %d", last, done)
		}
		calls, last, total = calls+1, done, tot
	}})
	if err != nil {
		t.Fatal(err)
	}
	// 99 targets / 8 = 12 windows in 6 batches.
	if calls != 6 || last != 12 || total != 12 {
		t.Fatalf("progress: %d calls, last %d/%d; want 6 calls ending 12/12", calls, last, total)
	}
}

func TestTextErrors(t *testing.T) {
	m := prefixLM{v: 5, maxPos: 8}
	for _, c := range []struct {
		tokens []int32
		opts   TextOptions
		want   string
	}{
		{randomTokens(50, 5, 1), TextOptions{SeqLen: 9}, "seq_len 9 exceeds the model's 8 positions"},
		{randomTokens(50, 5, 1), TextOptions{Batch: -1}, "batch must not be negative"},
		{[]int32{1, 2, 7, 1, 1, 1, 1, 1, 1, 1}, TextOptions{}, "token 7 at position 2 is outside the model's vocabulary of 5"},
		{randomTokens(5, 5, 1), TextOptions{}, "the text has 5 tokens"},
	} {
		_, err := evalText(context.Background(), m, c.tokens, c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.opts, err, c.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := evalText(ctx, m, randomTokens(50, 5, 1), TextOptions{}); err == nil {
		t.Error("a cancelled context gave no error")
	}
}

func TestTextNonFiniteLogits(t *testing.T) {
	probs := [][]float64{{0.5, 0.5, 0}, {0.5, 0.5, 0}, {1.0 / 3, 1.0 / 3, 1.0 / 3}}
	m := bigramLM{probs: probs, maxPos: 4}
	// Token 2 has probability 0 after token 0: log 0 = -Inf.
	_, err := evalText(context.Background(), m, []int32{0, 2, 1, 1, 1}, TextOptions{})
	if err == nil || !strings.Contains(err.Error(), "not finite") {
		t.Fatalf("error %v, want one about non-finite logits", err)
	}
}

func TestLogProb(t *testing.T) {
	row := []float32{1, 3, -2, 3, 0.5}
	var z float64
	for _, x := range row {
		z += math.Exp(float64(x))
	}
	for target := range row {
		lp, top := logProb(row, int32(target))
		if want := float64(row[target]) - math.Log(z); math.Abs(lp-want) > 1e-14 {
			t.Errorf("logProb(%d) = %v, want %v", target, lp, want)
		}
		if top != (target == 1) { // ties go to the first maximal index
			t.Errorf("logProb(%d) top = %v", target, top)
		}
	}
	// Large logits do not overflow.
	lp, _ := logProb([]float32{1000, 1000}, 0)
	if math.Abs(lp+math.Ln2) > 1e-12 {
		t.Errorf("logProb of two equal large logits = %v, want -ln 2", lp)
	}
}

// A model whose sliding window (3) is shorter than the evaluation windows
// (16) is evaluated, not refused: the runtime computes the window, and the
// protocol matches a forward pass per scored token.
func TestTextBeyondSlidingWindow(t *testing.T) {
	m, err := model.Load(filepath.Join("..", "model", "testdata", "goldens", "mistral-window-f32"), model.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.SlidingWindow != 3 {
		t.Fatalf("window %d", m.Config.SlidingWindow)
	}
	tokens := make([]int32, 60)
	for i := range tokens {
		tokens[i] = int32(i * 7 % m.Config.Vocab)
	}
	const seqLen, stride = 16, 10
	res, err := Text(context.Background(), m, tokens, TextOptions{SeqLen: seqLen, Stride: stride, Batch: 2})
	if err != nil {
		t.Fatal(err)
	}
	nll, _, scored := bruteForceText(t, modelLM{m}, tokens, seqLen, stride, 0)
	if got := res.NLL * float64(res.Tokens); res.Tokens != scored || math.Abs(got-nll) > 1e-5*nll {
		t.Errorf("%d tokens, total NLL %.9g; brute force %d, %.9g", res.Tokens, got, scored, nll)
	}
}
