package model

import (
	"fmt"
	"math"
	"runtime/debug"

	"lopper/model/tensor"
)

// StateBytes is the memory NewState (train) or NewInferenceState
// (NewClassifierState or NewClassifierInferenceState for an encoder)
// allocates for B sequences of T tokens of a model with config c: the
// residual streams, one layer's activations (every layer's, and the
// attention probabilities, for training) and the logits (LogitsBytes),
// which come with the state's first pass that computes them. It is computed
// without allocating anything, in float64, so absurd sizes give a large
// number rather than an overflow; it is at most math.MaxInt64.
func StateBytes(c *Config, B, T int, train bool) int64 {
	return stateBytes(c, B, T, train, false)
}

// TrainStateBytes is StateBytes of a training State (NewTrainState): with
// recompute, every block's input but one block's activations.
func TrainStateBytes(c *Config, B, T int, recompute bool) int64 {
	return stateBytes(c, B, T, true, recompute)
}

func stateBytes(c *Config, B, T int, train, recompute bool) int64 {
	if c.Arch == BERT {
		return encoderStateBytes(c, B, T, train)
	}
	n, H := float64(B)*float64(T), float64(c.Hidden)
	norm := 2 * n // rstd, and mean for GPT-2
	if c.Arch == GPT2 {
		norm += n
	}
	norm += n * H
	block := func(d LayerDims) float64 {
		hd := float64(c.HeadDim)
		f := 2*norm + n*float64(d.Heads+2*d.KVHeads)*hd + n*float64(d.Heads)*hd + n*H +
			n*float64(fcWidth(c, d)) + n*float64(d.Intermediate)
		if train {
			f += float64(B) * float64(d.Heads) * float64(T) * float64(T)
		}
		if c.QKNorm { // q and k before their norms, and the norms' rstd
			f += n * float64(d.Heads+d.KVHeads) * (hd + 1)
		}
		if c.PostNorms { // the o and down outputs and their norms
			f += 2*n*H + 2*(n*H+n)
		}
		return f
	}
	floats := 2 * n * H // residual streams
	switch {
	case train && recompute:
		floats = float64(len(c.Layers)+1)*n*H + block(c.maxDims())
	case train:
		floats = float64(len(c.Layers)+1) * n * H
		for _, d := range c.Layers {
			floats += block(d)
		}
	default:
		floats += block(c.maxDims())
	}
	floats += norm + n*float64(c.Vocab) + 2*float64(T)*float64(c.HeadDim)
	if c.RopeLocalTheta > 0 { // the sliding layers' RoPE tables: cos and sin [T, head dim / 2]
		floats += float64(T) * float64(c.HeadDim)
	}
	if c.NormOffset { // (1 + w) norm weights
		floats += H + 2*float64(c.HeadDim)
	}
	if b := 4 * floats; b < math.MaxInt64 {
		return int64(b)
	}
	return math.MaxInt64
}

// MemoryBudget is the memory that states may take: the machine's physical
// memory, or Go's memory limit (GOMEMLIMIT, debug.SetMemoryLimit) when that
// is lower; math.MaxInt64 where neither is known.
func MemoryBudget() int64 {
	return min(physicalMemory(), debug.SetMemoryLimit(-1))
}

// StatesThatFit is how many states of B sequences of T tokens fit in
// MemoryBudget together (0: not even one).
func StatesThatFit(c *Config, B, T int, train bool) int {
	return int(min(MemoryBudget()/max(StateBytes(c, B, T, train), 1), math.MaxInt32))
}

// CheckStateSize refuses a state that would not fit in MemoryBudget, with
// an error that says how much it needs, rather than letting the
// allocation crash the process. NewState and NewInferenceState check it;
// callers may check sizes from their flags before any work.
func CheckStateSize(c *Config, B, T int, train bool) error {
	return checkStateBytes(c, B, T, train, false)
}

func checkStateBytes(c *Config, B, T int, train, recompute bool) error {
	need, have := stateBytes(c, B, T, train, recompute), MemoryBudget()
	if need <= have {
		return nil
	}
	what := "activations and logits"
	if train {
		what = "activations, attention probabilities and logits for training"
	}
	return fmt.Errorf("batch %d × sequence %d needs %s of %s, more than this machine's %s of memory", B, T, FormatBytes(need), what, FormatBytes(have))
}

// FormatBytes writes a byte count for people: 512 B, 1.5 GiB, 3.2 TiB.
func FormatBytes(b int64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	v, i := float64(b), -1
	for v >= unit && i < 5 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTPE"[i])
}

// BackwardBytes is the memory a training State's first Backward adds for B
// sequences of T tokens of a model with config c, training the tensors t
// selects (nil: all): its scratch gradients of the widest layer, the
// scratch gradient of the largest partly trainable fused product (q but
// not k and v, say) or frozen norm, and the matrix products' scratch.
// The gradients themselves (t.Total values) are the caller's.
func BackwardBytes(c *Config, B, T int, t *Trainable) int64 {
	if c.Arch == BERT {
		return 0
	}
	n, H, w, hd := int64(B)*int64(T), int64(c.Hidden), c.maxDims(), int64(c.HeadDim)
	qkv := int64(w.Heads+2*w.KVHeads) * hd
	floats := n * (2*H + qkv + int64(w.Heads)*hd + int64(fcWidth(c, w)) + int64(w.Intermediate))
	if c.QKNorm {
		floats += int64(w.Heads+w.KVHeads) * hd
	}
	if c.PostNorms {
		floats += n * H
	}
	if c.FinalSoftcap > 0 {
		floats += n * int64(c.Vocab)
	}
	if t != nil && !t.All() {
		floats += t.scratchFloats(c)
	}
	widest := max(int(H), int(qkv), fcWidth(c, w), c.Vocab)
	rows := B * T
	scratch := max(tensor.MatMulScratchBytes(widest, c.Hidden, rows), tensor.MatMulScratchBytes(rows, widest, c.Hidden),
		tensor.MatMulScratchBytes(rows, c.Hidden, widest))
	return 4*floats + scratch
}

// scratchFloats is the scratch Backward's gradOf takes for a selection:
// the largest partly trainable or frozen-but-computed span in each slot.
func (t *Trainable) scratchFloats(c *Config) int64 {
	refs, gl, err := buildRefs(t.layout, c)
	if err != nil {
		return 0
	}
	var w, b int
	need := func(sp span, slot *int, skip bool) {
		g := t.gradSpanOf(sp)
		if g.full > 0 && g.n == 0 && (g.parts != nil || !skip) {
			*slot = max(*slot, g.full)
		}
	}
	need(gl.head, &w, true)
	need(gl.norm, &w, false)
	need(gl.normb, &b, true)
	for i := range refs {
		r := &refs[i]
		for _, sp := range []span{r.qkv, r.o, r.fc, r.down} {
			need(sp, &w, true)
		}
		for _, sp := range []span{r.qkvb, r.ob, r.fcb, r.dn, r.norm1b, r.norm2b} {
			need(sp, &b, true)
		}
		for _, sp := range []span{r.norm1, r.norm2, r.postAttn, r.postMLP} {
			need(sp, &w, false)
		}
		need(r.qn, &w, false)
		need(r.kn, &b, false)
	}
	return int64(w + b)
}
