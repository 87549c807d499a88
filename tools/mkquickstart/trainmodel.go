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

// result is what the trained model scored on the held-out data; lopper.json
// records it.
type result struct {
	FinalLoss  float64 `json:"final_loss"`     // mean training loss of the last tenth of the steps
	Acc        float64 `json:"acc"`            // multiple-choice accuracy on choices.jsonl
	Perplexity float64 `json:"perplexity"`     // on eval.txt
	TokenAcc   float64 `json:"token_accuracy"` // next-token accuracy on eval.txt
}

// trainModel trains a fresh model on dir's training text, measures it on
// dir's multiple-choice tasks and evaluation text, and fails when it does
// not reach s.MinAcc.
func trainModel(ctx context.Context, s settings, dir string, log io.Writer) (*model.Model, result, error) {
	tokJSON, err := synth.ByteLevelTokenizer()
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
	tokens, err := tok.EncodeFile(filepath.Join(dir, trainFile), 0)
	if err != nil {
		return nil, result{}, err
	}
	t := s.Train
	start := time.Now()
	fmt.Fprintf(log, "training %d parameters for %d steps of %d×%d tokens\n", m.NumParams(), t.Steps, t.BatchSize, t.SeqLen)
	tr, err := train.Train(ctx, m, train.Stream{Tokens: tokens}, train.Config{
		Steps: t.Steps, BatchSize: t.BatchSize, SeqLen: t.SeqLen, LR: t.LR, MinLR: t.MinLR,
		WarmupSteps: t.WarmupSteps, Schedule: train.Cosine, WeightDecay: t.WeightDecay, GradClip: t.GradClip,
		Seed: s.Seed,
		OnStep: func(st train.StepStats) {
			if st.Step%100 == 0 || st.Step == t.Steps {
				fmt.Fprintf(log, "step %5d  loss %.4f  lr %.2e  %s\n", st.Step, st.Loss, st.LR, time.Since(start).Round(time.Second))
			}
		},
	})
	if err != nil {
		return nil, result{}, err
	}
	tasks, err := eval.ReadChoicesJSONL(filepath.Join(dir, choicesFile))
	if err != nil {
		return nil, result{}, err
	}
	cr, err := eval.Choices(ctx, m, tasks, eval.ChoiceOptions{})
	if err != nil {
		return nil, result{}, err
	}
	tx, err := eval.TextFile(ctx, m, filepath.Join(dir, evalFile), eval.TextOptions{})
	if err != nil {
		return nil, result{}, err
	}
	fmt.Fprintf(log, "held out: multiple-choice acc %.4f (%d of %d), perplexity %.4f, next-token accuracy %.4f; %s\n",
		cr.Acc, cr.Correct, cr.Tasks, tx.Perplexity, tx.Accuracy, time.Since(start).Round(time.Second))
	if cr.Acc < s.MinAcc {
		return nil, result{}, fmt.Errorf("the trained model's multiple-choice accuracy %.4f is below %g: nothing written (train longer: -steps)", cr.Acc, s.MinAcc)
	}
	return m, result{FinalLoss: tr.FinalLoss, Acc: cr.Acc, Perplexity: tx.Perplexity, TokenAcc: tx.Accuracy}, nil
}
