package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"

	"lopper/model"
)

// arch is the quickstart model's shape: a small Llama (RMSNorm, RoPE,
// grouped-query attention, SwiGLU, tied embeddings) over byte tokens.
type arch struct {
	Hidden       int `json:"hidden_size"`
	Layers       int `json:"num_hidden_layers"`
	Heads        int `json:"num_attention_heads"`
	KVHeads      int `json:"num_key_value_heads"`
	Intermediate int `json:"intermediate_size"`
	Positions    int `json:"max_position_embeddings"`
}

// hfConfig is config.json as Hugging Face's LlamaConfig writes it, for
// LlamaForCausalLM. bos/eos are null: the byte vocabulary has no special
// tokens.
type hfConfig struct {
	arch
	Architectures    []string    `json:"architectures"`
	ModelType        string      `json:"model_type"`
	Vocab            int         `json:"vocab_size"`
	RMSNormEps       json.Number `json:"rms_norm_eps"` // spelled as Python writes floats
	RopeTheta        json.Number `json:"rope_theta"`
	HiddenAct        string      `json:"hidden_act"`
	Tie              bool        `json:"tie_word_embeddings"`
	AttentionBias    bool        `json:"attention_bias"`
	MLPBias          bool        `json:"mlp_bias"`
	InitializerRange float64     `json:"initializer_range"`
	TorchDType       string      `json:"torch_dtype"`
	BOS              *int        `json:"bos_token_id"`
	EOS              *int        `json:"eos_token_id"`
}

// initStd is the standard deviation of the initial weights (Hugging
// Face's initializer_range for Llama).
const initStd = 0.02

// newModel builds the untrained model (initWeights: every RMSNorm weight
// 1).
func newModel(a arch, seed uint64, tokenizerJSON []byte) (*model.Model, error) {
	raw, err := json.Marshal(hfConfig{
		arch: a, Architectures: []string{"LlamaForCausalLM"}, ModelType: "llama", Vocab: 256,
		RMSNormEps: "1e-05", RopeTheta: "10000.0", HiddenAct: "silu", Tie: true, InitializerRange: initStd,
		TorchDType: "float32",
	})
	if err != nil {
		return nil, err
	}
	cfg, err := model.ParseConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("quickstart model config: %w", err)
	}
	m, err := model.New(cfg)
	if err != nil {
		return nil, err
	}
	m.TokenizerJSON = tokenizerJSON
	initWeights(m, seed)
	return m, nil
}

// initWeights sets m's initial weights: every matrix drawn uniformly with
// standard deviation initStd from a PCG generator seeded by seed, in
// layout order (uniform, not normal, so that the draws depend on PCG's
// specified output and integer arithmetic only), every norm weight 1 and
// every bias 0.
func initWeights(m *model.Model, seed uint64) {
	rng := rand.NewPCG(seed, 0x696e6974) // "init"
	half := initStd * math.Sqrt(3)       // uniform on [-h, h] has sd h/√3
	for _, t := range m.Layout.Tensors {
		w := t.Of(m.W)
		switch {
		case isNorm(t.Role):
			for i := range w {
				w[i] = 1
			}
		case len(t.Shape) == 2:
			for i := range w {
				u := float64(rng.Uint64()>>11) / (1 << 53) // [0, 1)
				w[i] = float32((2*u - 1) * half)
			}
		default:
			clear(w)
		}
	}
}

// isNorm reports whether r is a norm's weight (RMSNorm or LayerNorm).
func isNorm(r model.Role) bool {
	switch r {
	case model.RoleAttnNorm, model.RoleMLPNorm, model.RoleFinalNorm, model.RoleEmbedNorm:
		return true
	}
	return false
}
