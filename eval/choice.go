package eval

import (
	"context"
	"fmt"
	"math"
	"unicode/utf8"
)

// ChoiceOptions sets which tasks of a multiple-choice file are evaluated.
type ChoiceOptions struct {
	// Limit > 0 evaluates Limit tasks: the first Limit, or a sample of
	// Limit when Sample is set.
	Limit int
	// Sample draws the Limit tasks uniformly without replacement with a
	// generator seeded by Seed (the same seed selects the same tasks).
	Sample bool
	Seed   uint64
	// Workers is the number of concurrent forward passes; 0 means
	// GOMAXPROCS. Results do not depend on it.
	Workers int
	// Details adds every task's log-likelihoods to the result.
	Details bool
	// Progress, if set, is told how many tasks are done.
	Progress ProgressFunc
}

// ChoiceResult is multiple-choice accuracy in lm-evaluation-harness's
// definitions.
type ChoiceResult struct {
	// Acc is the fraction of tasks whose choice with the highest summed
	// log-likelihood is the label; AccNorm the same with each sum divided
	// by the choice's length in characters.
	Acc     float64 `json:"acc"`
	AccNorm float64 `json:"acc_norm"`
	// Tasks evaluated, and how many of them were right by each measure.
	Tasks       int `json:"tasks"`
	Correct     int `json:"correct"`
	CorrectNorm int `json:"correct_norm"`
	// Tokens is the number of continuation tokens scored, over all choices.
	Tokens int `json:"tokens"`
	// Truncated counts the choices whose context was cut from the left to
	// fit the model's positions; Split those whose continuation alone was
	// longer than the positions and was scored in several windows.
	Truncated int            `json:"truncated"`
	Split     int            `json:"split"`
	Protocol  ChoiceProtocol `json:"protocol"`
	PerTask   []TaskScore    `json:"per_task,omitempty"`
}

// TaskScore is one task's scores (with ChoiceOptions.Details).
type TaskScore struct {
	Line     int       `json:"line"`
	Label    int       `json:"label"`
	Pred     int       `json:"pred"`
	PredNorm int       `json:"pred_norm"`
	LogLik   []float64 `json:"loglik"`
	// Tokens is each choice's number of continuation tokens.
	Tokens []int `json:"tokens"`
}

// ChoiceProtocol records how multiple-choice numbers were obtained.
type ChoiceProtocol struct {
	Kind           string         `json:"kind"`   // "choice"
	Format         string         `json:"format"` // "hellaswag" or "jsonl"
	File           string         `json:"file,omitempty"`
	SHA256         string         `json:"sha256,omitempty"`
	TasksAvailable int            `json:"tasks_available"`
	Limit          int            `json:"limit,omitempty"`
	Sampled        bool           `json:"sampled"`
	Seed           *uint64        `json:"seed,omitempty"`
	MaxPositions   int            `json:"max_positions"`
	Delimiter      string         `json:"delimiter"`
	Normalization  string         `json:"normalization"`
	Scoring        string         `json:"scoring"`
	Tokenizer      *TokenizerInfo `json:"tokenizer,omitempty"`
}

const (
	choiceNormalization = "acc_norm divides each choice's summed log-likelihood by the choice's length in " +
		"Unicode characters, without the delimiter (lm-evaluation-harness: len(choice))"
	choiceScoring = "continuation = delimiter + choice; trailing whitespace of the context moves to the " +
		"continuation; continuation tokens = tokens of context+continuation after the context's tokens; " +
		"sequences longer than max_positions+1 are cut from the left; a continuation longer than max_positions is " +
		"scored in consecutive windows of max_positions aligned to its end; an empty context starts from the BOS/EOS token"
)

// choiceScore is one task's result.
type choiceScore struct {
	loglik           []float64
	tokens           []int
	truncated, split int
}

// evalChoices scores the selected tasks of tf under m.
func evalChoices(ctx context.Context, m lm, enc encoder, tf *TaskFile, opts ChoiceOptions) (ChoiceResult, error) {
	if opts.Limit < 0 {
		return ChoiceResult{}, fmt.Errorf("limit must not be negative, got %d", opts.Limit)
	}
	if len(tf.Tasks) == 0 {
		return ChoiceResult{}, fmt.Errorf("%s: no tasks", tf.Path)
	}
	for _, t := range tf.Tasks {
		if err := t.check(); err != nil {
			return ChoiceResult{}, fmt.Errorf("%s:%d: %w", tf.Path, t.Line, err)
		}
	}
	sel := selectTasks(len(tf.Tasks), opts.Limit, opts.Sample, opts.Seed)
	maxPos := m.maxPositions()
	reqs := make([][]request, len(sel))
	maxB, maxT := 1, 1
	for k, i := range sel {
		r, err := buildRequests(enc, tf.Tasks[i], maxPos)
		if err != nil {
			return ChoiceResult{}, fmt.Errorf("%s:%d: %w", tf.Path, tf.Tasks[i].Line, err)
		}
		for _, q := range r {
			for _, sg := range q.segments {
				if err := checkTokens(append(sg.input[:len(sg.input):len(sg.input)], sg.targets...), m.vocab()); err != nil {
					return ChoiceResult{}, fmt.Errorf("%s:%d: %w", tf.Path, tf.Tasks[i].Line, err)
				}
			}
		}
		b, t := batchShape(r)
		maxB, maxT = max(maxB, b), max(maxT, t)
		reqs[k] = r
	}
	scores := make([]choiceScore, len(sel))
	job := func(r runner, k int) error {
		s, err := scoreTask(r, reqs[k], m.vocab())
		if err != nil {
			return fmt.Errorf("%s:%d: %w", tf.Path, tf.Tasks[sel[k]].Line, err)
		}
		scores[k] = s
		return nil
	}
	newRunner := func() (runner, error) { return m.newRunner(maxB, maxT) }
	one := func(int) int { return 1 }
	if err := forEachJob(ctx, len(sel), runnerCount(m, opts.Workers, len(sel), maxB, maxT), newRunner, job, one, len(sel), opts.Progress); err != nil {
		return ChoiceResult{}, err
	}
	res := ChoiceResult{Tasks: len(sel), Protocol: ChoiceProtocol{
		Kind: "choice", Format: tf.Format, File: tf.Path, SHA256: tf.SHA256, TasksAvailable: len(tf.Tasks),
		Limit: opts.Limit, Sampled: opts.Sample && len(sel) < len(tf.Tasks), MaxPositions: maxPos,
		Delimiter: Delimiter, Normalization: choiceNormalization, Scoring: choiceScoring,
	}}
	if res.Protocol.Sampled {
		seed := opts.Seed
		res.Protocol.Seed = &seed
	}
	for k, s := range scores {
		t := tf.Tasks[sel[k]]
		norm := make([]float64, len(s.loglik))
		for i, ll := range s.loglik {
			norm[i] = ll / float64(utf8.RuneCountInString(t.Choices[i]))
			res.Tokens += s.tokens[i]
		}
		pred, predNorm := argmax(s.loglik), argmax(norm)
		if pred == t.Label {
			res.Correct++
		}
		if predNorm == t.Label {
			res.CorrectNorm++
		}
		res.Truncated += s.truncated
		res.Split += s.split
		if opts.Details {
			res.PerTask = append(res.PerTask, TaskScore{Line: t.Line, Label: t.Label, Pred: pred,
				PredNorm: predNorm, LogLik: s.loglik, Tokens: s.tokens})
		}
	}
	res.Acc = float64(res.Correct) / float64(res.Tasks)
	res.AccNorm = float64(res.CorrectNorm) / float64(res.Tasks)
	return res, nil
}

// scoreTask runs all segments of a task's choices as one batch,
// right-padded to the longest input (attention is causal: padding after a
// sequence does not change its logits), and sums each continuation's
// log-likelihood in float64, in token order.
func scoreTask(r runner, reqs []request, vocab int) (choiceScore, error) {
	b, t := batchShape(reqs)
	in := make([]int32, b*t)
	row := 0
	for _, q := range reqs {
		for _, sg := range q.segments {
			copy(in[row*t:], sg.input)
			row++
		}
	}
	logits, err := r.forward(in, b, t)
	if err != nil {
		return choiceScore{}, err
	}
	s := choiceScore{loglik: make([]float64, len(reqs)), tokens: make([]int, len(reqs))}
	row = 0
	for i, q := range reqs {
		for _, sg := range q.segments {
			for j, target := range sg.targets {
				p := row*t + sg.from + j
				lp, _ := logProb(logits[p*vocab:(p+1)*vocab], target)
				if math.IsNaN(lp) || math.IsInf(lp, 0) {
					return choiceScore{}, fmt.Errorf("choice %d: a continuation token's log-probability is %v: the model's logits are not finite", i, lp)
				}
				s.loglik[i] += lp
			}
			row++
		}
		s.tokens[i] = q.contLen
		if q.truncated {
			s.truncated++
		}
		if len(q.segments) > 1 {
			s.split++
		}
	}
	return s, nil
}

// batchShape is the number of segments of a task and its longest input.
func batchShape(reqs []request) (b, t int) {
	for _, q := range reqs {
		for _, sg := range q.segments {
			b++
			t = max(t, len(sg.input))
		}
	}
	return b, t
}

// argmax is the index of the first largest value.
func argmax[T float32 | float64](v []T) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
