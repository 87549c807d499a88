package train

import (
	"fmt"
	"math"

	"lopper/model"
)

// stepper is what every training loop shares once a step's loss and its
// gradient with respect to the logits are known: the divergence check,
// the backward pass into fresh gradients (of the trainable tensors), clipping, AdamW at the step's
// rate with the masks held, the per-step mask check, and the record.
type stepper struct {
	m     *model.Model
	cfg   *Config
	opt   *model.AdamW
	grads []float32
	clip  float64
	res   *Result
}

// newStepper trains the tensors sel selects (nil: all of them).
func newStepper(m *model.Model, cfg *Config, sel *model.Trainable) (*stepper, error) {
	if sel == nil {
		sel = model.AllTrainable(m.Layout)
	}
	opt, err := model.NewAdamWFor(sel, model.AdamWConfig{
		LR: cfg.LR, Beta1: cfg.Beta1, Beta2: cfg.Beta2, Eps: cfg.Eps, WeightDecay: cfg.WeightDecay,
	})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	clip := cfg.GradClip
	if clip == 0 {
		clip = math.Inf(1)
	}
	return &stepper{m: m, cfg: cfg, opt: opt, grads: make([]float32, sel.Total), clip: clip,
		res: &Result{Steps: make([]StepStats, 0, cfg.Steps), EvalLoss: math.NaN()}}, nil
}

// update finishes step s (its loss and rate set): backward fills the
// gradients, which are clipped and applied.
func (p *stepper) update(s *StepStats, backward func(grads []float32) error) error {
	if math.IsNaN(s.Loss) || math.IsInf(s.Loss, 0) {
		return fmt.Errorf("train: step %d: the loss is %g (lr %g): training diverged", s.Step, s.Loss, s.LR)
	}
	clear(p.grads)
	if err := backward(p.grads); err != nil {
		return fmt.Errorf("train: step %d: %w", s.Step, err)
	}
	s.GradNorm = model.ClipGradNorm(p.grads, p.clip)
	p.opt.Config.LR = s.LR
	if err := p.opt.Step(p.m.W, p.grads, p.m.Mask); err != nil {
		return fmt.Errorf("train: step %d: %w", s.Step, err)
	}
	if p.cfg.DebugMasks {
		if err := p.m.CheckMask(); err != nil {
			return fmt.Errorf("train: step %d: masks violated: %w", s.Step, err)
		}
	}
	return nil
}

// evalDue reports whether step s (1-based) computes the eval loss.
func (p *stepper) evalDue(s int) bool {
	return p.cfg.EvalEvery > 0 && (s%p.cfg.EvalEvery == 0 || s == p.cfg.Steps)
}

// record adds a finished step to the result and tells OnStep.
func (p *stepper) record(s StepStats) {
	if s.EvalLoss != nil {
		p.res.EvalLoss = *s.EvalLoss
	}
	p.res.Tokens += s.Tokens
	p.res.Steps = append(p.res.Steps, s)
	if p.cfg.OnStep != nil {
		p.cfg.OnStep(s)
	}
}

// finish checks the masks once more and summarises the losses.
func (p *stepper) finish() (*Result, error) {
	if err := p.m.CheckMask(); err != nil {
		return nil, fmt.Errorf("train: masks violated after %d steps: %w", p.cfg.Steps, err)
	}
	p.res.InitialLoss, p.res.FinalLoss = meanLoss(p.res.Steps, true), meanLoss(p.res.Steps, false)
	return p.res, nil
}
