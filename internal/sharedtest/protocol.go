package sharedtest

import (
	"fmt"
	"math"

	"lopper/internal/par"
)

// Window is the window length of the references' evaluation protocol.
const Window = 128

// Forward computes the logits [b·T, V] of b sequences of T tokens (row
// major in tokens).
type Forward func(tokens []int32, b, T int) ([]float32, error)

// Scores are a model's numbers under the evaluation protocol.
type Scores struct {
	PPL, Acc float64
	Tokens   int
}

// Score runs the references' evaluation protocol (shared/README.md) on
// tokens, batch windows per forward call: window w has inputs
// tokens[128w : 128w+128] and the next tokens as targets, while a full
// window fits; every prediction is scored. Perplexity is exp(total NLL /
// tokens) and accuracy the fraction of top-1 hits (the first largest
// logit). The log-softmax is computed here, in float64, independently of
// the code under test; rows are summed in order, so the result does not
// depend on GOMAXPROCS.
func Score(tokens []int32, V, batch int, forward Forward) (Scores, error) {
	windows := (len(tokens) - 1) / Window
	if windows <= 0 || batch <= 0 || V <= 0 {
		return Scores{}, fmt.Errorf("score: %d tokens, batch %d, vocab %d: nothing to score", len(tokens), batch, V)
	}
	n := windows * Window
	nll := make([]float64, n)
	hit := make([]bool, n)
	for w0 := 0; w0 < windows; w0 += batch {
		b := min(batch, windows-w0)
		lo := w0 * Window
		logits, err := forward(tokens[lo:lo+b*Window], b, Window)
		if err != nil {
			return Scores{}, err
		}
		if len(logits) != b*Window*V {
			return Scores{}, fmt.Errorf("score: %d logits for %d rows × vocab %d", len(logits), b*Window, V)
		}
		par.Chunks(b*Window, 64, func(r0, r1 int) {
			for r := r0; r < r1; r++ {
				nll[lo+r], hit[lo+r] = scoreRow(logits[r*V:(r+1)*V], tokens[lo+r+1])
			}
		})
	}
	var sum float64
	correct := 0
	for i := range nll {
		sum += nll[i]
		if hit[i] {
			correct++
		}
	}
	return Scores{PPL: math.Exp(sum / float64(n)), Acc: float64(correct) / float64(n), Tokens: n}, nil
}

// scoreRow returns −log softmax(row)[target] and whether target is the
// first largest logit.
func scoreRow(row []float32, target int32) (nll float64, top1 bool) {
	best := 0
	for j, v := range row {
		if v > row[best] {
			best = j
		}
	}
	m := float64(row[best])
	var z float64
	for _, v := range row {
		z += math.Exp(float64(v) - m)
	}
	return m + math.Log(z) - float64(row[target]), best == int(target)
}
