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
	// SlidingWindow (Mistral; Qwen2/Qwen3 use_sliding_window when some
	// layer slides) limits attention to that many positions; 0 means none.
	// lopper rejects sequences longer than the window rather than computing
	// a different function.
	SlidingWindow int

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
	c.Rope = c.Rope.clone()
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
		if c.Act != SiLU {
			return fmt.Errorf("llama-family models use the silu activation, got %q", c.Act)
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
		if c.QKVBias || c.OBias || c.MLPBias || c.SlidingWindow != 0 || c.QKNorm || c.RotaryDim != 0 || c.Rope.typ() != RoPEDefault {
			return fmt.Errorf("GPT-2 has fixed biases, learned positions and no sliding window; QKVBias, OBias, MLPBias, QKNorm, SlidingWindow, RotaryDim and Rope must be unset")
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
	bad := c.QKNorm != (mt == "qwen3")
	switch mt {
	case "llama":
		bad = bad || c.QKVBias != c.OBias || c.SlidingWindow != 0
	case "qwen2":
		bad = bad || !c.QKVBias || c.OBias || c.MLPBias
	case "qwen3":
		bad = bad || c.QKVBias != c.OBias || c.MLPBias
	case "mistral":
		bad = bad || c.QKVBias || c.OBias || c.MLPBias
	}
	if bad {
		return fmt.Errorf("model type %q cannot express QKVBias=%v OBias=%v MLPBias=%v QKNorm=%v SlidingWindow=%d", mt, c.QKVBias, c.OBias, c.MLPBias, c.QKNorm, c.SlidingWindow)
	}
	return nil
}
