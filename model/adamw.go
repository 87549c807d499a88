package model

import (
	"fmt"
	"math"

	"lopper/internal/par"
)

// AdamWConfig holds AdamW's hyperparameters, with PyTorch's meanings.
type AdamWConfig struct {
	LR           float64
	Beta1, Beta2 float64
	Eps          float64
	// WeightDecay is decoupled decay (w ← w·(1 − LR·WeightDecay)), applied to
	// 2-D weights only: linear weights and embeddings, never norms or biases.
	WeightDecay float64
}

// AdamW is the AdamW optimizer over a flat buffer of a Layout. It computes
// what torch.optim.AdamW computes, with the gradients and the moments M and
// V over the compact layout of the trainable tensors (Trainable; the
// parameters' layout itself when every tensor is trained).
type AdamW struct {
	Config AdamWConfig // LR may be changed between steps (schedules)
	M, V   []float32
	Steps  int
	layout *Layout
	sel    *Trainable
}

// NewAdamW returns an optimizer with zero moments over every tensor of l.
func NewAdamW(l *Layout, c AdamWConfig) (*AdamW, error) { return NewAdamWFor(AllTrainable(l), c) }

// NewAdamWFor returns an optimizer with zero moments over the tensors t
// selects; the others are never changed.
func NewAdamWFor(t *Trainable, c AdamWConfig) (*AdamW, error) {
	switch {
	case !(c.LR >= 0):
		return nil, fmt.Errorf("adamw: learning rate must be ≥ 0, got %g", c.LR)
	case !(c.Beta1 >= 0 && c.Beta1 < 1) || !(c.Beta2 >= 0 && c.Beta2 < 1):
		return nil, fmt.Errorf("adamw: betas must be in [0, 1), got %g, %g", c.Beta1, c.Beta2)
	case !(c.Eps > 0):
		return nil, fmt.Errorf("adamw: eps must be > 0, got %g", c.Eps)
	case !(c.WeightDecay >= 0):
		return nil, fmt.Errorf("adamw: weight decay must be ≥ 0, got %g", c.WeightDecay)
	}
	return &AdamW{Config: c, M: make([]float32, t.Total), V: make([]float32, t.Total), layout: t.layout, sel: t}, nil
}

// adamChunk is the fixed element count of one parallel task.
const adamChunk = 1 << 14

// Step applies one update to w (over the layout) given gradients g (over
// the trainable tensors' compact layout). Entries that mask (nil for
// dense, over the layout) prunes are held at exactly zero, with zero
// moments.
func (o *AdamW) Step(w, g []float32, mask *Mask) error {
	n := o.layout.Total
	if len(w) != n || len(g) != o.sel.Total || (mask != nil && mask.Len() != n) {
		return fmt.Errorf("adamw: buffers of %d, %d and %d values over a layout of %d (%d trainable)", len(w), len(g), mask.Len(), n, o.sel.Total)
	}
	o.Steps++
	c := o.Config
	t := float64(o.Steps)
	// Scalars are formed in float64 and rounded once, as PyTorch does with
	// its Python-float arguments.
	b1, b2 := float32(c.Beta1), float32(c.Beta2)
	a1, a2 := float32(1-c.Beta1), float32(1-c.Beta2)
	stepSize := float32(c.LR / (1 - math.Pow(c.Beta1, t)))
	bc2Sqrt := float32(math.Sqrt(1 - math.Pow(c.Beta2, t)))
	eps := float32(c.Eps)
	for k, ti := range o.layout.Tensors {
		d := o.sel.Offset[k] - ti.Offset // from w's index to g's and the moments'
		if o.sel.Offset[k] < 0 {
			continue
		}
		decay := float32(1)
		if len(ti.Shape) == 2 {
			decay = float32(1 - c.LR*c.WeightDecay)
		}
		par.For((ti.Size+adamChunk-1)/adamChunk, func(k int) {
			lo := ti.Offset + k*adamChunk
			hi := min(ti.Offset+ti.Size, lo+adamChunk)
			for i := lo; i < hi; i++ {
				j := i + d
				if mask != nil && !mask.Get(i) {
					w[i], o.M[j], o.V[j] = 0, 0, 0
					continue
				}
				gi := g[j]
				w[i] *= decay
				o.M[j] = o.M[j]*b1 + gi*a1
				o.V[j] = o.V[j]*b2 + a2*gi*gi
				denom := float32(math.Sqrt(float64(o.V[j])))/bc2Sqrt + eps
				w[i] -= stepSize * o.M[j] / denom
			}
		})
	}
	return nil
}

// ClipGradNorm scales g so that its L2 norm is at most maxNorm, as
// torch.nn.utils.clip_grad_norm_ does (factor maxNorm/(norm+1e-6) when
// below 1), and returns the norm before clipping. The norm is accumulated in
// float64 over fixed chunks summed in order, so it does not depend on
// GOMAXPROCS.
func ClipGradNorm(g []float32, maxNorm float64) float64 {
	chunks := (len(g) + adamChunk - 1) / adamChunk
	partial := make([]float64, chunks)
	par.For(chunks, func(k int) {
		var s float64
		for _, v := range g[k*adamChunk : min(len(g), (k+1)*adamChunk)] {
			s += float64(v) * float64(v)
		}
		partial[k] = s
	})
	var ss float64
	for _, p := range partial {
		ss += p
	}
	norm := math.Sqrt(ss)
	if coef := maxNorm / (norm + 1e-6); coef < 1 {
		c := float32(coef)
		par.For(chunks, func(k int) {
			for i := k * adamChunk; i < min(len(g), (k+1)*adamChunk); i++ {
				g[i] *= c
			}
		})
	}
	return norm
}
