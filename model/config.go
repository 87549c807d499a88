package model

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// Arch is the runtime family a model runs on.
type Arch string

const (
	// Llama covers Llama, Mistral, Qwen2 and Qwen3 style decoders: RMSNorm,
	// RoPE, grouped-query attention, SwiGLU MLP.
	Llama Arch = "llama"
	// GPT2 is GPT-2: learned positions, LayerNorm, fused Conv1D attention
	// projection, GELU MLP, biases everywhere.
	GPT2 Arch = "gpt2"
	// BERT covers the encoder classifiers BertForSequenceClassification,
	// RobertaForSequenceClassification and DistilBertForSequenceClassification:
	// learned (and token type) embeddings, post-LN blocks with biases,
	// bidirectional attention under a padding mask, erf GELU, a tanh pooler
	// (ReLU pre_classifier for DistilBERT) and a classifier head. They are
	// not causal language models (see ErrNotCausalLM).
	BERT Arch = "bert"
)

// Activation is the MLP nonlinearity.
type Activation string

const (
	SiLU     Activation = "silu"      // SwiGLU gate (Llama family)
	GELU     Activation = "gelu"      // exact erf GELU
	GELUTanh Activation = "gelu_tanh" // tanh approximation: gelu_new, gelu_pytorch_tanh
)

// LayerDims are the dimensions of one transformer block that structured
// pruning may change. KVHeads equals Heads for GPT-2.
type LayerDims struct {
	Heads        int `json:"heads"`
	KVHeads      int `json:"kv_heads"`
	Intermediate int `json:"intermediate"`
}

// LayerKind is what sets one block's attention apart beyond its dims.
type LayerKind struct {
	// Sliding: the layer attends within Config.SlidingWindow positions
	// (config.json's layer_types "sliding_attention").
	Sliding bool `json:"sliding,omitempty"`
	// NoRoPE: the layer's attention applies no rotary embedding (SmolLM3's
	// no_rope_layers entry 0).
	NoRoPE bool `json:"no_rope,omitempty"`
}

// Config describes a model: architecture, dimensions (per layer), and the
// numerical settings the forward pass needs. Build one with ParseConfig or
// as a literal (for New); Validate checks it.
type Config struct {
	Arch      Arch
	ModelType string // config.json model_type: llama, mistral, qwen2, qwen3, gpt2, bert, roberta or distilbert
	Hidden    int
	Vocab     int
	MaxPos    int // max_position_embeddings / n_positions
	// HeadDim is each attention head's size: config.json's head_dim (Qwen3
	// default 128), else hidden / heads. It need not divide Hidden.
	HeadDim int
	Layers  []LayerDims
	NormEps float64 // rms_norm_eps / layer_norm_epsilon
	// Rotary embeddings (Llama family): base θ, the frequency scaling, and
	// RotaryDim, the leading dims of each head that RoPE rotates
	// (partial_rotary_factor · HeadDim; 0 means all of HeadDim).
	RopeTheta float64
	Rope      RoPEScaling
	RotaryDim int
	Act       Activation
	// TiedEmbeddings: the head reuses the token embedding; the layout then
	// has no lm_head tensor.
	TiedEmbeddings bool
	// Llama family biases: q/k/v (attention_bias, Qwen2), o_proj
	// (attention_bias), gate/up/down (mlp_bias). GPT-2 always has biases.
	QKVBias, OBias, MLPBias bool
	// QKNorm (Qwen3): q and k are RMS-normalized per head over HeadDim,
	// with one [HeadDim] weight each shared by all heads, before RoPE.
	QKNorm bool
	// SlidingWindow (Mistral, Phi-3, Qwen2/Qwen3 window layers, Gemma 2/3
	// local layers) limits a sliding layer's attention to the query and the
	// SlidingWindow−1 positions before it, exactly as Hugging Face's
	// sliding-window mask does; 0 means no layer slides.
	SlidingWindow int
	// Kinds says how each layer's attention differs from the others' (one
	// entry per layer): which layers slide, which skip RoPE. Nil means
	// every layer alike: all slide when SlidingWindow > 0.
	Kinds []LayerKind

	// The Gemma families (see config_gemma.go). NormOffset: every RMSNorm
	// multiplies by (1 + w), in float32 (the weights are stored
	// zero-centred). EmbedScale: the token embeddings are multiplied by
	// √Hidden rounded to the embedding's dtype (a tied head reads them
	// unscaled). PostNorms (Gemma 2/3): the attention and MLP outputs are
	// normalized (post_attention_layernorm, post_feedforward_layernorm)
	// before the residual adds, and the MLP's input norm is
	// pre_feedforward_layernorm.
	NormOffset, EmbedScale, PostNorms bool
	// QueryScale is query_pre_attn_scalar: attention scores are scaled by
	// QueryScale^-½ instead of HeadDim^-½ (0: HeadDim).
	QueryScale float64
	// AttnSoftcap and FinalSoftcap (Gemma 2's attn_logit_softcapping and
	// final_logit_softcapping) cap attention scores and logits to
	// c·tanh(x/c); 0 means none.
	AttnSoftcap, FinalSoftcap float64
	// RopeLocalTheta and RopeLocal are Gemma 3's sliding layers' RoPE base
	// and scaling (4.x: rope_local_base_freq and none; 5.x:
	// rope_parameters["sliding_attention"]); RopeLocalTheta 0: every layer
	// uses RopeTheta and Rope.
	RopeLocalTheta float64
	RopeLocal      RoPEScaling
	// OLMo 2: NoPreNorms, the blocks normalize only the outputs of
	// attention and MLP (PostNorms), not their inputs; QKNormWide, the q
	// and k norms span the whole projection (weights [heads·head_dim] and
	// [kv heads·head_dim]) rather than one head.
	NoPreNorms, QKNormWide bool

	// Encoder classifiers (BERT). TypeVocab is type_vocab_size (0 for
	// DistilBERT, which has no token types); PadID is pad_token_id (its
	// word embedding row, and RoBERTa's position row, get no gradient;
	// RoBERTa's positions count from it). Labels are id2label in id order
	// (num_labels of them), Label2ID is label2id, Problem the task's loss.
	TypeVocab int
	PadID     int
	Labels    []string
	Label2ID  map[string]int
	Problem   ProblemType

	// tokens are bos_token_id and eos_token_id (BOSToken, EOSToken).
	tokens specialTokens
	// raw holds config.json's fields as read, so that fields lopper does not
	// interpret survive a save.
	raw map[string]json.RawMessage
}

// NumLayers is the number of transformer blocks.
func (c *Config) NumLayers() int { return len(c.Layers) }

// Clone returns a deep copy.
func (c Config) Clone() Config {
	c.Layers = slices.Clone(c.Layers)
	c.Kinds = slices.Clone(c.Kinds)
	c.Rope, c.RopeLocal = c.Rope.clone(), c.RopeLocal.clone()
	c.Labels = slices.Clone(c.Labels)
	c.Label2ID = maps.Clone(c.Label2ID)
	if c.raw != nil {
		raw := make(map[string]json.RawMessage, len(c.raw))
		for k, v := range c.raw {
			raw[k] = v
		}
		c.raw = raw
	}
	return c
}

// noRoPE reports whether layer l skips the rotary embedding.
func (c *Config) noRoPE(l int) bool { return c.Kinds != nil && c.Kinds[l].NoRoPE }

// Sliding reports whether layer l attends within SlidingWindow positions.
func (c *Config) Sliding(l int) bool {
	return c.SlidingWindow > 0 && (c.Kinds == nil || c.Kinds[l].Sliding)
}

// SetLayers makes c's blocks dims, block i being source block src[i] of
// c: the per-layer attention kinds follow their blocks (structured
// pruning that drops layers).
func (c *Config) SetLayers(src []int, dims []LayerDims) {
	if c.Kinds != nil {
		kinds := make([]LayerKind, len(src))
		for i, l := range src {
			kinds[i] = c.Kinds[l]
		}
		c.Kinds = kinds
	}
	c.Layers = dims
	c.normalizeKinds()
}

// normalizeKinds drops the window when no layer slides, the sliding flags
// when there is no window, and Kinds when every layer is alike.
func (c *Config) normalizeKinds() {
	if c.Kinds == nil {
		return
	}
	if !slices.ContainsFunc(c.Kinds, func(k LayerKind) bool { return k.Sliding }) {
		c.SlidingWindow = 0
	}
	if c.SlidingWindow <= 0 { // without a window no layer slides
		kinds := slices.Clone(c.Kinds)
		for i := range kinds {
			kinds[i].Sliding = false
		}
		c.Kinds = kinds
	}
	all := LayerKind{Sliding: c.SlidingWindow > 0}
	for _, k := range c.Kinds {
		if k != all {
			return
		}
	}
	c.Kinds = nil
}

// Uniform reports whether every layer has the same dimensions.
func (c *Config) Uniform() bool {
	for _, d := range c.Layers {
		if d != c.Layers[0] {
			return false
		}
	}
	return true
}

// HFCompatible returns nil when Hugging Face can load the model from the
// standard config fields, or an error saying why not (per-layer dims that
// differ, GPT-2 heads that no longer span n_embd, or partial rotary
// embeddings in a family whose attention rotates whole heads). Save still
// writes such models, recording the dims in config.json's "lopper_dims"
// field.
func (c *Config) HFCompatible() error {
	if c.Arch == BERT {
		return c.encoderHFCompatible()
	}
	if !c.Uniform() {
		return fmt.Errorf("layers have different dimensions (%s); Hugging Face configs have one set of dims for all layers", c.dimsSummary())
	}
	if c.Arch == Llama && c.rotaryDim() != c.HeadDim && !families[c.modelType()].partialRotary {
		return fmt.Errorf("rotary dim %d of head dim %d: transformers' %s attention rotates whole heads (no partial rotary)", c.rotaryDim(), c.HeadDim, c.modelType())
	}
	if c.Arch == GPT2 && c.Layers[0].Heads*c.HeadDim != c.Hidden {
		return fmt.Errorf("GPT-2 with %d heads of %d dims does not span n_embd %d; Hugging Face derives head_dim = n_embd / n_head", c.Layers[0].Heads, c.HeadDim, c.Hidden)
	}
	return nil
}

func (c *Config) dimsSummary() string {
	s := ""
	for i, d := range c.Layers {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("layer %d: %d heads, %d kv heads, intermediate %d", i, d.Heads, d.KVHeads, d.Intermediate)
	}
	return s
}

// Validate checks that c describes a model lopper can run.
func (c *Config) Validate() error {
	if c.Arch != Llama && c.Arch != GPT2 && c.Arch != BERT {
		return fmt.Errorf("unsupported architecture %q (want %q, %q or %q)", c.Arch, Llama, GPT2, BERT)
	}
	pos := []struct {
		name string
		v    int
	}{{"hidden size", c.Hidden}, {"vocab size", c.Vocab}, {"max positions", c.MaxPos}, {"head dim", c.HeadDim}, {"number of layers", len(c.Layers)}}
	for _, p := range pos {
		if p.v <= 0 {
			return fmt.Errorf("%s must be positive, got %d", p.name, p.v)
		}
	}
	if !(c.NormEps > 0) {
		return fmt.Errorf("norm epsilon must be positive, got %g", c.NormEps)
	}
	switch c.Arch {
	case Llama:
		if c.Act != SiLU && c.Act != GELU && c.Act != GELUTanh {
			return fmt.Errorf("llama-family models gate their MLP with silu, gelu or gelu_tanh, got %q", c.Act)
		}
		if c.HeadDim%2 != 0 {
			return fmt.Errorf("rotary embeddings need an even head dim, got %d", c.HeadDim)
		}
		if err := c.validateRoPE(); err != nil {
			return err
		}
	case GPT2:
		if c.Act != GELU && c.Act != GELUTanh {
			return fmt.Errorf("GPT-2 models use gelu or gelu_tanh, got %q", c.Act)
		}
		if c.QKVBias || c.OBias || c.MLPBias || c.SlidingWindow != 0 || c.Kinds != nil || c.QKNorm || c.RotaryDim != 0 || c.Rope.typ() != RoPEDefault ||
			c.NormOffset || c.EmbedScale || c.PostNorms || c.QueryScale != 0 || c.AttnSoftcap != 0 || c.FinalSoftcap != 0 || c.RopeLocalTheta != 0 ||
			c.RopeLocal.typ() != RoPEDefault || c.NoPreNorms || c.QKNormWide {
			return fmt.Errorf("GPT-2 has fixed biases, learned positions and no sliding window; QKVBias, OBias, MLPBias, QKNorm, SlidingWindow, RotaryDim, Rope and the Gemma fields must be unset")
		}
	case BERT:
		if err := c.validateEncoder(); err != nil {
			return err
		}
	}
	if err := c.checkModelType(); err != nil {
		return err
	}
	if c.SlidingWindow < 0 {
		return fmt.Errorf("sliding window must not be negative, got %d", c.SlidingWindow)
	}
	if c.Kinds != nil && len(c.Kinds) != len(c.Layers) {
		return fmt.Errorf("%d layer kinds for %d layers", len(c.Kinds), len(c.Layers))
	}
	for i, d := range c.Layers {
		if d.Heads <= 0 || d.KVHeads <= 0 || d.Intermediate <= 0 {
			return fmt.Errorf("layer %d: heads, kv heads and intermediate size must be positive, got %+v", i, d)
		}
		if d.Heads%d.KVHeads != 0 {
			return fmt.Errorf("layer %d: %d heads is not a multiple of %d kv heads", i, d.Heads, d.KVHeads)
		}
		if c.Arch == GPT2 && d.KVHeads != d.Heads {
			return fmt.Errorf("layer %d: GPT-2 has no grouped-query attention (kv heads %d != heads %d)", i, d.KVHeads, d.Heads)
		}
	}
	return nil
}

// modelType is c.ModelType, or the family's default name when unset.
func (c *Config) modelType() string {
	if c.ModelType != "" {
		return c.ModelType
	}
	return string(c.Arch)
}

// checkModelType checks that the model_type can express c's options.
func (c *Config) checkModelType() error {
	mt := c.modelType()
	fam, ok := families[mt]
	if !ok || fam.arch != c.Arch {
		return fmt.Errorf("model type %q is not a %s model type", mt, c.Arch)
	}
	if c.Arch == Llama {
		if err := c.checkGemma(mt); err != nil {
			return err
		}
	}
	bad := c.QKNorm != (mt == "qwen3" || mt == "gemma3_text" || mt == "olmo2") ||
		c.NoPreNorms != (mt == "olmo2") || c.QKNormWide != (mt == "olmo2") ||
		(mt != "smollm3" && slices.ContainsFunc(c.Kinds, func(k LayerKind) bool { return k.NoRoPE }))
	switch mt {
	case "llama":
		bad = bad || c.QKVBias != c.OBias || c.SlidingWindow != 0
	case "qwen2":
		bad = bad || !c.QKVBias || c.OBias || c.MLPBias
	case "qwen3":
		bad = bad || c.QKVBias != c.OBias || c.MLPBias
	case "mistral", "phi3":
		bad = bad || c.QKVBias || c.OBias || c.MLPBias || c.Kinds != nil
	case "gemma", "gemma2", "gemma3_text", "olmo2":
		bad = bad || c.QKVBias != c.OBias || (mt == "olmo2" && (c.MLPBias || !c.PostNorms || c.SlidingWindow != 0))
	case "smollm3":
		bad = bad || c.QKVBias != c.OBias
	}
	if bad {
		return fmt.Errorf("model type %q cannot express QKVBias=%v OBias=%v MLPBias=%v QKNorm=%v (wide %v) NoPreNorms=%v SlidingWindow=%d Kinds=%v",
			mt, c.QKVBias, c.OBias, c.MLPBias, c.QKNorm, c.QKNormWide, c.NoPreNorms, c.SlidingWindow, c.Kinds)
	}
	return nil
}
