package main

// The encoder quickstart (-bert): the synthetic review task of
// internal/synth as GLUE-style TSV files, its WordPiece tokenizer, and a
// tiny BertForSequenceClassification trained on it by
// train.TrainClassifier and measured by lopper's evaluation:
//
//	quickstart/bert/train.tsv   training reviews ("sentence\tlabel", labels by name)
//	quickstart/bert/dev.tsv     held-out reviews, never in train.tsv
//	quickstart/bert/model/      Hugging Face directory (BertForSequenceClassification)

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"lopper/eval"
	"lopper/internal/synth"
	"lopper/model"
	"lopper/model/tokenizer"
	"lopper/train"
)

// The encoder quickstart's data files.
const (
	bertTrainFile = "train.tsv"
	bertDevFile   = "dev.tsv"
)

// bertSettings are everything the encoder quickstart depends on;
// lopper.json records them.
type bertSettings struct {
	Seed  uint64       `json:"seed"` // seeds the data, the initial weights and the batches
	Data  bertDataSpec `json:"data"`
	Arch  bertArch     `json:"arch"`
	Train trainSpec    `json:"train"`
	// MinAcc is the dev accuracy the trained model must reach, or nothing
	// is written.
	MinAcc float64 `json:"min_acc"`
}

// bertDataSpec is synth.ReviewSpec without its seed.
type bertDataSpec struct {
	TrainLines int `json:"train_lines"`
	EvalLines  int `json:"eval_lines"`
}

// bertArch is the classifier's shape (BertConfig's names).
type bertArch struct {
	Hidden       int `json:"hidden_size"`
	Layers       int `json:"num_hidden_layers"`
	Heads        int `json:"num_attention_heads"`
	Intermediate int `json:"intermediate_size"`
	Positions    int `json:"max_position_embeddings"`
}

// defaultBERTSettings make the committed quickstart/bert files.
func defaultBERTSettings() bertSettings {
	return bertSettings{
		Seed: 1,
		Data: bertDataSpec{TrainLines: 4000, EvalLines: 500},
		Arch: bertArch{Hidden: 32, Layers: 2, Heads: 4, Intermediate: 64, Positions: 64},
		Train: trainSpec{
			Steps: 3000, BatchSize: 32, LR: 3e-3, MinLR: 1e-4, WarmupSteps: 100, WeightDecay: 0.01, GradClip: 1,
		},
		MinAcc: 0.95,
	}
}

// reviews generates the task and renders its files.
func reviews(s bertSettings) (*synth.ReviewSet, []namedData, error) {
	d, err := synth.GenerateReviews(synth.ReviewSpec{Seed: s.Seed, TrainLines: s.Data.TrainLines, EvalLines: s.Data.EvalLines})
	if err != nil {
		return nil, nil, err
	}
	return d, []namedData{{bertTrainFile, d.TrainTSV()}, {bertDevFile, d.EvalTSV()}}, nil
}

// bertJob is the encoder quickstart of settings s.
func bertJob(s bertSettings) (job, error) {
	d, files, err := reviews(s)
	if err != nil {
		return job{}, err
	}
	return job{madeBy: "go run ./tools/mkquickstart -bert", settings: s, files: files,
		train: func(ctx context.Context, dir string, log io.Writer) (*model.Model, any, error) {
			return trainBERT(ctx, s, d, dir, log)
		}}, nil
}

// bertConfig is config.json as transformers' BertConfig writes it for
// BertForSequenceClassification, with the review task's labels.
type bertConfig struct {
	bertArch
	Architectures    []string          `json:"architectures"`
	ModelType        string            `json:"model_type"`
	Vocab            int               `json:"vocab_size"`
	TypeVocab        int               `json:"type_vocab_size"`
	HiddenAct        string            `json:"hidden_act"`
	HiddenDropout    float64           `json:"hidden_dropout_prob"`
	AttnDropout      float64           `json:"attention_probs_dropout_prob"`
	ClassifierDrop   *float64          `json:"classifier_dropout"`
	LayerNormEps     json.Number       `json:"layer_norm_eps"` // spelled as Python writes floats
	InitializerRange float64           `json:"initializer_range"`
	PadID            int               `json:"pad_token_id"`
	PositionType     string            `json:"position_embedding_type"`
	ID2Label         map[string]string `json:"id2label"`
	Label2ID         map[string]int    `json:"label2id"`
	ProblemType      string            `json:"problem_type"`
	TorchDType       string            `json:"torch_dtype"`
}

// newBERT builds the untrained classifier: every matrix drawn uniformly
// with standard deviation initStd from a PCG generator seeded by seed
// (uniform, not normal, so that the draws depend on PCG's specified output
// and integer arithmetic only), the [PAD] row of the word embeddings zero
// (as BERT's padding_idx), LayerNorm weights 1 and every bias 0.
func newBERT(a bertArch, seed uint64, tokenizerJSON []byte) (*model.Model, error) {
	id2, l2i := map[string]string{}, map[string]int{}
	for i, l := range synth.ReviewLabels {
		id2[fmt.Sprint(i)], l2i[l] = l, i
	}
	raw, err := json.Marshal(bertConfig{
		bertArch: a, Architectures: []string{"BertForSequenceClassification"}, ModelType: "bert",
		Vocab: synth.ReviewVocabSize(), TypeVocab: 2, HiddenAct: "gelu", HiddenDropout: 0.1, AttnDropout: 0.1,
		LayerNormEps: "1e-12", InitializerRange: initStd, PadID: synth.ReviewPadID, PositionType: "absolute",
		ID2Label: id2, Label2ID: l2i, ProblemType: "single_label_classification", TorchDType: "float32",
	})
	if err != nil {
		return nil, err
	}
	cfg, err := model.ParseConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("bert quickstart config: %w", err)
	}
	m, err := model.New(cfg)
	if err != nil {
		return nil, err
	}
	m.TokenizerJSON = tokenizerJSON
	initWeights(m, seed)
	for _, t := range m.Layout.Tensors {
		if t.Role == model.RoleEmbed {
			clear(t.Of(m.W)[synth.ReviewPadID*a.Hidden : (synth.ReviewPadID+1)*a.Hidden])
		}
	}
	return m, nil
}

// bertResult is what the trained model scored on dev.tsv; lopper.json records
// it.
type bertResult struct {
	FinalLoss float64 `json:"final_loss"` // mean training loss of the last tenth of the steps
	Accuracy  float64 `json:"accuracy"`   // dev accuracy (lopper eval --classify)
	Correct   int     `json:"correct"`
	Examples  int     `json:"examples"`
}

// trainBERT trains a fresh classifier on the training reviews, measures
// it on dir's dev file with lopper's evaluation, and fails when it does
// not reach s.MinAcc.
func trainBERT(ctx context.Context, s bertSettings, d *synth.ReviewSet, dir string, log io.Writer) (*model.Model, any, error) {
	tokJSON, err := synth.ReviewTokenizerJSON()
	if err != nil {
		return nil, bertResult{}, err
	}
	tok, err := tokenizer.FromJSON(tokJSON)
	if err != nil {
		return nil, bertResult{}, fmt.Errorf("the generated tokenizer.json: %w", err)
	}
	m, err := newBERT(s.Arch, s.Seed, tokJSON)
	if err != nil {
		return nil, bertResult{}, err
	}
	data := make([]train.Example, len(d.Train))
	for i, r := range d.Train {
		e, err := tok.EncodeText(r.Text, tokenizer.EncodeOptions{AddSpecial: true}, tokenizer.Truncation{})
		if err != nil {
			return nil, bertResult{}, fmt.Errorf("review %q: %w", r.Text, err)
		}
		data[i] = train.Example{IDs: e.IDs, TypeIDs: e.TypeIDs, Class: int32(r.Label)}
	}
	t := s.Train
	start := time.Now()
	fmt.Fprintf(log, "training %d parameters for %d steps of %d reviews\n", m.NumParams(), t.Steps, t.BatchSize)
	tr, err := train.TrainClassifier(ctx, m, data, nil, train.Config{
		Steps: t.Steps, BatchSize: t.BatchSize, LR: t.LR, MinLR: t.MinLR, WarmupSteps: t.WarmupSteps,
		Schedule: train.Cosine, WeightDecay: t.WeightDecay, GradClip: t.GradClip, Seed: s.Seed,
		OnStep: func(st train.StepStats) {
			if st.Step%100 == 0 || st.Step == t.Steps {
				fmt.Fprintf(log, "step %5d  loss %.4f  lr %.2e  %s\n", st.Step, st.Loss, st.LR, time.Since(start).Round(time.Second))
			}
		},
	})
	if err != nil {
		return nil, bertResult{}, err
	}
	m.Source = dir
	r, err := eval.ClassifyModel(ctx, m, filepath.Join(dir, bertDevFile), eval.ClassifyOptions{})
	if err != nil {
		return nil, bertResult{}, err
	}
	fmt.Fprintf(log, "dev: accuracy %.4f (%d of %d), macro F1 %.4f; %s\n",
		*r.Accuracy, *r.Correct, r.Examples, *r.MacroF1, time.Since(start).Round(time.Second))
	if *r.Accuracy < s.MinAcc {
		return nil, bertResult{}, fmt.Errorf("the trained model's dev accuracy %.4f is below %g: nothing written (train longer: -steps)", *r.Accuracy, s.MinAcc)
	}
	return m, bertResult{FinalLoss: tr.FinalLoss, Accuracy: *r.Accuracy, Correct: *r.Correct, Examples: r.Examples}, nil
}
