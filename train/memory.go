package train

import "lopper/model"

// EstimateMemory estimates the peak memory of Train on a model of config
// c with batches of B sequences of T tokens: the weights, their gradients
// and AdamW's two moments (4 bytes per parameter each: 16 bytes per
// parameter in all), every layer's activations and attention
// probabilities for the backward pass and the logits (model.StateBytes),
// and the logits' gradient. A teacher (distillation) adds its forward pass; its
// weights are the caller's. It does not add the garbage collector's
// headroom (model.MemoryEstimate.WithRuntime).
func EstimateMemory(c *model.Config, B, T int, teacher *model.Config) (model.MemoryEstimate, error) {
	var e model.MemoryEstimate
	weights, err := model.WeightBytes(c)
	if err != nil {
		return e, err
	}
	e.Add("weights", weights)
	e.Add("gradients", weights)
	e.Add("AdamW moments", 2*weights)
	e.Add("activations", model.StateBytes(c, B, T, true))
	e.Add("logits' gradient", model.LogitsBytes(c, B, T))
	if teacher != nil {
		e.Add("teacher's forward pass", model.ForwardBytes(teacher, B, T, true))
	}
	return e, nil
}
