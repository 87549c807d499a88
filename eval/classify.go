package eval

import (
	"context"
	"fmt"
	"math"

	"lopper/model/tokenizer"
)

// Classifier is a sequence classifier: a model with a classification head
// (BERT's, RoBERTa's, DistilBERT's) and its tokenizer. Classify evaluates
// one on a labelled task; tests substitute classifiers whose outputs they
// can reason about.
type Classifier interface {
	// Info describes the classifier's outputs and inputs.
	Info() ClassifierInfo
	// NewRunner returns a runner for batches of up to b inputs of up to t
	// tokens. One runner is used by one goroutine at a time; distinct
	// runners may run concurrently.
	NewRunner(b, t int) (ClassifierRunner, error)
}

// ClassifierInfo describes a classifier.
type ClassifierInfo struct {
	// Problem says what the logits mean.
	Problem Problem
	// Labels names the classes (config.json's id2label): logit i is class
	// Labels[i]. A regression model has one logit and one name.
	Labels []string
	// Label2ID maps the names a task file may use to classes (config.json's
	// label2id); nil means the inverse of Labels.
	Label2ID map[string]int
	// MaxLength is the longest input the classifier takes, in tokens,
	// special tokens included (the model's positions).
	MaxLength int
	// Tokenizer encodes the texts; PadID is the id padding takes (the
	// model's pad_token_id).
	Tokenizer *tokenizer.Tokenizer
	PadID     int32
}

// check reports what makes info unusable.
func (info ClassifierInfo) check() error {
	if err := info.Problem.check(); err != nil {
		return fmt.Errorf("classifier: %w", err)
	}
	switch n := len(info.Labels); {
	case info.Problem == Regression && n != 1:
		return fmt.Errorf("classifier: a regression model has 1 output, this one %d", n)
	case info.Problem != Regression && n < 2:
		return fmt.Errorf("classifier: a %s model needs at least 2 labels, this one has %d", info.Problem, n)
	case info.MaxLength < 1:
		return fmt.Errorf("classifier: max length %d", info.MaxLength)
	case info.Tokenizer == nil:
		return fmt.Errorf("classifier: no tokenizer")
	case info.PadID < 0:
		return fmt.Errorf("classifier: pad id %d", info.PadID)
	}
	return nil
}

// labelOptions are the options to read a task file for this classifier.
func (info ClassifierInfo) labelOptions(limit int) LabelOptions {
	l2i := info.Label2ID
	if l2i == nil {
		l2i = map[string]int{}
		for i, name := range info.Labels {
			if _, dup := l2i[name]; !dup {
				l2i[name] = i
			}
		}
	}
	return LabelOptions{Problem: info.Problem, NumLabels: len(info.Labels), Label2ID: l2i, Limit: limit}
}

// ClassifierRunner runs a classifier's forward pass.
type ClassifierRunner interface {
	// Classify returns the logits of a batch, [in.B, len(Labels)]
	// row-major. The slice may be reused by the next call.
	Classify(in Batch) ([]float32, error)
}

// Batch is a batch of encoded inputs padded to one length: B rows of T
// tokens, row-major. Mask is 1 for a token and 0 for padding, which is at
// the end of a row and has the classifier's PadID and type id 0.
type Batch struct {
	B, T               int
	IDs, TypeIDs, Mask []int32
}

// ClassifyOptions sets how a labelled task is evaluated.
type ClassifyOptions struct {
	// MaxLength is the most tokens an input keeps, special tokens included;
	// longer ones are truncated (longest_first for pairs). 0 means the
	// classifier's MaxLength, which it may not exceed.
	MaxLength int
	// Limit > 0 evaluates only the first Limit examples.
	Limit int
	// Batch is the number of examples per forward pass; 0 means
	// defaultClassifyBatch. Examples are batched by index.
	Batch int
	// Workers is the number of concurrent forward passes; 0 means
	// GOMAXPROCS. Results do not depend on it.
	Workers int
	// Details adds every example's prediction and logits to the result.
	Details bool
	// Progress, if set, is told how many examples are done.
	Progress ProgressFunc
}

// defaultClassifyBatch is ClassifyOptions.Batch's default.
const defaultClassifyBatch = 8

// ClassifyResult is a classifier's score on a labelled task. Which metrics
// are set depends on the problem type: accuracy, macro_f1 and mcc for
// single-label classification; accuracy (subset accuracy), micro_f1 and
// macro_f1 for multi-label; mse, pearson and spearman for regression (the
// correlations only when defined: neither side constant).
type ClassifyResult struct {
	Accuracy *float64 `json:"accuracy,omitempty"`
	MacroF1  *float64 `json:"macro_f1,omitempty"`
	MCC      *float64 `json:"mcc,omitempty"`
	MicroF1  *float64 `json:"micro_f1,omitempty"`
	MSE      *float64 `json:"mse,omitempty"`
	Pearson  *float64 `json:"pearson,omitempty"`
	Spearman *float64 `json:"spearman,omitempty"`
	// Examples evaluated; Correct how many were predicted right (the exact
	// set for multi-label; not set for regression).
	Examples int  `json:"examples"`
	Correct  *int `json:"correct,omitempty"`
	// Tokens is the number of tokens of the encoded examples, special
	// tokens included, padding not; Truncated counts the examples cut to
	// the max length.
	Tokens    int `json:"tokens"`
	Truncated int `json:"truncated"`
	// PerClass has every class's counts (classification only); Confusion
	// counts [true class][predicted class] (single-label only).
	PerClass  []ClassCount     `json:"per_class,omitempty"`
	Confusion [][]int          `json:"confusion,omitempty"`
	Protocol  ClassifyProtocol `json:"protocol"`
	// PerExample, with ClassifyOptions.Details, in example order.
	PerExample []ExampleScore `json:"per_example,omitempty"`
}

// ExampleScore is one example's outcome (with ClassifyOptions.Details).
type ExampleScore struct {
	Line int `json:"line"`
	// Pred is the predicted class (single-label) or classes (multi-label);
	// empty for regression, whose prediction is the logit.
	Pred   []int     `json:"pred,omitempty"`
	Logits []float32 `json:"logits"`
}

// ClassifyProtocol records how classification numbers were obtained.
type ClassifyProtocol struct {
	Kind        string   `json:"kind"`   // "classify"
	Format      string   `json:"format"` // "tsv", "csv" or "jsonl"
	File        string   `json:"file,omitempty"`
	SHA256      string   `json:"sha256,omitempty"`
	Columns     []string `json:"columns"`
	ProblemType Problem  `json:"problem_type"`
	Labels      []string `json:"labels"`
	Limit       int      `json:"limit,omitempty"`
	MaxLength   int      `json:"max_length"`
	Batch       int      `json:"batch"`
	PadID       int32    `json:"pad_id"`
	Encoding    string   `json:"encoding"`
	Prediction  string   `json:"prediction"`
	// Tokenizer identifies the tokenizer (set by the caller that has its
	// tokenizer.json).
	Tokenizer *TokenizerInfo `json:"tokenizer,omitempty"`
}

const classifyEncoding = "text or text pair with the tokenizer's special tokens (post-processor), " +
	"truncated to max_length with longest_first; batches of consecutive examples, right-padded to " +
	"the longest with pad_id, type id 0 and attention mask 0"

// predictionRule is how each problem type turns logits into a prediction.
var predictionRule = map[Problem]string{
	SingleLabel: "the class of the first largest logit",
	MultiLabel:  "the classes whose logit is above 0 (sigmoid above 0.5)",
	Regression:  "the logit",
}

// ClassifyFile reads the labelled task in path with clf's labels (see
// ReadLabelled; opts.Limit bounds the read) and evaluates clf on it.
func ClassifyFile(ctx context.Context, clf Classifier, path string, opts ClassifyOptions) (ClassifyResult, error) {
	info := clf.Info()
	if err := info.check(); err != nil {
		return ClassifyResult{}, err
	}
	task, err := ReadLabelled(path, info.labelOptions(opts.Limit))
	if err != nil {
		return ClassifyResult{}, err
	}
	return Classify(ctx, clf, task, opts)
}

// Classify evaluates clf on the examples of task (the first opts.Limit of
// them): each example is encoded with clf's tokenizer, consecutive
// examples are padded into batches, the batches run concurrently, and the
// predictions are compared with the labels in example order. The result is
// the same for any number of workers and any GOMAXPROCS.
func Classify(ctx context.Context, clf Classifier, task *LabelledTask, opts ClassifyOptions) (ClassifyResult, error) {
	info := clf.Info()
	if err := info.check(); err != nil {
		return ClassifyResult{}, err
	}
	if task.Problem != info.Problem || task.NumLabels != len(info.Labels) {
		return ClassifyResult{}, fmt.Errorf("%s: read as a %s task with %d labels, but the classifier is %s with %d",
			task.Path, task.Problem, task.NumLabels, info.Problem, len(info.Labels))
	}
	maxLen, batch := opts.MaxLength, opts.Batch
	switch {
	case maxLen < 0 || maxLen > info.MaxLength:
		return ClassifyResult{}, fmt.Errorf("max length %d: want 1…%d (the classifier's)", maxLen, info.MaxLength)
	case batch < 0:
		return ClassifyResult{}, fmt.Errorf("batch must not be negative, got %d", batch)
	case opts.Limit < 0:
		return ClassifyResult{}, fmt.Errorf("limit must not be negative, got %d", opts.Limit)
	}
	if maxLen == 0 {
		maxLen = info.MaxLength
	}
	if batch == 0 {
		batch = defaultClassifyBatch
	}
	exs := task.Examples
	if opts.Limit > 0 && opts.Limit < len(exs) {
		exs = exs[:opts.Limit]
	}
	if len(exs) == 0 {
		return ClassifyResult{}, fmt.Errorf("%s: no examples", task.Path)
	}
	res := ClassifyResult{Examples: len(exs), Protocol: ClassifyProtocol{
		Kind: "classify", Format: task.Format, File: task.Path, SHA256: task.SHA256, Columns: task.Columns,
		ProblemType: info.Problem, Labels: info.Labels, Limit: opts.Limit, MaxLength: maxLen,
		Batch: batch, PadID: info.PadID, Encoding: classifyEncoding, Prediction: predictionRule[info.Problem],
	}}
	encs := make([]tokenizer.Encoding, len(exs))
	maxT := 1
	for i, ex := range exs {
		e, truncated, err := encodeExample(info.Tokenizer, ex, maxLen)
		if err != nil {
			return ClassifyResult{}, fmt.Errorf("%s:%d: %w", task.Path, ex.Line, err)
		}
		if truncated {
			res.Truncated++
		}
		res.Tokens += len(e.IDs)
		maxT = max(maxT, len(e.IDs))
		encs[i] = e
	}
	logits, err := runClassifier(ctx, clf, task.Path, exs, encs, batch, maxT, len(info.Labels), info.PadID, opts)
	if err != nil {
		return ClassifyResult{}, err
	}
	res.score(exs, logits, info)
	if opts.Details {
		k := len(info.Labels)
		for i, ex := range exs {
			row := logits[i*k : (i+1)*k]
			res.PerExample = append(res.PerExample, ExampleScore{Line: ex.Line, Pred: predictClasses(info.Problem, row), Logits: row})
		}
	}
	return res, nil
}

// encodeExample encodes ex with the tokenizer's special tokens, truncated
// to maxLen; truncated says whether tokens were dropped.
func encodeExample(tok *tokenizer.Tokenizer, ex Example, maxLen int) (e tokenizer.Encoding, truncated bool, err error) {
	enc := func(tr tokenizer.Truncation) (tokenizer.Encoding, error) {
		o := tokenizer.EncodeOptions{AddSpecial: true}
		if ex.Pair {
			return tok.EncodeTextPair(ex.Text, ex.TextB, o, tr)
		}
		return tok.EncodeText(ex.Text, o, tr)
	}
	if e, err = enc(tokenizer.Truncation{}); err != nil || len(e.IDs) <= maxLen {
		return e, false, err
	}
	e, err = enc(tokenizer.Truncation{MaxLength: maxLen, Strategy: tokenizer.LongestFirst})
	return e, true, err
}

// runClassifier runs the batches of encs (batch consecutive examples each)
// on workers and returns the logits, [len(encs), k] row-major.
func runClassifier(ctx context.Context, clf Classifier, path string, exs []Example, encs []tokenizer.Encoding,
	batch, maxT, k int, padID int32, opts ClassifyOptions) ([]float32, error) {
	n := len(encs)
	jobs := (n + batch - 1) / batch
	logits := make([]float32, n*k)
	span := func(j int) (lo, hi int) { return j * batch, min(n, (j+1)*batch) }
	job := func(r ClassifierRunner, j int) error {
		lo, hi := span(j)
		out, err := r.Classify(padBatch(encs[lo:hi], padID))
		if err != nil {
			return fmt.Errorf("%s: examples at lines %d–%d: %w", path, exs[lo].Line, exs[hi-1].Line, err)
		}
		if len(out) != (hi-lo)*k {
			return fmt.Errorf("%s: examples at lines %d–%d: the classifier gave %d logits, want %d×%d",
				path, exs[lo].Line, exs[hi-1].Line, len(out), hi-lo, k)
		}
		for i, v := range out {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("%s:%d: logit %d is %v: the classifier's outputs are not finite", path, exs[lo+i/k].Line, i%k, v)
			}
		}
		copy(logits[lo*k:hi*k], out)
		return nil
	}
	newRunner := func() (ClassifierRunner, error) { return clf.NewRunner(min(batch, n), maxT) }
	units := func(j int) int { lo, hi := span(j); return hi - lo }
	if err := forEachJob(ctx, jobs, workerCount(opts.Workers, jobs), newRunner, job, units, n, opts.Progress); err != nil {
		return nil, err
	}
	return logits, nil
}

// padBatch pads copies of encs to their longest and lays them out as a
// Batch.
func padBatch(encs []tokenizer.Encoding, padID int32) Batch {
	rows := append([]tokenizer.Encoding(nil), encs...) // Pad replaces the rows' slices
	tokenizer.Pad(rows, tokenizer.Padding{ID: padID})
	t := len(rows[0].IDs)
	in := Batch{B: len(rows), T: t, IDs: make([]int32, 0, len(rows)*t),
		TypeIDs: make([]int32, 0, len(rows)*t), Mask: make([]int32, 0, len(rows)*t)}
	for _, e := range rows {
		in.IDs = append(in.IDs, e.IDs...)
		in.TypeIDs = append(in.TypeIDs, e.TypeIDs...)
		in.Mask = append(in.Mask, e.AttentionMask...)
	}
	return in
}
