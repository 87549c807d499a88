package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
)

// family is what a model_type maps to: the runtime arch, the accepted
// architectures entries, and the Hugging Face defaults for absent fields.
type family struct {
	arch          Arch
	architectures string
	maxPos        int
	normEps       float64
	tied          bool
	// headDim and kvHeads are the defaults of an absent head_dim and
	// num_key_value_heads (0: hidden / heads and heads); null means those.
	headDim, kvHeads int
	// partialRotary: the family's attention honours partial_rotary_factor.
	partialRotary bool
}

var families = map[string]family{
	"llama":   {arch: Llama, architectures: "LlamaForCausalLM", maxPos: 2048, normEps: 1e-6},
	"mistral": {arch: Llama, architectures: "MistralForCausalLM", maxPos: 4096 * 32, normEps: 1e-6},
	"qwen2":   {arch: Llama, architectures: "Qwen2ForCausalLM", maxPos: 32768, normEps: 1e-6},
	// Qwen3Config: head_dim 128 and num_key_value_heads 32 when absent.
	"qwen3": {arch: Llama, architectures: "Qwen3ForCausalLM", maxPos: 32768, normEps: 1e-6, headDim: 128, kvHeads: 32},
	"gpt2":  {arch: GPT2, architectures: "GPT2LMHeadModel", maxPos: 1024, normEps: 1e-5, tied: true},
	// Encoder classifiers (config_encoder.go): BertConfig and RobertaConfig
	// defaults; DistilBERT's LayerNorm eps is not a config field.
	"bert":       {arch: BERT, architectures: "BertForSequenceClassification", maxPos: 512, normEps: 1e-12},
	"roberta":    {arch: BERT, architectures: "RobertaForSequenceClassification", maxPos: 512, normEps: 1e-12},
	"distilbert": {arch: BERT, architectures: "DistilBertForSequenceClassification", maxPos: 512, normEps: 1e-12},
}

// lopperDimsKey is lopper's own config.json field for dimensions Hugging
// Face configs cannot express (see HFCompatible):
//
//	"lopper_dims": {"head_dim": 16, "layers": [{"heads": 4, "kv_heads": 2, "intermediate": 192}, ...]}
//
// When present it overrides the standard dimension fields.
const lopperDimsKey = "lopper_dims"

type lopperDims struct {
	HeadDim int `json:"head_dim"`
	// RotaryDim is Config.RotaryDim of a model whose family cannot express
	// it (0: all of head_dim).
	RotaryDim int         `json:"rotary_dim,omitempty"`
	Layers    []LayerDims `json:"layers"`
}

// ParseConfig parses a Hugging Face config.json. Errors name the offending
// field and value.
func ParseConfig(data []byte) (Config, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return Config{}, fmt.Errorf("not a JSON object: %v", err)
	}
	p := &fieldParser{raw: raw}
	mt := p.str("model_type", "", true)
	if p.err != nil {
		return Config{}, p.err
	}
	fam, ok := families[mt]
	if !ok {
		return Config{}, fmt.Errorf("field \"model_type\" = %q: unsupported (want llama, mistral, qwen2, qwen3, gpt2, bert, roberta or distilbert)", mt)
	}
	p.checkArchitectures(fam.architectures)
	c := Config{Arch: fam.arch, ModelType: mt, raw: raw}
	switch fam.arch {
	case GPT2:
		parseGPT2(p, &c, fam)
	case BERT:
		parseEncoder(p, &c, fam)
	default:
		parseLlama(p, &c, fam)
	}
	if p.err == nil && p.present(lopperDimsKey) {
		var ld lopperDims
		if err := json.Unmarshal(raw[lopperDimsKey], &ld); err != nil {
			return Config{}, fmt.Errorf("field %q: %v", lopperDimsKey, err)
		}
		if len(ld.Layers) != len(c.Layers) {
			return Config{}, fmt.Errorf("field %q lists %d layers but the config has %d", lopperDimsKey, len(ld.Layers), len(c.Layers))
		}
		if ld.RotaryDim != 0 || ld.HeadDim != c.HeadDim {
			c.RotaryDim = ld.RotaryDim
		}
		c.HeadDim, c.Layers = ld.HeadDim, ld.Layers
	}
	parseSpecialTokens(p, &c)
	if p.err != nil {
		return Config{}, p.err
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func parseLlama(p *fieldParser, c *Config, fam family) {
	c.Hidden = p.integer("hidden_size", 0, true)
	inter := p.integer("intermediate_size", 0, true)
	n := p.integer("num_hidden_layers", 0, true)
	heads := p.integer("num_attention_heads", 0, true)
	kv := heads
	if _, ok := p.raw["num_key_value_heads"]; !ok && fam.kvHeads > 0 {
		kv = fam.kvHeads
	}
	kv = p.integer("num_key_value_heads", kv, false)
	c.Vocab = p.integer("vocab_size", 0, true)
	c.MaxPos = p.integer("max_position_embeddings", fam.maxPos, false)
	c.NormEps = p.number("rms_norm_eps", fam.normEps)
	c.TiedEmbeddings = p.boolean("tie_word_embeddings", fam.tied)
	if heads > 0 {
		hd := c.Hidden / heads
		if _, ok := p.raw["head_dim"]; !ok && fam.headDim > 0 {
			hd = fam.headDim
		}
		c.HeadDim = p.integer("head_dim", hd, false)
	}
	if act := p.str("hidden_act", "silu", false); act != "silu" && act != "swish" && p.err == nil {
		p.fail("hidden_act", act, "unsupported activation (want silu)")
	}
	c.Act = SiLU
	parseRoPE(p, c)
	if c.RotaryDim != 0 && !fam.partialRotary && p.err == nil {
		p.fail("partial_rotary_factor", float64(c.RotaryDim)/float64(c.HeadDim),
			fmt.Sprintf("transformers' %s attention rotates whole heads; partial rotary embeddings are not supported for this model_type", c.ModelType))
	}
	switch c.ModelType {
	case "llama":
		c.QKVBias = p.boolean("attention_bias", false)
		c.OBias = c.QKVBias
		c.MLPBias = p.boolean("mlp_bias", false)
	case "qwen2":
		c.QKVBias = true
		c.SlidingWindow = qwenSlidingWindow(p, n)
	case "qwen3":
		c.QKVBias = p.boolean("attention_bias", false)
		c.OBias = c.QKVBias
		c.QKNorm = true
		c.SlidingWindow = qwenSlidingWindow(p, n)
	case "mistral":
		// Absent means Hugging Face's default window of 4096; null means
		// none. MistralAttention slides on every layer: layer_types that
		// mix kinds (Ministral's alternation) would be ignored.
		c.SlidingWindow = 4096
		if _, ok := p.raw["sliding_window"]; ok {
			c.SlidingWindow = p.integer("sliding_window", 0, false)
		}
		if kinds := layerTypes(p, n); len(kinds) > 1 {
			p.fail("layer_types", p.raw["layer_types"], "mixes attention kinds, which MistralForCausalLM ignores (every layer uses sliding_window)")
		}
	}
	c.Layers = uniformLayers(n, LayerDims{heads, kv, inter})
}

// qwenSlidingWindow is the window of a Qwen2/Qwen3 config (Qwen2Config
// __post_init__): sliding_window when use_sliding_window is set and some
// layer slides (layer_types when given, else layers from
// max_window_layers on); 0 when no layer does.
func qwenSlidingWindow(p *fieldParser, n int) int {
	if !p.boolean("use_sliding_window", false) {
		return 0
	}
	w := p.integer("sliding_window", 0, false)
	if w <= 0 {
		return 0
	}
	if _, ok := p.raw["layer_types"]; ok && p.present("layer_types") {
		if layerTypes(p, n)["sliding_attention"] {
			return w
		}
		return 0
	}
	if p.integer("max_window_layers", 28, false) >= n {
		return 0
	}
	return w
}

// layerTypes reads config.json's layer_types (one per layer, each
// full_attention or sliding_attention) and returns the kinds it uses.
func layerTypes(p *fieldParser, n int) map[string]bool {
	var lt []string
	if !p.get("layer_types", &lt, "a list of strings", false) {
		return nil
	}
	if len(lt) != n && n > 0 {
		p.fail("layer_types", p.raw["layer_types"], fmt.Sprintf("has %d entries for %d layers", len(lt), n))
		return nil
	}
	kinds := map[string]bool{}
	for _, k := range lt {
		if k != "full_attention" && k != "sliding_attention" {
			p.fail("layer_types", p.raw["layer_types"], fmt.Sprintf("unsupported entry %q (want full_attention or sliding_attention)", k))
			return nil
		}
		kinds[k] = true
	}
	return kinds
}

func parseGPT2(p *fieldParser, c *Config, fam family) {
	c.Hidden = p.integer("n_embd", 0, true)
	n := p.integer("n_layer", 0, true)
	heads := p.integer("n_head", 0, true)
	c.Vocab = p.integer("vocab_size", 0, true)
	c.MaxPos = p.integer("n_positions", fam.maxPos, false)
	inter := p.integer("n_inner", 4*c.Hidden, false)
	c.NormEps = p.number("layer_norm_epsilon", fam.normEps)
	c.TiedEmbeddings = p.boolean("tie_word_embeddings", fam.tied)
	switch act := p.str("activation_function", "gelu_new", false); act {
	case "gelu":
		c.Act = GELU
	case "gelu_new", "gelu_pytorch_tanh":
		c.Act = GELUTanh
	default:
		p.fail("activation_function", act, "unsupported activation (want gelu, gelu_new or gelu_pytorch_tanh)")
	}
	if !p.boolean("scale_attn_weights", true) {
		p.fail("scale_attn_weights", false, "unscaled attention is not supported")
	}
	if p.boolean("scale_attn_by_inverse_layer_idx", false) {
		p.fail("scale_attn_by_inverse_layer_idx", true, "not supported")
	}
	if p.boolean("add_cross_attention", false) {
		p.fail("add_cross_attention", true, "cross-attention is not supported")
	}
	if heads > 0 {
		// A GPT-2 with heads removed by lopper keeps its head size in
		// lopper_dims, where n_head no longer divides n_embd.
		if c.Hidden%heads != 0 && p.err == nil && !p.present(lopperDimsKey) {
			p.fail("n_head", heads, fmt.Sprintf("does not divide n_embd %d", c.Hidden))
		}
		c.HeadDim = c.Hidden / heads
	}
	c.Layers = uniformLayers(n, LayerDims{heads, heads, inter})
}

func uniformLayers(n int, d LayerDims) []LayerDims {
	if n <= 0 || n > 1<<16 {
		return nil // Validate reports it
	}
	ls := make([]LayerDims, n)
	for i := range ls {
		ls[i] = d
	}
	return ls
}

// fieldParser reads typed config.json fields, keeping the first error.
type fieldParser struct {
	raw map[string]json.RawMessage
	err error
}

// present reports whether key is set to something other than null.
func (p *fieldParser) present(key string) bool {
	v, ok := p.raw[key]
	return ok && !bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

func (p *fieldParser) fail(key string, v any, why string) {
	if p.err == nil {
		p.err = fmt.Errorf("field %q = %v: %s", key, jsonText(v), why)
	}
}

func jsonText(v any) string {
	if r, ok := v.(json.RawMessage); ok {
		s := string(bytes.TrimSpace(r))
		if len(s) > 80 {
			s = s[:77] + "..."
		}
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// get decodes key into dst; it reports false when the key is absent or
// null, and records an error naming the field when the type is wrong.
func (p *fieldParser) get(key string, dst any, want string, required bool) bool {
	if p.err != nil {
		return false
	}
	if !p.present(key) {
		if required {
			p.err = fmt.Errorf("field %q is missing", key)
		}
		return false
	}
	if err := json.Unmarshal(p.raw[key], dst); err != nil {
		p.fail(key, p.raw[key], "want "+want)
		return false
	}
	return true
}

func (p *fieldParser) integer(key string, def int, required bool) int {
	var f float64
	if !p.get(key, &f, "an integer", required) {
		return def
	}
	if f != math.Trunc(f) || math.Abs(f) > 1<<40 {
		p.fail(key, p.raw[key], "want an integer")
		return def
	}
	return int(f)
}

func (p *fieldParser) number(key string, def float64) float64 {
	var f float64
	if !p.get(key, &f, "a number", false) {
		return def
	}
	return f
}

func (p *fieldParser) boolean(key string, def bool) bool {
	var b bool
	if !p.get(key, &b, "true or false", false) {
		return def
	}
	return b
}

func (p *fieldParser) str(key, def string, required bool) string {
	var s string
	if !p.get(key, &s, "a string", required) {
		return def
	}
	return s
}

// checkArchitectures accepts an absent or null field, or a list whose every
// entry is the one class lopper runs for this model_type.
func (p *fieldParser) checkArchitectures(want string) {
	var archs []string
	if !p.get("architectures", &archs, "a list of strings", false) {
		return
	}
	for _, a := range archs {
		if a != want {
			p.fail("architectures", p.raw["architectures"], fmt.Sprintf("unsupported entry %q (lopper runs %s for this model_type)", a, want))
			return
		}
	}
}
