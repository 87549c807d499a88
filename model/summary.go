package model

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// Summary describes a model for people and tools (lopper inspect --json).
// The JSON field names are a stable interface, documented in the README.
type Summary struct {
	Architecture Arch   `json:"architecture"` // runtime family: llama, gpt2 or bert
	ModelType    string `json:"model_type"`   // config.json model_type
	Hidden       int    `json:"hidden_size"`
	Vocab        int    `json:"vocab_size"`
	MaxPositions int    `json:"max_position_embeddings"`
	HeadDim      int    `json:"head_dim"`
	// RoPE is the rotary embedding's scaling ("default", "llama3 (factor
	// 32)", …) and RotaryDim the dims of each head it rotates (Llama
	// family; empty and 0 for GPT-2).
	RoPE           string `json:"rope,omitempty"`
	RotaryDim      int    `json:"rotary_dim,omitempty"`
	NumLayers      int    `json:"num_layers"`
	Activation     string `json:"activation"`
	TiedEmbeddings bool   `json:"tie_word_embeddings"`
	// ConfigOnly: the directory has config.json but no weights; the
	// summary comes from the config alone (parameter counts are exact,
	// NonZero and the sparsities are 0, DType is config.json's torch_dtype).
	ConfigOnly bool `json:"config_only,omitempty"`
	// DType is the on-disk dtype of every tensor, or "mixed".
	DType string `json:"dtype"`
	// Parameters counts every parameter once (tied embeddings once);
	// NonZero those that are not exactly zero; Sparsity = 1 − NonZero/Parameters.
	Parameters int     `json:"parameters"`
	NonZero    int     `json:"nonzero"`
	Sparsity   float64 `json:"sparsity"`
	// NonFinite counts the weights that are NaN or ±Inf (a model that
	// Load with CheckFinite, lopper eval and the load stage refuse);
	// TensorSummary.NonFinite says where.
	NonFinite int `json:"nonfinite"`
	// The same over the linear weights inside the blocks (what pruning
	// acts on).
	PrunableParameters int     `json:"prunable_parameters"`
	PrunableSparsity   float64 `json:"prunable_sparsity"`
	// EmbeddingParameters counts the embedding tables (tokens, and
	// positions and token types where the model has them), EmbeddingShare
	// their fraction of Parameters: most of a small encoder's weights.
	EmbeddingParameters int     `json:"embedding_parameters"`
	EmbeddingShare      float64 `json:"embedding_share"`
	// Labels (id2label in id order) and ProblemType are an encoder
	// classifier's (empty for decoders).
	Labels      []string `json:"labels,omitempty"`
	ProblemType string   `json:"problem_type,omitempty"`
	// HFCompatible is false when Hugging Face cannot load the model from
	// config.json's standard fields (see Config.HFCompatible).
	HFCompatible bool            `json:"hf_compatible"`
	HFReason     string          `json:"hf_incompatible_reason,omitempty"`
	Layers       []LayerSummary  `json:"layers"`
	Tensors      []TensorSummary `json:"tensors"`
}

// LayerSummary is one block's dims and size.
type LayerSummary struct {
	Layer        int `json:"layer"`
	Heads        int `json:"heads"`
	KVHeads      int `json:"kv_heads"`
	Intermediate int `json:"intermediate"`
	Parameters   int `json:"parameters"`
	// PrunableSparsity is the fraction of zeros in the block's linear weights.
	PrunableSparsity float64 `json:"prunable_sparsity"`
}

// TensorSummary is one tensor's shape, dtype and sparsity.
type TensorSummary struct {
	Name       string  `json:"name"`
	Role       Role    `json:"role"`
	Layer      int     `json:"layer"` // -1 outside the blocks
	Shape      []int   `json:"shape"` // [out, in] for linear weights
	DType      DType   `json:"dtype"`
	Parameters int     `json:"parameters"`
	NonZero    int     `json:"nonzero"`
	Sparsity   float64 `json:"sparsity"`
	Prunable   bool    `json:"prunable"`
	NonFinite  int     `json:"nonfinite"` // NaN or ±Inf weights
	// Stored and StoredRow: the checkpoint tensor holding this one and its
	// first row there, when the checkpoint fuses several (Phi-3).
	Stored    string `json:"stored,omitempty"`
	StoredRow int    `json:"stored_row,omitempty"`
}

// Summarize describes m.
func (m *Model) Summarize() Summary { return m.summarize(m.NonZero) }

// summarize describes m, counting each tensor's non-zero entries with
// nonZero.
func (m *Model) summarize(nonZero func(TensorInfo) int) Summary {
	c := &m.Config
	s := Summary{
		Architecture: c.Arch, ModelType: c.modelType(), Hidden: c.Hidden, Vocab: c.Vocab,
		MaxPositions: c.MaxPos, HeadDim: c.HeadDim, NumLayers: len(c.Layers),
		Activation: string(c.Act), TiedEmbeddings: c.TiedEmbeddings, HFCompatible: true,
	}
	if c.Arch == Llama {
		s.RoPE, s.RotaryDim = c.Rope.String(), c.rotaryDim()
	}
	if c.Arch == BERT {
		s.Labels, s.ProblemType = slices.Clone(c.Labels), string(c.Problem)
	}
	if err := c.HFCompatible(); err != nil {
		s.HFCompatible, s.HFReason = false, err.Error()
	}
	layerZeros := make([]int, len(c.Layers))
	layerPrunable := make([]int, len(c.Layers))
	prunableNZ := 0
	for i, t := range m.Layout.Tensors {
		nz := nonZero(t)
		ts := TensorSummary{
			Name: t.Name, Role: t.Role, Layer: t.Layer, Shape: t.Shape, DType: t.DType,
			Parameters: t.Size, NonZero: nz, Sparsity: fraction(t.Size-nz, t.Size), Prunable: Prunable(t),
			NonFinite: m.NonFinite(t), Stored: t.Stored, StoredRow: t.StoredRow,
		}
		s.NonFinite += ts.NonFinite
		s.Tensors = append(s.Tensors, ts)
		s.Parameters += t.Size
		s.NonZero += nz
		switch {
		case i == 0:
			s.DType = string(t.DType)
		case s.DType != string(t.DType):
			s.DType = "mixed"
		}
		if IsEmbedding(t) {
			s.EmbeddingParameters += t.Size
		}
		if ts.Prunable {
			s.PrunableParameters += t.Size
			prunableNZ += nz
			layerPrunable[t.Layer] += t.Size
			layerZeros[t.Layer] += t.Size - nz
		}
	}
	s.Sparsity = fraction(s.Parameters-s.NonZero, s.Parameters)
	s.EmbeddingShare = fraction(s.EmbeddingParameters, s.Parameters)
	s.PrunableSparsity = fraction(s.PrunableParameters-prunableNZ, s.PrunableParameters)
	for l, d := range c.Layers {
		ls := LayerSummary{Layer: l, Heads: d.Heads, KVHeads: d.KVHeads, Intermediate: d.Intermediate,
			PrunableSparsity: fraction(layerZeros[l], layerPrunable[l])}
		for _, t := range m.Layout.Tensors {
			if t.Layer == l {
				ls.Parameters += t.Size
			}
		}
		s.Layers = append(s.Layers, ls)
	}
	return s
}

func fraction(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// NumParams is the exact number of parameters a model with config c has
// (tied embeddings counted once): what Load reads and New allocates.
func (c *Config) NumParams() (int, error) {
	l, err := NewLayout(c)
	if err != nil {
		return 0, err
	}
	return l.Total, nil
}

// SummarizeConfig describes the model c configures without its weights:
// dims, tensors and exact parameter counts, with ConfigOnly set and every
// tensor's dtype config.json's torch_dtype (or dtype) when it names one.
func SummarizeConfig(c *Config) (Summary, error) {
	l, err := NewLayout(c)
	if err != nil {
		return Summary{}, err
	}
	dt := DType("")
	for _, key := range []string{"torch_dtype", "dtype"} {
		if name, ok := c.rawString(key); ok {
			if d, err := ParseDType(name); err == nil {
				dt = d
				break
			}
		}
	}
	for i := range l.Tensors {
		l.Tensors[i].DType = dt
	}
	m := &Model{Config: *c, Layout: l}
	s := m.summarize(func(TensorInfo) int { return 0 })
	s.ConfigOnly, s.Sparsity, s.PrunableSparsity = true, 0, 0
	for i := range s.Layers {
		s.Layers[i].PrunableSparsity = 0
	}
	for i := range s.Tensors {
		s.Tensors[i].Sparsity = 0
	}
	if dt == "" {
		s.DType = "unknown"
	}
	return s, nil
}

// Inspect summarizes the model directory dir: Load and Summarize, or, for
// a directory with config.json and no weight files, SummarizeConfig (so
// that a config can be checked before its weights are downloaded).
func Inspect(dir string) (Summary, error) {
	if !hasWeights(dir) {
		path := filepath.Join(dir, configFile)
		data, err := os.ReadFile(path)
		if err != nil {
			return Summary{}, err
		}
		c, err := ParseConfig(data)
		if err != nil {
			return Summary{}, fmt.Errorf("%s: %w", path, err)
		}
		s, err := SummarizeConfig(&c)
		if err != nil {
			return Summary{}, fmt.Errorf("%s: %w", path, err)
		}
		return s, nil
	}
	m, err := Load(dir, LoadOptions{})
	if err != nil {
		return Summary{}, err
	}
	return m.Summarize(), nil
}

// hasWeights reports whether dir may hold weights: model.safetensors or
// model.safetensors.index.json is there, or cannot be checked (then Load
// reports why).
func hasWeights(dir string) bool {
	for _, name := range []string{weightsFile, indexFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, fs.ErrNotExist) {
			return true
		}
	}
	return false
}

// IsEmbedding reports whether t is an embedding table: the token
// embeddings (tied to the head or not), learned positions or token types.
func IsEmbedding(t TensorInfo) bool {
	return t.Role == RoleEmbed || t.Role == RolePosEmbed || t.Role == RoleTypeEmbed
}
