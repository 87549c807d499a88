package train

import (
	"fmt"
	"math/rand/v2"
)

// Source fills training batches. Batch writes len(inputs)/seqLen sequences
// of seqLen input tokens and their targets (row-major; a target < 0 is not
// scored), drawing any randomness from rng only, so that a seeded rng gives
// the same batches every time.
type Source interface {
	Batch(rng *rand.Rand, inputs, targets []int32, seqLen int) error
}

// Stream samples windows from one token stream: each sequence starts at a
// uniformly random offset s, with inputs tokens[s : s+seqLen] and targets
// tokens[s+1 : s+seqLen+1] (next-token prediction, every position scored).
type Stream struct {
	Tokens []int32
}

// Batch implements Source.
func (s Stream) Batch(rng *rand.Rand, inputs, targets []int32, seqLen int) error {
	span := len(s.Tokens) - seqLen
	if seqLen <= 0 || span < 1 {
		return fmt.Errorf("training text has %d tokens; a sequence of %d needs at least %d", len(s.Tokens), seqLen, seqLen+1)
	}
	for off := 0; off+seqLen <= len(inputs); off += seqLen {
		start := int(rng.Uint64N(uint64(span)))
		copy(inputs[off:off+seqLen], s.Tokens[start:start+seqLen])
		copy(targets[off:off+seqLen], s.Tokens[start+1:start+seqLen+1])
	}
	return nil
}

// Batches replays fixed batches in order, cycling: the i-th call returns
// batch i mod len. It ignores the rng. Tests and reference comparisons use
// it to feed exactly the batches another implementation saw.
type Batches struct {
	Inputs, Targets [][]int32
	next            int
}

// Batch implements Source.
func (b *Batches) Batch(_ *rand.Rand, inputs, targets []int32, _ int) error {
	if len(b.Inputs) == 0 || len(b.Inputs) != len(b.Targets) {
		return fmt.Errorf("fixed batches: %d input and %d target batches", len(b.Inputs), len(b.Targets))
	}
	i := b.next % len(b.Inputs)
	b.next++
	if len(b.Inputs[i]) != len(inputs) || len(b.Targets[i]) != len(targets) {
		return fmt.Errorf("fixed batch %d has %d inputs and %d targets, want %d", i, len(b.Inputs[i]), len(b.Targets[i]), len(inputs))
	}
	copy(inputs, b.Inputs[i])
	copy(targets, b.Targets[i])
	return nil
}

// newRNG is the batch generator for a seed. The second PCG word is a fixed
// stream id so that seeds mean the same thing everywhere in lopper's
// training.
func newRNG(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x747261696e)) // "train"
}
