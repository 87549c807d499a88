package model

import (
	"fmt"
	"strings"

	"lopper/model/tensor"
)

// MemoryPart is one named part of a memory estimate, in bytes.
type MemoryPart struct {
	What  string `json:"what"`
	Bytes int64  `json:"bytes"`
	// Weights marks a part that holds model weights (AddWeights).
	Weights bool `json:"-"`
}

// MemoryEstimate is what a command or a stage is expected to hold at its
// peak, part by part: lopper's weights are float32 in memory (4 bytes per
// parameter) whatever the checkpoint's dtype, and each command adds its
// working set. Commands log it before they start and `lopper plan` shows
// it per stage; BENCHMARKS.md compares it with measured peaks.
type MemoryEstimate struct {
	Parts []MemoryPart `json:"parts"`
}

// Add appends a part; parts of 0 bytes are left out.
func (e *MemoryEstimate) Add(what string, bytes int64) {
	if bytes > 0 {
		e.Parts = append(e.Parts, MemoryPart{What: what, Bytes: bytes})
	}
}

// AddWeights appends a part that holds model weights (see Weights).
func (e *MemoryEstimate) AddWeights(what string, bytes int64) {
	if bytes > 0 {
		e.Parts = append(e.Parts, MemoryPart{What: what, Bytes: bytes, Weights: true})
	}
}

// Weights is the sum of the parts added with AddWeights: the weights,
// without the working set.
func (e MemoryEstimate) Weights() int64 {
	var n int64
	for _, p := range e.Parts {
		if p.Weights {
			n += p.Bytes
		}
	}
	return n
}

// Total is the sum of the parts.
func (e MemoryEstimate) Total() int64 {
	var n int64
	for _, p := range e.Parts {
		n += p.Bytes
	}
	return n
}

// String writes the total and its parts for people: "1.7 GiB (weights
// 1.6 GiB, mask 51.3 MiB, …)".
func (e MemoryEstimate) String() string {
	return fmt.Sprintf("%s (%s)", FormatBytes(e.Total()), e.PartsString())
}

// PartsString lists the parts: "weights 1.6 GiB, mask 51.3 MiB".
func (e MemoryEstimate) PartsString() string {
	parts := make([]string, len(e.Parts))
	for i, p := range e.Parts {
		parts[i] = p.What + " " + FormatBytes(p.Bytes)
	}
	return strings.Join(parts, ", ")
}

// RuntimeBytes is what the lopper program itself takes: code, runtime,
// goroutine stacks.
const RuntimeBytes = 20 << 20

// WithRuntime returns e with the program's own memory and the garbage
// collector's headroom: Go lets the heap grow gcPercent % (GOGC) past the
// live data before it collects, and every command makes garbage, so the
// peak is about the live parts times 1 + gcPercent/100.
func (e MemoryEstimate) WithRuntime(gcPercent int) MemoryEstimate {
	out := MemoryEstimate{Parts: append([]MemoryPart(nil), e.Parts...)}
	out.Add(fmt.Sprintf("garbage collector headroom (GOGC=%d)", gcPercent), e.Total()*int64(gcPercent)/100)
	out.Add("program", RuntimeBytes)
	return out
}

// WeightBytes is the memory of c's weights as lopper holds them: float32,
// 4 bytes per parameter.
func WeightBytes(c *Config) (int64, error) {
	n, err := c.NumParams()
	return 4 * int64(n), err
}

// LogitsBytes is the memory of the logits of B sequences of T tokens:
// float32 [B·T, vocab]. A State allocates them with its first full pass.
func LogitsBytes(c *Config, B, T int) int64 {
	return 4 * int64(B) * int64(T) * int64(c.Vocab)
}

// ForwardBytes is the memory one inference State of B sequences of T
// tokens uses: its buffers (StateBytes), without the logits when only
// blocks run (calibration), and the matrix products' scratch.
func ForwardBytes(c *Config, B, T int, logits bool) int64 {
	n := StateBytes(c, B, T, false)
	widest := c.Hidden
	for _, d := range c.Layers {
		widest = max(widest, (d.Heads+2*d.KVHeads)*c.HeadDim, fcWidth(c, d))
	}
	if logits {
		widest = max(widest, c.Vocab)
	} else {
		n -= LogitsBytes(c, B, T)
	}
	return n + tensor.MatMulScratchBytes(B*T, widest, c.Hidden)
}

// DecodePieceBytes is how many bytes of a mapped checkpoint are resident
// while a tensor is decoded (Load, Pin): one piece, given back once
// converted. A lazy model's peak meets one, as it decodes while it works.
func DecodePieceBytes() int64 { return int64(loadChunk) }

// StreamedWeightBytes is the float32 memory of the weights that a lazy
// model (Open) holds while passes forward passes run at once: the tensors
// outside the blocks (embeddings, final norm, head), pinned by every
// Forward and shared, and the largest block once per pass.
func StreamedWeightBytes(c *Config, passes int) (outer, blocks int64, err error) {
	l, err := NewLayout(c)
	if err != nil {
		return 0, 0, err
	}
	var largest int64
	for _, t := range l.Tensors {
		if t.Layer < 0 {
			outer += 4 * int64(t.Size)
		}
	}
	for i := range c.Layers {
		var b int64
		for _, t := range l.BlockTensors(i) {
			b += 4 * int64(t.Size)
		}
		largest = max(largest, b)
	}
	return outer, int64(max(passes, 1)) * largest, nil
}
