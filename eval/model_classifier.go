package eval

import (
	"context"
	"fmt"

	"lopper/model"
)

// modelClassifier adapts an encoder classifier (*model.Model of Arch
// model.BERT: BERT, RoBERTa, DistilBERT) to Classifier.
type modelClassifier struct {
	m    *model.Model
	info ClassifierInfo
}

// NewModelClassifier returns m as a Classifier: its labels, label2id and
// problem type from config.json, its positions as the max length, its
// tokenizer.json, and config.json's pad_token_id (transformers' default
// when absent: 0, RoBERTa 1) as the padding id. A model that is not a
// sequence classifier is an error that says so.
func NewModelClassifier(m *model.Model) (Classifier, error) {
	return newModelClassifier(m)
}

func newModelClassifier(m *model.Model) (modelClassifier, error) {
	c := &m.Config
	if c.Arch != model.BERT {
		return modelClassifier{}, fmt.Errorf("model type %q is not a sequence classifier: labelled tasks need a BERT, RoBERTa or DistilBERT classifier (…ForSequenceClassification)", c.ModelType)
	}
	tok, err := modelTokenizer(m)
	if err != nil {
		return modelClassifier{}, err
	}
	if tok.VocabSize() > c.Vocab {
		return modelClassifier{}, fmt.Errorf("the tokenizer has %d tokens, the model's vocabulary %d", tok.VocabSize(), c.Vocab)
	}
	return modelClassifier{m: m, info: ClassifierInfo{
		Problem: Problem(c.Problem), Labels: c.Labels, Label2ID: c.Label2ID, MaxLength: c.MaxSeqLen(),
		Tokenizer: tok, PadID: int32(c.PadID),
	}}, nil
}

func (a modelClassifier) Info() ClassifierInfo { return a.info }

func (a modelClassifier) NewRunner(b, t int) (ClassifierRunner, error) {
	st, err := model.NewClassifierInferenceState(a.m, b, t)
	if err != nil {
		return nil, err
	}
	return classifierRunner{st}, nil
}

// classifierRunner runs batches on one inference State of the runner's
// size; smaller batches run at their own size.
type classifierRunner struct{ st *model.ClassifierState }

func (r classifierRunner) Classify(in Batch) ([]float32, error) {
	return r.st.Forward(model.EncoderBatch{IDs: in.IDs, TypeIDs: in.TypeIDs, Mask: in.Mask, T: in.T})
}

// ClassifyModel evaluates the encoder classifier m on the labelled task in
// path (see ReadLabelled, Classify): labels are read through m's label2id,
// texts encoded with its tokenizer, and the protocol names the
// tokenizer. At most as many forward passes run at once as fit in memory
// (model.StatesThatFit).
func ClassifyModel(ctx context.Context, m *model.Model, path string, opts ClassifyOptions) (ClassifyResult, error) {
	if err := checkFinite(m); err != nil {
		return ClassifyResult{}, err
	}
	clf, err := newModelClassifier(m)
	if err != nil {
		return ClassifyResult{}, err
	}
	b := opts.Batch
	if b == 0 {
		b = defaultClassifyBatch
	}
	t := opts.MaxLength
	if t <= 0 || t > clf.info.MaxLength {
		t = clf.info.MaxLength
	}
	if b > 0 { // a negative batch is Classify's error
		if err := model.CheckStateSize(&m.Config, b, t, false); err != nil {
			return ClassifyResult{}, err
		}
		opts.Workers = workerCount(opts.Workers, model.StatesThatFit(&m.Config, b, t, false))
	}
	res, err := ClassifyFile(ctx, clf, path, opts)
	if err != nil {
		return ClassifyResult{}, err
	}
	res.Protocol.Tokenizer = describeTokenizer(m.TokenizerJSON)
	return res, nil
}

// EncodedExample is a labelled example encoded for a classifier: its
// label, and its tokens and type ids with the special tokens, truncated to
// the max length, unpadded.
type EncodedExample struct {
	Example
	IDs, TypeIDs []int32
}

// EncodeLabelledFile reads the labelled task in path through the encoder
// classifier m's labels (ReadLabelled; limit > 0 reads only the first
// examples) and encodes every example with m's tokenizer as Classify does:
// special tokens, longest_first truncation to maxLength (0 means m's
// positions, which it may not exceed). Retraining and calibration read
// their labelled data through it. Errors name the file and line.
func EncodeLabelledFile(m *model.Model, path string, maxLength, limit int) ([]EncodedExample, error) {
	clf, err := newModelClassifier(m)
	if err != nil {
		return nil, err
	}
	info := clf.info
	if maxLength < 0 || maxLength > info.MaxLength {
		return nil, fmt.Errorf("max length %d: want 1…%d (the model's positions)", maxLength, info.MaxLength)
	}
	if maxLength == 0 {
		maxLength = info.MaxLength
	}
	task, err := ReadLabelled(path, info.labelOptions(limit))
	if err != nil {
		return nil, err
	}
	if len(task.Examples) == 0 {
		return nil, fmt.Errorf("%s: no examples", path)
	}
	out := make([]EncodedExample, len(task.Examples))
	for i, ex := range task.Examples {
		e, _, err := encodeExample(info.Tokenizer, ex, maxLength)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, ex.Line, err)
		}
		out[i] = EncodedExample{Example: ex, IDs: e.IDs, TypeIDs: e.TypeIDs}
	}
	return out, nil
}
