package pruning

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"lopper/model"
)

// Calibration is a set of token windows that Wanda, SparseGPT, Taylor and
// OWL compute their statistics on: Samples() windows of SeqLen tokens,
// row-major in Tokens. Every position of every window is used.
type Calibration struct {
	Tokens []int32
	SeqLen int
	// Batch is the number of windows per forward pass (memory is one
	// batch of one block's activations); 0 means 8.
	Batch int
	// An encoder classifier's calibration (ExampleCalibration) holds
	// examples of a labelled task, one a window, right-padded to SeqLen:
	// Mask is 1 for their tokens and 0 for the padding, which no statistic
	// counts; TypeIDs are their token types. Nil for a language model.
	Mask, TypeIDs []int32
	// Labels are the examples' targets, which Taylor scores of a
	// classifier differentiate its loss on (see calib_encoder.go).
	Labels model.ClassifierTargets
}

// Samples is the number of windows.
func (c *Calibration) Samples() int {
	if c == nil || c.SeqLen <= 0 {
		return 0
	}
	return len(c.Tokens) / c.SeqLen
}

func (c *Calibration) batch() int {
	if c.Batch > 0 {
		return min(c.Batch, c.Samples())
	}
	return min(8, c.Samples())
}

// window returns windows [i, j) as one row-major token slice.
func (c *Calibration) window(i, j int) []int32 { return c.Tokens[i*c.SeqLen : j*c.SeqLen] }

// validate checks the calibration set against a model with vocab tokens
// and maxPos positions.
func (c *Calibration) validate(vocab, maxPos int) error {
	if c == nil {
		return errors.New("this method needs calibration data (token windows)")
	}
	if c.SeqLen <= 0 || len(c.Tokens) == 0 || len(c.Tokens)%c.SeqLen != 0 {
		return fmt.Errorf("calibration: %d tokens is not a whole, positive number of windows of %d", len(c.Tokens), c.SeqLen)
	}
	if c.SeqLen > maxPos {
		return fmt.Errorf("calibration: windows of %d tokens exceed the model's %d positions", c.SeqLen, maxPos)
	}
	if c.Batch < 0 {
		return fmt.Errorf("calibration: batch must not be negative, got %d", c.Batch)
	}
	for i, t := range c.Tokens {
		if t < 0 || int(t) >= vocab {
			return fmt.Errorf("calibration: token %d at position %d is outside the vocabulary of %d", t, i, vocab)
		}
	}
	if c.isExamples() {
		return c.validateExamples()
	}
	return nil
}

// WindowOptions say how to cut calibration windows from a token stream.
type WindowOptions struct {
	Samples, SeqLen int
	// Random takes windows at uniformly random starts drawn with Seed
	// (PCG); otherwise window k is stream[k·SeqLen : (k+1)·SeqLen], the
	// protocol of the shared references' calib.txt.
	Random bool
	Seed   uint64
	// Fit makes Samples a maximum for consecutive windows: a stream too
	// short for them gives as many full windows as it holds (at least one)
	// instead of an error. For callers whose Samples is a default, not the
	// user's number; the result's Samples() says how many were cut.
	// Random windows always fit.
	Fit bool
}

// Calibration defaults shared by `lopper prune` and the recipe stages: the
// Wanda and SparseGPT papers' 128 windows of up to 2048 tokens.
const (
	DefaultCalibSamples = 128
	DefaultCalibSeqLen  = 2048
)

// WithDefaults fills what the user left zero: Samples becomes
// DefaultCalibSamples as a maximum (Fit: a short text gives the windows it
// holds), SeqLen the model's positions capped at DefaultCalibSeqLen.
func (o WindowOptions) WithDefaults(maxPositions int) WindowOptions {
	if o.Samples == 0 {
		o.Samples, o.Fit = DefaultCalibSamples, true
	}
	if o.SeqLen == 0 {
		o.SeqLen = min(maxPositions, DefaultCalibSeqLen)
	}
	return o
}

// Windows cuts o.Samples windows of o.SeqLen tokens from stream.
func Windows(stream []int32, o WindowOptions) (*Calibration, error) {
	if o.Samples <= 0 || o.SeqLen <= 0 {
		return nil, fmt.Errorf("calibration: samples (%d) and sequence length (%d) must be positive", o.Samples, o.SeqLen)
	}
	if !o.Random {
		if o.Fit && len(stream) >= o.SeqLen {
			o.Samples = min(o.Samples, len(stream)/o.SeqLen)
		}
		need := o.Samples * o.SeqLen
		if len(stream) < need {
			return nil, fmt.Errorf("calibration: %d consecutive windows of %d tokens need %d tokens, the text has %d", o.Samples, o.SeqLen, need, len(stream))
		}
		return &Calibration{Tokens: append([]int32(nil), stream[:need]...), SeqLen: o.SeqLen}, nil
	}
	if len(stream) < o.SeqLen {
		return nil, fmt.Errorf("calibration: a window of %d tokens needs at least that many, the text has %d", o.SeqLen, len(stream))
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x6c6f70706572)) // "lopper"
	span := uint64(len(stream) - o.SeqLen + 1)
	c := &Calibration{Tokens: make([]int32, 0, o.Samples*o.SeqLen), SeqLen: o.SeqLen}
	for range o.Samples {
		s := int(rng.Uint64N(span))
		c.Tokens = append(c.Tokens, stream[s:s+o.SeqLen]...)
	}
	return c, nil
}
