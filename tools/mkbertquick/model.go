package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"

	"lopper/internal/synth"
	"lopper/model"
)

// hfConfig is config.json as transformers' BertConfig writes it for
// BertForSequenceClassification, with the review task's labels.
type hfConfig struct {
	arch
	Architectures    []string          `json:"architectures"`
	ModelType        string            `json:"model_type"`
	Vocab            int               `json:"vocab_size"`
	TypeVocab        int               `json:"type_vocab_size"`
	HiddenAct        string            `json:"hidden_act"`
	HiddenDropout    float64           `json:"hidden_dropout_prob"`
	AttnDropout      float64           `json:"attention_probs_dropout_prob"`
	ClassifierDrop   *float64          `json:"classifier_dropout"`
	LayerNormEps     json.Number       `json:"layer_norm_eps"` // spelled as Python writes floats
	InitializerRange float64           `json:"initializer_range"`
	PadID            int               `json:"pad_token_id"`
	PositionType     string            `json:"position_embedding_type"`
	ID2Label         map[string]string `json:"id2label"`
	Label2ID         map[string]int    `json:"label2id"`
	ProblemType      string            `json:"problem_type"`
	TorchDType       string            `json:"torch_dtype"`
}

// initStd is the standard deviation of the initial weights (BertConfig's
// initializer_range).
const initStd = 0.02

// newModel builds the untrained classifier: every matrix drawn uniformly
// with standard deviation initStd from a PCG generator seeded by seed
// (uniform, not normal, so that the draws depend on PCG's specified output
// and integer arithmetic only), the [PAD] row of the word embeddings zero
// (as BERT's padding_idx), LayerNorm weights 1 and every bias 0.
func newModel(a arch, seed uint64, tokenizerJSON []byte) (*model.Model, error) {
	id2, l2i := map[string]string{}, map[string]int{}
	for i, l := range synth.ReviewLabels {
		id2[fmt.Sprint(i)], l2i[l] = l, i
	}
	raw, err := json.Marshal(hfConfig{
		arch: a, Architectures: []string{"BertForSequenceClassification"}, ModelType: "bert",
		Vocab: synth.ReviewVocabSize(), TypeVocab: 2, HiddenAct: "gelu", HiddenDropout: 0.1, AttnDropout: 0.1,
		LayerNormEps: "1e-12", InitializerRange: initStd, PadID: synth.ReviewPadID, PositionType: "absolute",
		ID2Label: id2, Label2ID: l2i, ProblemType: "single_label_classification", TorchDType: "float32",
	})
	if err != nil {
		return nil, err
	}
	cfg, err := model.ParseConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("bert quickstart config: %w", err)
	}
	m, err := model.New(cfg)
	if err != nil {
		return nil, err
	}
	m.TokenizerJSON = tokenizerJSON
	rng := rand.NewPCG(seed, 0x696e6974) // "init"
	half := initStd * math.Sqrt(3)       // uniform on [-h, h] has sd h/√3
	for _, t := range m.Layout.Tensors {
		w := t.Of(m.W)
		switch {
		case t.Role == model.RoleEmbedNorm || t.Role == model.RoleAttnNorm || t.Role == model.RoleMLPNorm:
			for i := range w {
				w[i] = 1
			}
		case len(t.Shape) == 2:
			for i := range w {
				u := float64(rng.Uint64()>>11) / (1 << 53) // [0, 1)
				w[i] = float32((2*u - 1) * half)
			}
		}
		if t.Role == model.RoleEmbed {
			clear(w[synth.ReviewPadID*a.Hidden : (synth.ReviewPadID+1)*a.Hidden])
		}
	}
	return m, nil
}
