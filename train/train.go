package train

import (
	"context"
	"fmt"
	"math"

	"lopper/model"
)

// StepStats are one optimizer step's numbers.
type StepStats struct {
	Step     int     `json:"step"` // 1-based
	Loss     float64 `json:"loss"` // what was minimised
	LMLoss   float64 `json:"lm_loss"`
	KDLoss   float64 `json:"kd_loss,omitempty"` // T²·KL term, with a teacher
	LR       float64 `json:"lr"`
	GradNorm float64 `json:"grad_norm"` // before clipping
	Tokens   int     `json:"tokens"`    // scored targets in the batch
	// EvalLoss is the mean LM loss on the eval batches, at eval steps.
	EvalLoss *float64 `json:"eval_loss,omitempty"`
}

// Result is what Train did.
type Result struct {
	Steps []StepStats
	// InitialLoss and FinalLoss are the mean losses of the first and the
	// last ⌈steps/10⌉ steps (single steps are noisy).
	InitialLoss, FinalLoss float64
	// Tokens counts the scored targets over all steps.
	Tokens int
	// EvalLoss is the last eval loss (NaN without EvalEvery).
	EvalLoss float64
}

// Train trains m in place for cfg.Steps steps on batches from src and
// returns the loss curve. Unset optional fields of cfg take their defaults
// (see Config.WithDefaults). Only the tensors cfg.Trainable selects
// change (every tensor by default). Pruned weights (m.Mask) get zero gradients and
// stay exactly zero; that is verified after every step with
// cfg.DebugMasks and always after the last, the error naming the tensor. A
// non-finite loss stops training with an error naming the step. Train
// returns ctx's error promptly when it is cancelled, leaving m partly
// trained.
func Train(ctx context.Context, m *model.Model, src Source, cfg Config) (*Result, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(m); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if src == nil {
		return nil, fmt.Errorf("train: no training data source")
	}
	if err := m.CheckMask(); err != nil {
		return nil, fmt.Errorf("train: the model's masks do not hold before training: %w", err)
	}
	B, T, V := cfg.BatchSize, cfg.SeqLen, m.Config.Vocab
	sel, err := model.NewTrainable(m.Layout, cfg.Trainable)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	st, err := model.NewTrainState(m, B, T, model.TrainOptions{Trainable: sel, Recompute: cfg.Recompute})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	var teacher *model.State
	if cfg.Teacher != nil {
		if teacher, err = model.NewInferenceState(cfg.Teacher, B, T); err != nil {
			return nil, fmt.Errorf("train: teacher: %w", err)
		}
	}
	p, err := newStepper(m, &cfg, sel)
	if err != nil {
		return nil, err
	}
	var evalSet *evalBatches
	if cfg.EvalEvery > 0 {
		if evalSet, err = newEvalBatches(cfg, V); err != nil {
			return nil, fmt.Errorf("train: eval data: %w", err)
		}
	}
	rng := newRNG(cfg.Seed)
	inputs, targets := make([]int32, B*T), make([]int32, B*T)
	dlogits := make([]float32, B*T*V)
	for t := range cfg.Steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := src.Batch(rng, inputs, targets, T); err != nil {
			return nil, fmt.Errorf("train: step %d: batch: %w", t+1, err)
		}
		s := StepStats{Step: t + 1, LR: cfg.LRAt(t), Tokens: scored(targets)}
		logits, err := st.Forward(inputs)
		if err != nil {
			return nil, fmt.Errorf("train: step %d: %w", t+1, err)
		}
		if s.LMLoss, err = model.CrossEntropy(logits, targets, V, dlogits); err != nil {
			return nil, fmt.Errorf("train: step %d: %w", t+1, err)
		}
		s.Loss = s.LMLoss
		if teacher != nil {
			tl, err := teacher.Forward(inputs)
			if err != nil {
				return nil, fmt.Errorf("train: step %d: teacher: %w", t+1, err)
			}
			if s.Loss, s.KDLoss, err = addDistill(logits, tl, targets, V, cfg.Distill, s.LMLoss, dlogits); err != nil {
				return nil, fmt.Errorf("train: step %d: %w", t+1, err)
			}
		}
		if err := p.update(&s, func(g []float32) error { return st.Backward(dlogits, g) }); err != nil {
			return nil, err
		}
		if p.evalDue(t + 1) {
			l, err := evalSet.loss(st)
			if err != nil {
				return nil, fmt.Errorf("train: step %d: eval: %w", t+1, err)
			}
			s.EvalLoss = &l
		}
		p.record(s)
	}
	return p.finish()
}

// scored counts the targets that are scored (≥ 0).
func scored(targets []int32) int {
	n := 0
	for _, t := range targets {
		if t >= 0 {
			n++
		}
	}
	return n
}

// meanLoss is the mean loss of the first (or last) ⌈len/10⌉ steps.
func meanLoss(steps []StepStats, first bool) float64 {
	k := (len(steps) + 9) / 10
	sel := steps[len(steps)-k:]
	if first {
		sel = steps[:k]
	}
	var s float64
	for _, st := range sel {
		s += st.Loss
	}
	return s / float64(k)
}

// evalBatches are fixed batches for the eval loss, drawn once from the
// eval source with an rng of their own (so evaluating does not change the
// training batches).
type evalBatches struct {
	inputs, targets [][]int32
	vocab           int
}

func newEvalBatches(cfg Config, vocab int) (*evalBatches, error) {
	rng := newRNG(cfg.Seed ^ 0x6576616c) // "eval"
	e := &evalBatches{vocab: vocab}
	n := cfg.BatchSize * cfg.SeqLen
	for range cfg.EvalBatches {
		in, tg := make([]int32, n), make([]int32, n)
		if err := cfg.Eval.Batch(rng, in, tg, cfg.SeqLen); err != nil {
			return nil, err
		}
		e.inputs, e.targets = append(e.inputs, in), append(e.targets, tg)
	}
	return e, nil
}

// loss is the mean LM loss over every scored target of the batches.
func (e *evalBatches) loss(st *model.State) (float64, error) {
	var nll float64
	var n int
	for i := range e.inputs {
		logits, err := st.Forward(e.inputs[i])
		if err != nil {
			return 0, err
		}
		l, err := model.CrossEntropy(logits, e.targets[i], e.vocab, nil)
		if err != nil {
			return 0, err
		}
		k := scored(e.targets[i])
		nll += l * float64(k)
		n += k
	}
	if n == 0 {
		return math.NaN(), nil
	}
	return nll / float64(n), nil
}
