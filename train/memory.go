package train

import "lopper/model"

// MemoryOptions are what Train's memory depends on besides the model.
type MemoryOptions struct {
	// B and T are the batch: B sequences of T tokens.
	B, T int
	// Teacher is the distillation teacher's config (nil: none); its
	// weights are the caller's.
	Teacher *model.Config
	// Trainable and Recompute are Config's.
	Trainable string
	Recompute bool
	// Mask: the model has a mask (a pruned model), 1 bit per parameter.
	Mask bool
}

// EstimateMemory estimates the peak memory of Train on a model of config
// c: the weights (4 bytes per parameter), the mask (1 bit per parameter),
// the gradients (4 bytes per trainable parameter) and AdamW's two moments
// (8 bytes per trainable parameter), the activations (model.TrainStateBytes:
// every block's activations and attention probabilities, or with
// Recompute every block's input and one block's activations; and the
// logits), the logits' gradient, the backward pass's scratch
// (model.BackwardBytes) and, distilling, the teacher's forward pass. A
// Trainable pattern that does not compile or matches no tensor is an
// error. It does not add the garbage collector's headroom
// (model.MemoryEstimate.WithRuntime).
func EstimateMemory(c *model.Config, o MemoryOptions) (model.MemoryEstimate, error) {
	var e model.MemoryEstimate
	weights, err := model.WeightBytes(c)
	if err != nil {
		return e, err
	}
	l, err := model.NewLayout(c)
	if err != nil {
		return e, err
	}
	sel, err := model.NewTrainable(l, o.Trainable)
	if err != nil {
		return e, err
	}
	e.Add("weights", weights)
	if o.Mask {
		e.Add("mask", model.MaskBytes(l.Total))
	}
	trained := 4 * int64(sel.Total)
	what := ""
	if !sel.All() {
		what = " (trainable tensors)"
	}
	e.Add("gradients"+what, trained)
	e.Add("AdamW moments"+what, 2*trained)
	acts := "activations"
	if o.Recompute {
		acts = "activations (recomputed: block inputs and one block's)"
	}
	e.Add(acts, model.TrainStateBytes(c, o.B, o.T, o.Recompute))
	e.Add("logits' gradient", model.LogitsBytes(c, o.B, o.T))
	e.Add("backward scratch", model.BackwardBytes(c, o.B, o.T, sel))
	if o.Teacher != nil {
		e.Add("teacher's forward pass", model.ForwardBytes(o.Teacher, o.B, o.T, true))
	}
	return e, nil
}
