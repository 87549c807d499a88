package stages

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"math"
	"slices"
	"sync"

	"lopper/model"
)

// ArtifactModel is the artifact kind (and name) of a model.
const ArtifactModel = "model"

// ModelArtifact is a model passed between stages. It is not mutated once
// made: stages that change a model clone it and wrap the result in a new
// artifact, except a stage that owns its input (pipeline.StageContext.Take:
// no other stage reads it any more), which may change the input's model in
// place and wraps it in a new artifact (the old one's digest no longer
// describes it, and nothing reads the old one).
type ModelArtifact struct {
	Model *model.Model
	// History is the chain of stages that produced the model, oldest
	// first; save writes it to the manifest.
	History []HistoryStep

	// dir is the checkpoint a lazy model was opened from by the load
	// stage, from which a prune that does not own the artifact opens a
	// copy of its own (openCopy); empty otherwise.
	dir string

	once   sync.Once
	digest string
}

// HistoryStep is one stage that produced or changed a model.
type HistoryStep struct {
	Stage   string         `json:"stage"` // instance path, e.g. "gradual[2]/prune"
	Kind    string         `json:"kind"`
	Summary map[string]any `json:"summary,omitempty"`
}

// NewModelArtifact wraps m, recording step after the history it came from.
func NewModelArtifact(m *model.Model, from []HistoryStep, step HistoryStep) *ModelArtifact {
	h := append(slices.Clip(from), step)
	return &ModelArtifact{Model: m, History: h}
}

// Kind implements pipeline.Artifact.
func (a *ModelArtifact) Kind() string { return ArtifactModel }

// Digest implements pipeline.Artifact: "sha256:…" over the model's config
// (as config.json would hold it, torch_dtype normalised), the tensors'
// storage dtypes, the tokenizer, the weights and the mask. It is computed
// once, on first use.
func (a *ModelArtifact) Digest() string {
	a.once.Do(func() { a.digest = modelDigest(a.Model) })
	return a.digest
}

// modelDigest hashes everything that determines what a model computes and
// how it saves. The history is provenance, not content, and is left out.
func modelDigest(m *model.Model) string {
	h := sha256.New()
	fmt.Fprintf(h, "lopper model v1\n")
	cfg, err := m.Config.MarshalHF("float32")
	if err != nil {
		// An invalid config cannot have been loaded or built; hash what
		// the error says so that the digest still differs from valid ones.
		cfg = []byte("invalid config: " + err.Error())
	}
	writeBlob(h, "config", cfg)
	for _, t := range m.Layout.Tensors {
		fmt.Fprintf(h, "tensor %s %v %s %t\n", t.Name, t.Shape, t.DType, t.Transposed)
	}
	writeBlob(h, "tokenizer", m.TokenizerJSON)
	if m.Lazy() {
		if err := writeLazyFloats(h, m); err != nil {
			// Weights that cannot be read: hash what the error says, so
			// that the digest differs from valid ones.
			writeBlob(h, "unreadable weights", []byte(err.Error()))
		}
	} else {
		writeFloats(h, m.W)
	}
	if m.Mask == nil {
		fmt.Fprintf(h, "mask none\n")
	} else {
		// One byte per parameter, as masks were held before they were
		// bitsets, so that digests (and cache keys) did not change.
		fmt.Fprintf(h, "mask %d\n", m.Mask.Len())
		m.Mask.EachBytes(func(b []byte) { h.Write(b) })
	}
	return fmt.Sprintf("sha256:%x", h.Sum(nil))
}

// writeBlob writes a length-prefixed, labelled byte string.
func writeBlob(h hash.Hash, label string, b []byte) {
	fmt.Fprintf(h, "%s %d\n", label, len(b))
	h.Write(b)
}

// writeFloats writes the float32 values' little-endian bits, length first.
func writeFloats(h hash.Hash, w []float32) {
	fmt.Fprintf(h, "weights %d\n", len(w))
	h.Write(appendFloats(h, make([]byte, 0, 1<<16), w))
}

// appendFloats appends w's little-endian bits to buf, writing buf to h
// whenever it is full, and returns what is left to write.
func appendFloats(h hash.Hash, buf []byte, w []float32) []byte {
	for _, v := range w {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		if len(buf) == cap(buf) {
			h.Write(buf)
			buf = buf[:0]
		}
	}
	return buf
}
