package eval

import (
	"context"
	"fmt"
	"math"
)

// TextOptions sets the perplexity protocol. The zero value is the
// non-overlapping protocol with windows as long as the model allows.
type TextOptions struct {
	// SeqLen is the window length in tokens; 0 means the model's maximum
	// number of positions.
	SeqLen int
	// Stride is the distance between window starts, 1..SeqLen; 0 means
	// SeqLen (non-overlapping windows, every prediction scored). A smaller
	// stride gives every scored token more context: each window after the
	// first scores only its last Stride predictions.
	Stride int
	// Limit > 0 evaluates only the first Limit windows.
	Limit int
	// Batch is the number of windows per forward pass; 0 means 1.
	Batch int
	// Workers is the number of concurrent forward passes; 0 means
	// GOMAXPROCS. Results do not depend on it.
	Workers int
	// Progress, if set, is told how many windows are done.
	Progress ProgressFunc
}

// TextResult is perplexity and next-token accuracy with the protocol that
// produced them.
type TextResult struct {
	// Perplexity is exp(NLL).
	Perplexity float64 `json:"perplexity"`
	// Accuracy is the fraction of scored predictions whose top-1 token (the
	// first maximal logit) is the target.
	Accuracy float64 `json:"accuracy"`
	// NLL is the mean negative log-likelihood per scored token, in nats.
	NLL float64 `json:"nll"`
	// Tokens is the number of predictions scored; Correct how many of them
	// were top-1.
	Tokens  int `json:"tokens"`
	Correct int `json:"correct"`
	// Protocol says how the numbers were obtained.
	Protocol TextProtocol `json:"protocol"`
}

// TextProtocol records what a perplexity means.
type TextProtocol struct {
	Kind string `json:"kind"` // "text"
	// SeqLen and Stride are the window length and the distance between
	// window starts, in tokens.
	SeqLen int `json:"seq_len"`
	Stride int `json:"stride"`
	// Windows is the number of windows evaluated; WindowsAvailable the
	// number the whole text holds (they differ when a limit applies).
	Windows          int `json:"windows"`
	WindowsAvailable int `json:"windows_available"`
	// TextTokens is the length of the tokenized text.
	TextTokens int `json:"text_tokens"`
	// Scoring describes which predictions count, in words.
	Scoring string `json:"scoring"`
	// Tokenizer identifies the tokenizer (set by TextFile, or by the caller).
	Tokenizer *TokenizerInfo `json:"tokenizer,omitempty"`
	// File and SHA256 identify the text file (set by TextFile).
	File   string `json:"file,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
}

const scoringText = "window w: inputs tokens[w*stride : w*stride+seq_len], targets shifted by one; " +
	"the first window scores all seq_len predictions, later windows only the last stride; " +
	"the tail that does not fill a window is not scored"

// windowScore is one window's contribution, kept per window so that the
// total is summed in window order whatever the scheduling.
type windowScore struct {
	nll     float64
	correct int
}

// evalText computes perplexity and next-token accuracy of tokens under lm.
func evalText(ctx context.Context, m lm, tokens []int32, opts TextOptions) (TextResult, error) {
	seqLen, stride, batch := opts.SeqLen, opts.Stride, opts.Batch
	if seqLen == 0 {
		seqLen = m.maxPositions()
	}
	if seqLen > m.maxPositions() {
		return TextResult{}, fmt.Errorf("seq_len %d exceeds the model's %d positions", seqLen, m.maxPositions())
	}
	if stride == 0 {
		stride = seqLen
	}
	if batch < 0 {
		return TextResult{}, fmt.Errorf("batch must not be negative, got %d", batch)
	}
	if batch == 0 {
		batch = 1
	}
	if err := checkTokens(tokens, m.vocab()); err != nil {
		return TextResult{}, err
	}
	ws, available, err := planWindows(len(tokens), seqLen, stride, opts.Limit)
	if err != nil {
		return TextResult{}, err
	}
	batch = min(batch, len(ws))
	jobs := (len(ws) + batch - 1) / batch
	scores := make([]windowScore, len(ws))
	in := func(i int) []window { return ws[i*batch : min(len(ws), (i+1)*batch)] }
	job := func(r runner, i int) error {
		return scoreWindows(r, tokens, in(i), scores[i*batch:], seqLen, m.vocab())
	}
	newRunner := func() (runner, error) { return m.newRunner(batch, seqLen) }
	units := func(i int) int { return len(in(i)) }
	if err := forEachJob(ctx, jobs, runnerCount(m, opts.Workers, jobs, batch, seqLen), newRunner, job, units, len(ws), opts.Progress); err != nil {
		return TextResult{}, err
	}
	res := TextResult{Protocol: TextProtocol{
		Kind: "text", SeqLen: seqLen, Stride: stride, Windows: len(ws), WindowsAvailable: available,
		TextTokens: len(tokens), Scoring: scoringText,
	}}
	var nll float64
	for _, s := range scores {
		nll += s.nll
		res.Correct += s.correct
	}
	res.Tokens = seqLen + (len(ws)-1)*stride
	res.NLL = nll / float64(res.Tokens)
	res.Perplexity = math.Exp(res.NLL)
	res.Accuracy = float64(res.Correct) / float64(res.Tokens)
	return res, nil
}

// scoreWindows runs one batch of windows and writes each window's score.
func scoreWindows(r runner, tokens []int32, ws []window, out []windowScore, seqLen, vocab int) error {
	in := make([]int32, 0, len(ws)*seqLen)
	for _, w := range ws {
		in = append(in, tokens[w.Begin:w.Begin+seqLen]...)
	}
	logits, err := r.forward(in, len(ws), seqLen)
	if err != nil {
		return err
	}
	for k, w := range ws {
		var s windowScore
		for p := w.Skip; p < seqLen; p++ {
			row := logits[(k*seqLen+p)*vocab : (k*seqLen+p+1)*vocab]
			lp, top := logProb(row, tokens[w.Begin+p+1])
			if math.IsNaN(lp) || math.IsInf(lp, 0) {
				return fmt.Errorf("the model's log-probability of token %d (position %d of the window at token %d) is %v: its logits are not finite",
					w.Begin+p+1, p, w.Begin, lp)
			}
			s.nll -= lp
			if top {
				s.correct++
			}
		}
		out[k] = s
	}
	return nil
}

// checkTokens refuses token ids outside the model's vocabulary.
func checkTokens(tokens []int32, vocab int) error {
	for i, t := range tokens {
		if t < 0 || int(t) >= vocab {
			return fmt.Errorf("token %d at position %d is outside the model's vocabulary of %d", t, i, vocab)
		}
	}
	return nil
}
