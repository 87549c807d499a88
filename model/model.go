// Package model is lopper's transformer runtime: Hugging Face model
// directories in and out (config.json, safetensors, tokenizer.json), a flat
// parameter layout shared by weights, gradients, masks and optimizer state,
// and exact float32 forward and backward passes for Llama-family and GPT-2
// decoders and for BERT-family encoder classifiers. See docs/DESIGN.md for
// the contract.
package model

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Model is a loaded or constructed model. W holds every parameter over
// Layout (for a lazy model, Open, only the tensors pinned: see Pin);
// Mask, when non-nil, holds one bit per parameter (clear pruned, set kept).
// The model package never parses the tokenizer: TokenizerJSON
// carries the raw tokenizer.json bytes for callers to parse and for Save to
// copy.
type Model struct {
	Config        Config
	Layout        *Layout
	W             []float32
	Mask          *Mask
	TokenizerJSON []byte
	// Meta is the caller's metadata from lopper.json ("metadata"), written
	// back by Save unless SaveOptions.Metadata replaces it.
	Meta json.RawMessage
	// Source is the directory Load read the model from ("" for a model
	// made in memory); Clone and pruning keep it. It is for messages
	// only, e.g. to say where a missing tokenizer.json was looked for.
	Source string

	lazy *residency // a model opened lazily (Open), else nil
}

// New returns a model for cfg with all parameters zero and dtype F32.
// Structured surgery uses it to build a smaller model and copy slices in.
func New(cfg Config) (*Model, error) {
	cfg = cfg.Clone()
	l, err := NewLayout(&cfg)
	if err != nil {
		return nil, err
	}
	return &Model{Config: cfg, Layout: l, W: make([]float32, l.Total)}, nil
}

// Clone returns a deep copy (the immutable Layout is shared). The copy of
// a lazy model (Open) is resident: its pinned tensors are copied as W
// holds them, the others decoded from the checkpoint; Clone panics if that
// read fails (only possible where the files are not memory-mapped).
func (m *Model) Clone() *Model {
	w := m.W
	if m.lazy != nil {
		var err error
		if w, err = m.lazy.cloneWeights(m); err != nil {
			panic(fmt.Errorf("model: Clone of a lazy model: %w", err))
		}
	} else {
		w = slices.Clone(w)
	}
	return &Model{
		Config:        m.Config.Clone(),
		Layout:        m.Layout,
		W:             w,
		Mask:          m.Mask.Clone(),
		TokenizerJSON: slices.Clone(m.TokenizerJSON),
		Meta:          slices.Clone(m.Meta),
		Source:        m.Source,
	}
}

// Param returns the parameters of the tensor called name (a slice of W), or
// nil if there is none.
func (m *Model) Param(name string) []float32 {
	t, ok := m.Layout.Lookup(name)
	if !ok {
		return nil
	}
	return t.Of(m.W)
}

// NumParams is the number of parameters (tied embeddings counted once).
func (m *Model) NumParams() int { return m.Layout.Total }

// checkShapes verifies that W and Mask match the layout.
func (m *Model) checkShapes() error {
	if len(m.W) != m.Layout.Total {
		return fmt.Errorf("model has %d parameters but its layout needs %d", len(m.W), m.Layout.Total)
	}
	if m.Mask != nil && m.Mask.Len() != m.Layout.Total {
		return fmt.Errorf("mask has %d entries but the layout has %d parameters", m.Mask.Len(), m.Layout.Total)
	}
	return nil
}
