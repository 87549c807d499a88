package main

import (
	"context"
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

// result is what the trained model scored on dev.tsv; lopper.json records
// it.
type result struct {
	FinalLoss float64 `json:"final_loss"` // mean training loss of the last tenth of the steps
	Accuracy  float64 `json:"accuracy"`   // dev accuracy (lopper eval --classify)
	Correct   int     `json:"correct"`
	Examples  int     `json:"examples"`
}

// trainModel trains a fresh classifier on the training reviews, measures
// it on dir's dev file with lopper's evaluation, and fails when it does
// not reach s.MinAcc.
func trainModel(ctx context.Context, s settings, d *synth.ReviewSet, dir string, log io.Writer) (*model.Model, result, error) {
	tokJSON, err := synth.ReviewTokenizerJSON()
	if err != nil {
		return nil, result{}, err
	}
	tok, err := tokenizer.FromJSON(tokJSON)
	if err != nil {
		return nil, result{}, fmt.Errorf("the generated tokenizer.json: %w", err)
	}
	m, err := newModel(s.Arch, s.Seed, tokJSON)
	if err != nil {
		return nil, result{}, err
	}
	data := make([]train.Example, len(d.Train))
	for i, r := range d.Train {
		e, err := tok.EncodeText(r.Text, tokenizer.EncodeOptions{AddSpecial: true}, tokenizer.Truncation{})
		if err != nil {
			return nil, result{}, fmt.Errorf("review %q: %w", r.Text, err)
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
		return nil, result{}, err
	}
	m.Source = dir
	r, err := eval.ClassifyModel(ctx, m, filepath.Join(dir, devFile), eval.ClassifyOptions{})
	if err != nil {
		return nil, result{}, err
	}
	fmt.Fprintf(log, "dev: accuracy %.4f (%d of %d), macro F1 %.4f; %s\n",
		*r.Accuracy, *r.Correct, r.Examples, *r.MacroF1, time.Since(start).Round(time.Second))
	if *r.Accuracy < s.MinAcc {
		return nil, result{}, fmt.Errorf("the trained model's dev accuracy %.4f is below %g: nothing written (train longer: -steps)", *r.Accuracy, s.MinAcc)
	}
	return m, result{FinalLoss: tr.FinalLoss, Accuracy: *r.Accuracy, Correct: *r.Correct, Examples: r.Examples}, nil
}
