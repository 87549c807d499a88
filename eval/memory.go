package eval

import (
	"fmt"

	"lopper/model"
)

// EstimateTextMemory estimates the peak memory of Text (TextFile) on a
// model of config c with options o, before any work: the weights
// (float32), the concurrent forward passes (each an inference State of
// Batch × SeqLen tokens with its logits and the matrix products' scratch;
// as many as Workers, GOMAXPROCS by default, the windows of Limit and the
// machine's memory allow) and the text's tokens, 4 bytes per token for at
// most textBytes tokens. It does not add the garbage collector's headroom
// (model.MemoryEstimate.WithRuntime).
func EstimateTextMemory(c *model.Config, o TextOptions, textBytes int64) (model.MemoryEstimate, error) {
	var e model.MemoryEstimate
	weights, err := model.WeightBytes(c)
	if err != nil {
		return e, err
	}
	T, B := o.SeqLen, max(o.Batch, 1)
	if T == 0 {
		T = modelLM{&model.Model{Config: *c}}.maxPositions()
	}
	jobs := 1 << 30 // unknown until the text is read: as many as there are workers
	if o.Limit > 0 {
		jobs = (o.Limit + B - 1) / B
	}
	runners := max(1, min(workerCount(o.Workers, jobs), model.StatesThatFit(c, B, T, false)))
	e.Add("weights", weights)
	e.Add(fmt.Sprintf("forward passes (%d × %d×%d tokens)", runners, B, T), int64(runners)*model.ForwardBytes(c, B, T, true))
	e.Add("text tokens", 4*textBytes)
	return e, nil
}
