package stages

import (
	"context"
	"fmt"

	"lopper/eval"
	"lopper/model"
	"lopper/pipeline"
	"lopper/train"
)

// Retraining an encoder classifier (model.BERT): data and eval_data are
// labelled tasks (TSV, CSV or JSONL, as the evaluate stage's classify),
// read through the model's label2id and encoded with its tokenizer,
// truncated to seq_len tokens (default min(128, the model's positions)).
// The loss is the model's own (cross-entropy, binary cross-entropy or
// MSE); batches are batch_size examples of shuffled passes over the data,
// padded with an attention mask; teacher and distill distil the teacher
// classifier's logits (see train.TrainClassifier). Every other option
// means what it means for a language model.

// isClassifier reports whether m is an encoder classifier, which retrain
// trains on labelled examples.
func isClassifier(m *model.Model) bool { return m.Config.Arch == model.BERT }

// classifierExamples reads and encodes a labelled file for m as training
// examples; errors name the file and line.
func classifierExamples(m *model.Model, path string, maxLen int) ([]train.Example, error) {
	encs, err := eval.EncodeLabelledFile(m, path, maxLen, 0)
	if err != nil {
		return nil, err
	}
	k := m.Config.NumLabels()
	out := make([]train.Example, len(encs))
	for i, e := range encs {
		ex := train.Example{IDs: e.IDs, TypeIDs: e.TypeIDs}
		switch m.Config.Problem {
		case model.SingleLabel:
			ex.Class = int32(e.Label)
		case model.MultiLabel:
			ex.Values = make([]float32, k)
			for _, c := range e.Labels {
				ex.Values[c] = 1
			}
		case model.Regression:
			ex.Values = []float32{float32(e.Target)}
		}
		out[i] = ex
	}
	return out, nil
}

// retrainClassifier trains m (a clone the stage owns) on the labelled data.
func retrainClassifier(ctx context.Context, sc *pipeline.StageContext, cfg *RetrainConfig, m *model.Model, tcfg train.Config) (*train.Result, error) {
	maxLen := cfg.SeqLen
	if maxLen == 0 {
		maxLen = min(defaultSeqLen, m.Config.MaxSeqLen())
	}
	data, err := classifierExamples(m, sc.Resolve(cfg.Data), maxLen)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	var evalData []train.Example
	if cfg.EvalEvery > 0 {
		evalData = data
		if cfg.EvalData != "" {
			if evalData, err = classifierExamples(m, sc.Resolve(cfg.EvalData), maxLen); err != nil {
				return nil, fmt.Errorf("eval_data: %w", err)
			}
		}
	}
	return train.TrainClassifier(ctx, m, data, evalData, tcfg)
}
