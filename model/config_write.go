package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// MarshalHF renders c as a Hugging Face config.json: every field read from
// disk is kept, the fields lopper owns (dims, eps, biases, activation,
// tying, RoPE, torch_dtype or transformers 5.x's dtype) are set from c, in
// the form config.json has them, and the output is deterministic: sorted
// keys, two-space indent, Python-style floats, a final newline (the way
// Hugging Face writes it). A field whose stored value already equals c's
// keeps its original spelling. torchDType may be empty to leave the dtype
// alone. Models that are not HFCompatible also get the "lopper_dims"
// field.
func (c *Config) MarshalHF(torchDType string) ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(c.raw)+8)
	for k, v := range c.raw {
		out[k] = v
	}
	want := c.ownedFields()
	if torchDType != "" {
		// transformers 5.x writes dtype, 4.x torch_dtype: set the ones
		// config.json has (torch_dtype when neither).
		_, v5 := c.raw["dtype"]
		if _, v4 := c.raw["torch_dtype"]; v4 || !v5 {
			want["torch_dtype"] = torchDType
		}
		if v5 {
			want["dtype"] = torchDType
		}
	}
	if c.HFCompatible() != nil {
		want[lopperDimsKey] = lopperDims{HeadDim: c.HeadDim, RotaryDim: c.RotaryDim, Layers: c.Layers}
	} else {
		delete(out, lopperDimsKey)
	}
	for k, v := range want {
		if old, ok := out[k]; ok && sameJSON(old, v) {
			continue
		}
		b, err := encodeValue(v)
		if err != nil {
			return nil, fmt.Errorf("field %q: %v", k, err)
		}
		out[k] = b
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// maxDims returns the largest heads, kv heads and intermediate size over
// the layers: the standard fields of a non-uniform model (which carries
// its real dims in lopper_dims).
func (c *Config) maxDims() LayerDims {
	var m LayerDims
	for _, d := range c.Layers {
		m.Heads = max(m.Heads, d.Heads)
		m.KVHeads = max(m.KVHeads, d.KVHeads)
		m.Intermediate = max(m.Intermediate, d.Intermediate)
	}
	return m
}

// ownedFields returns the config.json fields that c determines.
func (c *Config) ownedFields() map[string]any {
	if c.Arch == BERT {
		return c.encoderOwnedFields()
	}
	mt := c.modelType()
	d := c.maxDims()
	f := map[string]any{
		"model_type":          mt,
		"architectures":       []string{families[mt].architectures},
		"vocab_size":          c.Vocab,
		"tie_word_embeddings": c.TiedEmbeddings,
	}
	if c.Arch == GPT2 {
		f["n_embd"] = c.Hidden
		f["n_layer"] = len(c.Layers)
		f["n_head"] = d.Heads
		f["n_positions"] = c.MaxPos
		f["layer_norm_epsilon"] = c.NormEps
		var inner any = d.Intermediate
		if d.Intermediate == 4*c.Hidden && !(&fieldParser{raw: c.raw}).present("n_inner") {
			inner = nil
		}
		f["n_inner"] = inner
		act := "gelu"
		if c.Act == GELUTanh {
			act = "gelu_new"
			if s, ok := c.rawString("activation_function"); ok && s == "gelu_pytorch_tanh" {
				act = s
			}
		}
		f["activation_function"] = act
		return f
	}
	f["hidden_size"] = c.Hidden
	f["intermediate_size"] = d.Intermediate
	f["num_hidden_layers"] = len(c.Layers)
	f["num_attention_heads"] = d.Heads
	f["num_key_value_heads"] = d.KVHeads
	f["max_position_embeddings"] = c.MaxPos
	f["rms_norm_eps"] = c.NormEps
	c.ropeFieldsOwned(f)
	switch {
	case mt == "olmo2":
		f["attention_bias"] = c.QKVBias
	case mt == "smollm3":
		c.smolLM3Owned(f)
	}
	if families[mt].gemma > 0 {
		c.gemmaOwned(f)
	} else if s, ok := c.rawString("hidden_act"); !ok || (s != "silu" && s != "swish") {
		f["hidden_act"] = "silu"
	}
	if _, ok := c.raw["head_dim"]; ok || d.Heads*c.HeadDim != c.Hidden || families[mt].headDim > 0 {
		f["head_dim"] = c.HeadDim
	}
	switch mt {
	case "llama":
		f["attention_bias"] = c.QKVBias
		f["mlp_bias"] = c.MLPBias
	case "qwen3":
		f["attention_bias"] = c.QKVBias
	case "mistral":
		var w any
		if c.SlidingWindow > 0 {
			w = c.SlidingWindow
		}
		f["sliding_window"] = w
		// MistralAttention ignores layer_types; keep its one kind, for
		// the remaining layers.
		var lt []string
		if err := json.Unmarshal(c.raw["layer_types"], &lt); err == nil && len(lt) > 0 && len(lt) != len(c.Layers) {
			f["layer_types"] = slices.Repeat(lt[:1], len(c.Layers))
		}
	}
	if _, ok := c.raw["sliding_window"]; mt == "phi3" && (ok || c.SlidingWindow > 0) {
		var w any
		if c.SlidingWindow > 0 {
			w = c.SlidingWindow
		}
		f["sliding_window"] = w
	}
	if mt == "qwen2" || mt == "qwen3" {
		c.qwenWindowOwned(f)
	}
	return f
}

// qwenWindowOwned sets the sliding-window fields of a Qwen2/Qwen3 config
// when config.json's own (use_sliding_window, sliding_window,
// max_window_layers, layer_types) do not give c's window and sliding
// layers: max_window_layers when the sliding layers are the last ones,
// else layer_types.
func (c *Config) qwenWindowOwned(f map[string]any) {
	n := len(c.Layers)
	p := &fieldParser{raw: c.raw}
	if w, kinds := qwenSlidingWindow(p, n); p.err == nil && w == c.SlidingWindow && slices.Equal(kinds, c.Kinds) {
		if _, ok := c.raw["layer_types"]; ok {
			f["layer_types"] = c.layerTypes()
		}
		return
	}
	f["use_sliding_window"] = c.SlidingWindow > 0
	if c.SlidingWindow > 0 {
		f["sliding_window"] = c.SlidingWindow
		m := 0
		for m < n && !c.Sliding(m) {
			m++
		}
		f["max_window_layers"] = m
		for l := m; l < n; l++ {
			if !c.Sliding(l) {
				f["layer_types"] = c.layerTypes()
			}
		}
	}
	if _, ok := c.raw["layer_types"]; ok {
		f["layer_types"] = c.layerTypes()
	}
}

// layerTypes renders which layers slide as config.json's layer_types.
func (c *Config) layerTypes() []string {
	lt := make([]string, len(c.Layers))
	for l := range lt {
		lt[l] = "full_attention"
		if c.Sliding(l) {
			lt[l] = "sliding_attention"
		}
	}
	return lt
}

func (c *Config) rawString(key string) (string, bool) {
	var s string
	if v, ok := c.raw[key]; ok && json.Unmarshal(v, &s) == nil {
		return s, true
	}
	return "", false
}

// sameJSON reports whether the stored JSON old already holds the value v.
func sameJSON(old json.RawMessage, v any) bool {
	switch v := v.(type) {
	case nil:
		return bytes.Equal(bytes.TrimSpace(old), []byte("null"))
	case int:
		var f float64
		return json.Unmarshal(old, &f) == nil && f == float64(v)
	case float64:
		var f float64
		return json.Unmarshal(old, &f) == nil && f == v
	case bool:
		var b bool
		return json.Unmarshal(old, &b) == nil && b == v
	case string:
		var s string
		return json.Unmarshal(old, &s) == nil && s == v
	case []string:
		var s []string
		return json.Unmarshal(old, &s) == nil && slices.Equal(s, v)
	}
	return false
}

// encodeValue encodes v; floats are written as Python's repr writes them
// (10000.0, 1e-05), so files match what Hugging Face itself writes.
func encodeValue(v any) (json.RawMessage, error) {
	switch v := v.(type) {
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, fmt.Errorf("cannot write %v", v)
		}
		return json.RawMessage(pyFloat(v)), nil
	case []float64:
		out := make([]json.RawMessage, len(v))
		for i, f := range v {
			var err error
			if out[i], err = encodeValue(f); err != nil {
				return nil, err
			}
		}
		return json.Marshal(out)
	case map[string]any:
		out := make(map[string]json.RawMessage, len(v))
		for k, e := range v {
			b, err := encodeValue(e)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", k, err)
			}
			out[k] = b
		}
		return json.Marshal(out)
	}
	return json.Marshal(v)
}

// pyFloat formats f like Python's repr: shortest round-trip digits, ".0"
// on integral values, exponent form below 1e-4 and from 1e16.
func pyFloat(f float64) string {
	a := math.Abs(f)
	if a != 0 && (a < 1e-4 || a >= 1e16) {
		return strconv.FormatFloat(f, 'e', -1, 64)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if f == math.Trunc(f) {
		s += ".0"
	}
	return s
}
