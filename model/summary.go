package model

// Summary describes a model for people and tools (lopper inspect --json).
// The JSON field names are a stable interface, documented in the README.
type Summary struct {
	Architecture   Arch   `json:"architecture"` // runtime family: llama or gpt2
	ModelType      string `json:"model_type"`   // config.json model_type
	Hidden         int    `json:"hidden_size"`
	Vocab          int    `json:"vocab_size"`
	MaxPositions   int    `json:"max_position_embeddings"`
	HeadDim        int    `json:"head_dim"`
	NumLayers      int    `json:"num_layers"`
	Activation     string `json:"activation"`
	TiedEmbeddings bool   `json:"tie_word_embeddings"`
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
}

// Summarize describes m.
func (m *Model) Summarize() Summary {
	c := &m.Config
	s := Summary{
		Architecture: c.Arch, ModelType: c.modelType(), Hidden: c.Hidden, Vocab: c.Vocab,
		MaxPositions: c.MaxPos, HeadDim: c.HeadDim, NumLayers: len(c.Layers),
		Activation: string(c.Act), TiedEmbeddings: c.TiedEmbeddings, HFCompatible: true,
	}
	if err := c.HFCompatible(); err != nil {
		s.HFCompatible, s.HFReason = false, err.Error()
	}
	layerZeros := make([]int, len(c.Layers))
	layerPrunable := make([]int, len(c.Layers))
	prunableNZ := 0
	for i, t := range m.Layout.Tensors {
		nz := m.NonZero(t)
		ts := TensorSummary{
			Name: t.Name, Role: t.Role, Layer: t.Layer, Shape: t.Shape, DType: t.DType,
			Parameters: t.Size, NonZero: nz, Sparsity: fraction(t.Size-nz, t.Size), Prunable: Prunable(t),
			NonFinite: m.NonFinite(t),
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
		if ts.Prunable {
			s.PrunableParameters += t.Size
			prunableNZ += nz
			layerPrunable[t.Layer] += t.Size
			layerZeros[t.Layer] += t.Size - nz
		}
	}
	s.Sparsity = fraction(s.Parameters-s.NonZero, s.Parameters)
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
