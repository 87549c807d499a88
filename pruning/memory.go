package pruning

import (
	"fmt"

	"lopper/model"
)

// MemoryOptions say what EstimateMemory estimates: the options of a
// Prune call and the calibration set's shape (its windows need not be cut
// yet: Options.Calib is not read).
type MemoryOptions struct {
	Options
	// CalibSamples windows of CalibSeqLen tokens, CalibBatch windows per
	// pass (0: the default, 8).
	CalibSamples, CalibSeqLen, CalibBatch int
	// InPlace: PruneInPlace, which holds no copy of the weights.
	InPlace bool
	// Lazy: PruneInPlace of a lazy model (model.Open), where the
	// function Lazy allows it (otherwise it is ignored): only the weights
	// and the mask in flight are resident.
	Lazy bool
	// ScoreOnly estimates Score (Method, Targets, calibration) instead:
	// the weights, a score per parameter and the calibration.
	ScoreOnly bool
}

// EstimateMemory estimates the peak memory of pruning a model of config c
// as o says, before any work: the weights (float32), their copy (unless in
// place), the mask (1 bit per parameter), the scores (4 bytes per
// parameter of the targets when a comparison group spans tensors: global,
// OWL, Taylor; one tensor's otherwise) and the selection's scratch mask of
// as many entries (1 byte each: of every target, one block's or one
// tensor's), the gradients of Taylor, and the
// calibration working set: the windows' hidden states (4·samples·seq·
// hidden bytes), one batch's forward pass without logits, and SparseGPT's
// float64 Hessians (8·cols² per input of one block; of every block in one
// pass) with one tensor's reconstruction buffers. Structured patterns
// count the smaller model as large as the input. It does not add the
// garbage collector's headroom (model.MemoryEstimate.WithRuntime). With
// o.Lazy it counts the weights and the mask in flight instead
// (estimateLazy).
func EstimateMemory(c *model.Config, o MemoryOptions) (model.MemoryEstimate, error) {
	var e model.MemoryEstimate
	weights, err := model.WeightBytes(c)
	if err != nil {
		return e, err
	}
	layout, err := model.NewLayout(c)
	if err != nil {
		return e, err
	}
	if o.ScoreOnly {
		e.Add("weights", weights)
		return e, estimateScore(&e, c, layout, o)
	}
	n, err := o.Options.normalize()
	if err != nil {
		return e, err
	}
	if o.Lazy && o.InPlace && Lazy(c, o.Options) {
		return estimateLazy(c, layout, o, n)
	}
	e.Add("weights", weights)
	if n.Pattern.structured() {
		e.Add("pruned model (at most the input's size)", weights)
		if n.needsCalib() || n.Method == MethodActivation || n.Method == MethodBlockInfluence || n.Method == Taylor {
			addCalibration(&e, c, o, false)
		}
		return e, nil
	}
	if !o.InPlace {
		e.Add("copy of the weights", weights)
	}
	targets, err := SelectTargets(layout, n.Targets)
	if err != nil {
		return e, err
	}
	e.Add("mask", model.MaskBytes(layout.Total))
	addWork(&e, c, layout, targets, o, n)
	return e, nil
}

// addWork adds what Prune holds besides the weights and the mask: the
// scores, the selection's scratch mask (one byte per entry of the span it
// selects in: finisher.begin, selectOver) and the calibration working
// set.
func addWork(e *model.MemoryEstimate, c *model.Config, layout *model.Layout, targets []model.TensorInfo, o MemoryOptions, n Options) {
	var all, largest int64
	for _, t := range targets {
		all, largest = all+int64(t.Size), max(largest, int64(t.Size))
	}
	switch {
	case n.Method == SparseGPT:
		addCalibration(e, c, o, n.CalibMode == Sequential)
		e.Add("Hessians (float64)", hessianBytes(c, targets, n.CalibMode == OnePass))
		e.Add("SparseGPT buffers of one tensor", sparseGPTBytes(targets, n.SparseGPT.BlockSize))
		e.Add(maskOfBlock, largestBlockSpan(targets, c.NumLayers()))
		if n.Scope == ScopeOWL {
			e.Add("OWL's scores of one block (one-pass Wanda)", 4*largestBlockSpan(targets, c.NumLayers()))
		}
	case n.Method == Wanda && n.CalibMode == Sequential:
		addCalibration(e, c, o, true)
		if n.Scope == ScopeOWL {
			e.Add("OWL's scores of one block (one-pass Wanda)", 4*largestBlockSpan(targets, c.NumLayers()))
		} else {
			e.Add("scores of one block", 4*largestBlockSpan(targets, c.NumLayers()))
		}
		e.Add(maskOfBlock, largestBlockSpan(targets, c.NumLayers()))
	case byTensor(n):
		if n.Method == Wanda {
			addCalibration(e, c, o, false)
		}
		e.Add("scores of one tensor", 4*largest)
		e.Add("mask of one tensor (1 byte per entry)", largest)
	default:
		addScoring(e, c, layout, o, n.Method)
		if len(targets) > 0 {
			_, lo, hi := rebase(targets)
			e.Add("mask of the targets being selected (1 byte per entry)", int64(hi-lo))
		}
	}
}

// maskOfBlock names the scratch mask of one block's targets.
const maskOfBlock = "mask of one block (1 byte per entry)"

// estimateScore adds what Score holds besides the weights.
func estimateScore(e *model.MemoryEstimate, c *model.Config, layout *model.Layout, o MemoryOptions) error {
	switch o.Method {
	case Magnitude, Random, Wanda, Taylor:
	default:
		return fmt.Errorf("%q is not a score criterion (want magnitude, random, wanda or taylor)", o.Method)
	}
	addScoring(e, c, layout, o, o.Method)
	return nil
}

// addScoring adds a score per parameter and what the method computes them
// from: one-pass calibration (Wanda) or the gradient of a training pass
// over the calibration windows (Taylor).
func addScoring(e *model.MemoryEstimate, c *model.Config, layout *model.Layout, o MemoryOptions, m Method) {
	switch m {
	case Wanda:
		addCalibration(e, c, o, false)
	case Taylor:
		T, B := o.CalibSeqLen, calibBatch(o)
		e.Add("gradients", 4*int64(layout.Total))
		e.Add("calibration training pass", model.StateBytes(c, B, T, true)+model.LogitsBytes(c, B, T))
	}
	e.Add("scores", 4*int64(layout.Total))
}

func calibBatch(o MemoryOptions) int {
	b := o.CalibBatch
	if b <= 0 {
		b = 8
	}
	return max(1, min(b, o.CalibSamples))
}

// addCalibration adds the calibration working set: the tokens, the
// hidden states of every window (sequential calibration keeps them from
// block to block, with a batch-sized copy), and one batch's forward pass.
func addCalibration(e *model.MemoryEstimate, c *model.Config, o MemoryOptions, sequential bool) {
	n, T, B := int64(o.CalibSamples), o.CalibSeqLen, calibBatch(o)
	if n == 0 || T == 0 {
		return
	}
	hidden := 4 * int64(T) * int64(c.Hidden)
	if sequential {
		e.Add("calibration hidden states", n*hidden+int64(B)*hidden)
	}
	e.Add("calibration tokens", 4*n*int64(T))
	e.Add("calibration forward pass", model.ForwardBytes(c, B, T, false))
}

// hessianBytes is the size of the float64 Hessians SparseGPT collects: one
// per distinct input of a block's targets (q, k and v share one; gate and
// up), for the largest block, or for every block at once in one pass.
func hessianBytes(c *model.Config, targets []model.TensorInfo, allBlocks bool) int64 {
	byBlock, _ := blockTargets(targets, c.NumLayers())
	var sum, largest int64
	for _, ts := range byBlock {
		var b int64
		seen := map[int]bool{}
		for _, t := range ts {
			_, cols := rowsCols(t)
			key := inputKey(t.Role, cols)
			if !seen[key] {
				seen[key] = true
				b += 8 * int64(cols) * int64(cols)
			}
		}
		sum, largest = sum+b, max(largest, b)
	}
	if allBlocks {
		return sum
	}
	return largest
}

// inputKey identifies the input a linear weight reads within a block:
// the attention and MLP projections that share one input map to one key.
func inputKey(r model.Role, cols int) int {
	switch r {
	case model.RoleQ, model.RoleK, model.RoleV, model.RoleQKV:
		return 1<<32 | cols
	case model.RoleGate, model.RoleUp:
		return 2<<32 | cols
	case model.RoleO:
		return 3<<32 | cols
	}
	return 4<<32 | cols
}

// sparseGPTBytes is one tensor's reconstruction buffers for the largest
// target: the update (rows × cols floats), the block's errors and scores,
// and a block of U.
func sparseGPTBytes(targets []model.TensorInfo, blockSize int) int64 {
	if blockSize <= 0 {
		blockSize = 128
	}
	var most int64
	for _, t := range targets {
		rows, cols := rowsCols(t)
		bs := int64(min(blockSize, cols))
		b := 4 * (int64(rows)*int64(cols) + 2*int64(rows)*bs + bs*bs + bs*int64(cols) + int64(cols))
		most = max(most, b)
	}
	return most
}

// largestBlockSpan is the most parameters the targets of one block span.
func largestBlockSpan(targets []model.TensorInfo, layers int) int64 {
	byBlock, _ := blockTargets(targets, layers)
	var most int64
	for _, ts := range byBlock {
		if len(ts) > 0 {
			_, lo, hi := rebase(ts)
			most = max(most, int64(hi-lo))
		}
	}
	return most
}

// estimateLazy is EstimateMemory of PruneInPlace of a lazy model whose
// targets stream: the weights in flight instead of all of them (and no
// mask over the layout: the mask in flight is addWork's), and a piece of
// the checkpoint being decoded. Its peak
// comes in one of two phases: pruning (the largest block pinned beside
// the scores and the calibration working set) or the embedding (pinned
// by calibration's embedding pass, or while the save writes it, the
// working set given back by then), so the weights part is the block's,
// or the embedding's less the working set when that is larger.
func estimateLazy(c *model.Config, layout *model.Layout, o MemoryOptions, n Options) (model.MemoryEstimate, error) {
	var e, work model.MemoryEstimate
	targets, err := SelectTargets(layout, n.Targets)
	if err != nil {
		return e, err
	}
	addWork(&work, c, layout, targets, o, n)
	block, other := lazyInFlight(c, layout)
	e.AddWeights("weights in flight (lazy: one block, or the embedding)", 4*max(block, other-work.Total()/4))
	e.Add("checkpoint piece being decoded", model.DecodePieceBytes())
	e.Parts = append(e.Parts, work.Parts...)
	return e, nil
}

// lazyInFlight is the most parameters a lazy model streamed by Prune
// holds at once: in one block, and in one tensor or the embedding (the
// save of the tensors pruning did not hand over, calibration's embedding
// pass).
func lazyInFlight(c *model.Config, layout *model.Layout) (block, other int64) {
	for _, t := range layout.Tensors {
		other = max(other, int64(t.Size))
	}
	var emb int64
	for _, t := range layout.EmbedTensors() {
		emb += int64(t.Size)
	}
	other = max(other, emb)
	for l := range c.NumLayers() {
		var b int64
		for _, t := range layout.BlockTensors(l) {
			b += int64(t.Size)
		}
		block = max(block, b)
	}
	return block, other
}
