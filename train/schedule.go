package train

import "math"

// LRAt returns the learning rate of step t (0-based) of c (after
// WithDefaults): a linear warmup over the first WarmupSteps steps,
// LR·(t+1)/WarmupSteps, so the first step already moves and step
// WarmupSteps−1 reaches LR; then, with progress p = (t − WarmupSteps) /
// (Steps − WarmupSteps) running from 0 at the first step after warmup:
//
//	cosine:   MinLR + (LR − MinLR)·(1 + cos(π·p))/2
//	linear:   LR − (LR − MinLR)·p
//	constant: LR
//
// p stays below 1, so the last step's rate is a little above MinLR, as in
// Hugging Face's schedulers.
func (c *Config) LRAt(t int) float64 {
	if t < c.WarmupSteps {
		return c.LR * float64(t+1) / float64(c.WarmupSteps)
	}
	decay := c.Steps - c.WarmupSteps
	if decay <= 0 {
		return c.LR
	}
	p := float64(t-c.WarmupSteps) / float64(decay)
	switch c.Schedule {
	case Cosine:
		return c.MinLR + (c.LR-c.MinLR)*0.5*(1+math.Cos(math.Pi*p))
	case Linear:
		return c.LR - (c.LR-c.MinLR)*p
	}
	return c.LR
}
