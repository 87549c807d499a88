package model

import "strings"

// Role is what a tensor does in the network, independent of its name.
type Role string

// Roles. GPT-2's c_attn is RoleQKV (q, k and v rows stacked), c_fc is
// RoleUp and mlp.c_proj is RoleDown.
const (
	RoleEmbed         Role = "embed"
	RolePosEmbed      Role = "pos_embed"
	RoleAttnNorm      Role = "attn_norm"
	RoleAttnNormBias  Role = "attn_norm_bias"
	RoleQ             Role = "q"
	RoleK             Role = "k"
	RoleV             Role = "v"
	RoleQKV           Role = "qkv"
	RoleQBias         Role = "q_bias"
	RoleKBias         Role = "k_bias"
	RoleVBias         Role = "v_bias"
	RoleQKVBias       Role = "qkv_bias"
	RoleQNorm         Role = "q_norm" // Qwen3: per-head RMSNorm weight [head_dim], shared by the heads
	RoleKNorm         Role = "k_norm"
	RoleO             Role = "o"
	RoleOBias         Role = "o_bias"
	RoleMLPNorm       Role = "mlp_norm"
	RoleMLPNormBias   Role = "mlp_norm_bias"
	RoleGate          Role = "gate"
	RoleUp            Role = "up"
	RoleDown          Role = "down"
	RoleGateBias      Role = "gate_bias"
	RoleUpBias        Role = "up_bias"
	RoleDownBias      Role = "down_bias"
	RoleFinalNorm     Role = "final_norm"
	RoleFinalNormBias Role = "final_norm_bias"
	RoleHead          Role = "head"
)

// IsLinear reports whether r is the weight of a linear layer inside a
// transformer block ([out, in]): the weights that pruning acts on.
func (r Role) IsLinear() bool {
	switch r {
	case RoleQ, RoleK, RoleV, RoleQKV, RoleO, RoleGate, RoleUp, RoleDown:
		return true
	}
	return false
}

// tensorSpec is one row of an architecture's naming table. The canonical
// shape is [out, in] for linear weights; transposed tensors are stored
// [in, out] on disk (GPT-2 Conv1D).
type tensorSpec struct {
	role       Role
	name       string // Hugging Face name; {L} is the layer index
	shape      func(c *Config, d LayerDims) []int
	when       func(c *Config) bool // nil: always present
	transposed bool
}

func vec(f func(c *Config, d LayerDims) int) func(*Config, LayerDims) []int {
	return func(c *Config, d LayerDims) []int { return []int{f(c, d)} }
}

func mat(out, in func(c *Config, d LayerDims) int) func(*Config, LayerDims) []int {
	return func(c *Config, d LayerDims) []int { return []int{out(c, d), in(c, d)} }
}

func hidden(c *Config, _ LayerDims) int  { return c.Hidden }
func vocab(c *Config, _ LayerDims) int   { return c.Vocab }
func maxPos(c *Config, _ LayerDims) int  { return c.MaxPos }
func qDim(c *Config, d LayerDims) int    { return d.Heads * c.HeadDim }
func kvDim(c *Config, d LayerDims) int   { return d.KVHeads * c.HeadDim }
func qkvDim(c *Config, d LayerDims) int  { return (d.Heads + 2*d.KVHeads) * c.HeadDim }
func inter(c *Config, d LayerDims) int   { return d.Intermediate }
func headDim(c *Config, _ LayerDims) int { return c.HeadDim }

func untied(c *Config) bool  { return !c.TiedEmbeddings }
func qkvBias(c *Config) bool { return c.QKVBias }
func oBias(c *Config) bool   { return c.OBias }
func mlpBias(c *Config) bool { return c.MLPBias }
func qkNorm(c *Config) bool  { return c.QKNorm }

// The naming tables. Rows are in layout order: q, k and v weights (and gate
// and up) are adjacent so the forward pass can run them as one matrix
// product over the contiguous rows.
var (
	llamaPre   = []tensorSpec{{RoleEmbed, "model.embed_tokens.weight", mat(vocab, hidden), nil, false}}
	llamaBlock = []tensorSpec{
		{RoleAttnNorm, "model.layers.{L}.input_layernorm.weight", vec(hidden), nil, false},
		{RoleQ, "model.layers.{L}.self_attn.q_proj.weight", mat(qDim, hidden), nil, false},
		{RoleK, "model.layers.{L}.self_attn.k_proj.weight", mat(kvDim, hidden), nil, false},
		{RoleV, "model.layers.{L}.self_attn.v_proj.weight", mat(kvDim, hidden), nil, false},
		{RoleQBias, "model.layers.{L}.self_attn.q_proj.bias", vec(qDim), qkvBias, false},
		{RoleKBias, "model.layers.{L}.self_attn.k_proj.bias", vec(kvDim), qkvBias, false},
		{RoleVBias, "model.layers.{L}.self_attn.v_proj.bias", vec(kvDim), qkvBias, false},
		{RoleQNorm, "model.layers.{L}.self_attn.q_norm.weight", vec(headDim), qkNorm, false},
		{RoleKNorm, "model.layers.{L}.self_attn.k_norm.weight", vec(headDim), qkNorm, false},
		{RoleO, "model.layers.{L}.self_attn.o_proj.weight", mat(hidden, qDim), nil, false},
		{RoleOBias, "model.layers.{L}.self_attn.o_proj.bias", vec(hidden), oBias, false},
		{RoleMLPNorm, "model.layers.{L}.post_attention_layernorm.weight", vec(hidden), nil, false},
		{RoleGate, "model.layers.{L}.mlp.gate_proj.weight", mat(inter, hidden), nil, false},
		{RoleUp, "model.layers.{L}.mlp.up_proj.weight", mat(inter, hidden), nil, false},
		{RoleGateBias, "model.layers.{L}.mlp.gate_proj.bias", vec(inter), mlpBias, false},
		{RoleUpBias, "model.layers.{L}.mlp.up_proj.bias", vec(inter), mlpBias, false},
		{RoleDown, "model.layers.{L}.mlp.down_proj.weight", mat(hidden, inter), nil, false},
		{RoleDownBias, "model.layers.{L}.mlp.down_proj.bias", vec(hidden), mlpBias, false},
	}
	llamaPost = []tensorSpec{
		{RoleFinalNorm, "model.norm.weight", vec(hidden), nil, false},
		{RoleHead, "lm_head.weight", mat(vocab, hidden), untied, false},
	}

	gpt2Pre = []tensorSpec{
		{RoleEmbed, "transformer.wte.weight", mat(vocab, hidden), nil, false},
		{RolePosEmbed, "transformer.wpe.weight", mat(maxPos, hidden), nil, false},
	}
	gpt2Block = []tensorSpec{
		{RoleAttnNorm, "transformer.h.{L}.ln_1.weight", vec(hidden), nil, false},
		{RoleAttnNormBias, "transformer.h.{L}.ln_1.bias", vec(hidden), nil, false},
		{RoleQKV, "transformer.h.{L}.attn.c_attn.weight", mat(qkvDim, hidden), nil, true},
		{RoleQKVBias, "transformer.h.{L}.attn.c_attn.bias", vec(qkvDim), nil, false},
		{RoleO, "transformer.h.{L}.attn.c_proj.weight", mat(hidden, qDim), nil, true},
		{RoleOBias, "transformer.h.{L}.attn.c_proj.bias", vec(hidden), nil, false},
		{RoleMLPNorm, "transformer.h.{L}.ln_2.weight", vec(hidden), nil, false},
		{RoleMLPNormBias, "transformer.h.{L}.ln_2.bias", vec(hidden), nil, false},
		{RoleUp, "transformer.h.{L}.mlp.c_fc.weight", mat(inter, hidden), nil, true},
		{RoleUpBias, "transformer.h.{L}.mlp.c_fc.bias", vec(inter), nil, false},
		{RoleDown, "transformer.h.{L}.mlp.c_proj.weight", mat(hidden, inter), nil, true},
		{RoleDownBias, "transformer.h.{L}.mlp.c_proj.bias", vec(hidden), nil, false},
	}
	gpt2Post = []tensorSpec{
		{RoleFinalNorm, "transformer.ln_f.weight", vec(hidden), nil, false},
		{RoleFinalNormBias, "transformer.ln_f.bias", vec(hidden), nil, false},
		{RoleHead, "lm_head.weight", mat(vocab, hidden), untied, false},
	}
)

// namingTables returns the tables for arch.
func namingTables(a Arch) (pre, block, post []tensorSpec) {
	if a == GPT2 {
		return gpt2Pre, gpt2Block, gpt2Post
	}
	return llamaPre, llamaBlock, llamaPost
}

// ignoredBuffer reports whether a tensor in a checkpoint is a known
// non-parameter buffer that loading skips: GPT-2's causal-mask buffers and
// rotary inverse frequencies; the encoders' (encoderIgnored).
func ignoredBuffer(name string) bool {
	return strings.HasSuffix(name, ".attn.bias") || strings.HasSuffix(name, ".attn.masked_bias") ||
		strings.HasSuffix(name, ".rotary_emb.inv_freq") || encoderIgnored(name)
}

// checkpointAlias maps a name as some checkpoints spell it to the canonical
// name: GPT-2 checkpoints saved from the bare GPT2Model lack the
// "transformer." prefix; encoders' TF-era LayerNorm.gamma/beta (encoderAlias).
func checkpointAlias(a Arch, name string) string {
	if a == BERT {
		return encoderAlias(name)
	}
	if a == GPT2 && !strings.HasPrefix(name, "transformer.") && name != "lm_head.weight" {
		return "transformer." + name
	}
	return name
}
