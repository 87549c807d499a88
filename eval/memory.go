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
	return estimateText(c, o, textBytes, false)
}

// EstimateStreamedTextMemory is EstimateTextMemory for a lazy model
// (model.Open): instead of all the weights, those outside the blocks
// (embeddings, final norm, head) and the largest block once per
// concurrent forward pass, which is what the passes hold pinned.
func EstimateStreamedTextMemory(c *model.Config, o TextOptions, textBytes int64) (model.MemoryEstimate, error) {
	return estimateText(c, o, textBytes, true)
}

func estimateText(c *model.Config, o TextOptions, textBytes int64, streamed bool) (model.MemoryEstimate, error) {
	var e model.MemoryEstimate
	T, B := o.SeqLen, max(o.Batch, 1)
	if T == 0 {
		T = modelLM{&model.Model{Config: *c}}.maxPositions()
	}
	jobs := 1 << 30 // unknown until the text is read: as many as there are workers
	if o.Limit > 0 {
		jobs = (o.Limit + B - 1) / B
	}
	runners := max(1, min(workerCount(o.Workers, jobs), model.StatesThatFit(c, B, T, false)))
	if err := AddWeights(&e, c, streamed, runners); err != nil {
		return e, err
	}
	e.Add(fmt.Sprintf("forward passes (%d × %d×%d tokens)", runners, B, T), int64(runners)*model.ForwardBytes(c, B, T, true))
	e.Add("text tokens", 4*textBytes)
	return e, nil
}

// AddWeights adds the weights of a model of config c to e: all of them,
// float32, for a resident model; streamed (a lazy model), the tensors
// outside the blocks and one block per concurrent forward pass (passes).
func AddWeights(e *model.MemoryEstimate, c *model.Config, streamed bool, passes int) error {
	if !streamed {
		w, err := model.WeightBytes(c)
		e.AddWeights("weights", w)
		return err
	}
	outer, blocks, err := model.StreamedWeightBytes(c, passes)
	e.AddWeights("weights outside the blocks (embeddings, head)", outer)
	e.AddWeights(fmt.Sprintf("weights of the pinned blocks (%d × the largest)", max(passes, 1)), blocks)
	return err
}
