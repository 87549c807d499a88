package train

import (
	"errors"
	"fmt"
	"math"
	"regexp"

	"lopper/model"
)

// Schedule is the learning-rate decay after warmup.
type Schedule string

const (
	Cosine   Schedule = "cosine"   // half a cosine from LR down to MinLR
	Linear   Schedule = "linear"   // a straight line from LR down to MinLR
	Constant Schedule = "constant" // LR throughout
)

// Config configures Train. The zero values of the optional fields are
// their defaults; WithDefaults fills them in.
type Config struct {
	Steps     int // optimizer steps; required, ≥ 1
	BatchSize int // sequences per step; default 8
	SeqLen    int // tokens per sequence; required

	LR          float64  // peak learning rate; required, > 0
	WarmupSteps int      // linear warmup; step t < WarmupSteps uses LR·(t+1)/WarmupSteps
	Schedule    Schedule // after warmup; default Cosine
	MinLR       float64  // where the decay ends; default 0

	// AdamW (PyTorch's meanings; decoupled weight decay on 2-D tensors
	// only). Betas default to 0.9 and 0.999, Eps to 1e-8. WeightDecay
	// defaults to 0: set it explicitly.
	Beta1, Beta2 float64
	Eps          float64
	WeightDecay  float64

	// GradClip is the maximum gradient L2 norm (0 disables clipping; the
	// norm is still reported).
	GradClip float64

	// Seed seeds the batch sampler.
	Seed uint64

	// Teacher, when set, is distilled into the trained model with Distill.
	// It is only read (shared models are safe) and must have the same
	// vocabulary; its sequence length limit must allow SeqLen.
	Teacher *model.Model
	Distill Distill

	// Trainable, when set, is an RE2 regular expression over the Hugging
	// Face tensor names (unanchored): only the tensors it matches are
	// trained. The others keep their weights bit for bit and get no
	// gradients (their weight products are skipped) and no AdamW moments.
	// "" trains every tensor. Language models only.
	Trainable string
	// Recompute keeps only each block's input in the forward pass and
	// recomputes the block's activations just before its backward pass
	// (model.TrainOptions): one block's activations instead of every
	// block's, for one more forward pass per step, with bit-identical
	// results. Language models only.
	Recompute bool

	// DebugMasks verifies after every step that every pruned weight is
	// exactly zero; Train always verifies once at the end.
	DebugMasks bool

	// EvalEvery > 0 computes the mean LM loss over EvalBatches (default 4)
	// fixed batches of Eval every EvalEvery steps and after the last step.
	EvalEvery   int
	EvalBatches int
	Eval        Source

	// OnStep, when set, is called after every step with its statistics.
	OnStep func(StepStats)
}

// Distill configures knowledge distillation.
type Distill struct {
	// Temperature softens both distributions; default 2.
	Temperature float64
	// Alpha weighs the distillation term against the LM loss; default 0.5.
	Alpha float64
}

// WithDefaults returns c with its unset optional fields filled in.
func (c Config) WithDefaults() Config {
	if c.BatchSize == 0 {
		c.BatchSize = 8
	}
	if c.Schedule == "" {
		c.Schedule = Cosine
	}
	if c.Beta1 == 0 && c.Beta2 == 0 {
		c.Beta1, c.Beta2 = 0.9, 0.999
	}
	if c.Eps == 0 {
		c.Eps = 1e-8
	}
	if c.Teacher != nil {
		if c.Distill.Temperature == 0 {
			c.Distill.Temperature = 2
		}
		if c.Distill.Alpha == 0 {
			c.Distill.Alpha = 0.5
		}
	}
	if c.EvalEvery > 0 && c.EvalBatches == 0 {
		c.EvalBatches = 4
	}
	return c
}

// Validate checks a config (after WithDefaults) against the model it will
// train.
func (c *Config) Validate(m *model.Model) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Steps < 1 {
		bad("steps must be at least 1, got %d", c.Steps)
	}
	if c.BatchSize < 1 {
		bad("batch size must be at least 1, got %d", c.BatchSize)
	}
	if c.SeqLen < 1 {
		bad("sequence length must be at least 1, got %d", c.SeqLen)
	} else if c.SeqLen > m.Config.MaxPos {
		bad("sequence length %d exceeds the model's %d positions", c.SeqLen, m.Config.MaxPos)
	}
	if !(c.LR > 0) || math.IsInf(c.LR, 0) {
		bad("learning rate must be positive and finite, got %g", c.LR)
	}
	if !(c.MinLR >= 0) || c.MinLR > c.LR {
		bad("min learning rate must be in [0, lr %g], got %g", c.LR, c.MinLR)
	}
	if c.WarmupSteps < 0 || c.WarmupSteps > c.Steps {
		bad("warmup steps must be in [0, steps %d], got %d", c.Steps, c.WarmupSteps)
	}
	switch c.Schedule {
	case Cosine, Linear, Constant:
	default:
		bad("schedule %q is not one of cosine, linear, constant", c.Schedule)
	}
	if !(c.GradClip >= 0) {
		bad("grad clip must be ≥ 0 (0 disables it), got %g", c.GradClip)
	}
	if c.Teacher != nil {
		switch {
		case c.Teacher.Config.Vocab != m.Config.Vocab:
			bad("teacher vocabulary %d differs from the student's %d", c.Teacher.Config.Vocab, m.Config.Vocab)
		case c.SeqLen > c.Teacher.Config.MaxPos:
			bad("sequence length %d exceeds the teacher's %d positions", c.SeqLen, c.Teacher.Config.MaxPos)
		}
		if !(c.Distill.Temperature > 0) || math.IsInf(c.Distill.Temperature, 0) {
			bad("distillation temperature must be positive and finite, got %g", c.Distill.Temperature)
		}
		if !(c.Distill.Alpha >= 0 && c.Distill.Alpha <= 1) {
			bad("distillation alpha must be in [0, 1], got %g", c.Distill.Alpha)
		}
	}
	if c.Trainable != "" {
		if _, err := regexp.Compile(c.Trainable); err != nil {
			bad("trainable %q: %v", c.Trainable, err)
		}
	}
	if c.EvalEvery < 0 {
		bad("eval every must not be negative, got %d", c.EvalEvery)
	}
	if c.EvalEvery > 0 && (c.Eval == nil || c.EvalBatches < 1) {
		bad("eval every %d needs an eval source and at least one eval batch", c.EvalEvery)
	}
	return errors.Join(errs...)
}
