package eval

import (
	"fmt"

	"lopper/model"
	"lopper/model/tokenizer"
)

// modelLM adapts *model.Model to lm.
type modelLM struct{ m *model.Model }

func (a modelLM) vocab() int { return a.m.Config.Vocab }

// maxPositions is the model's position limit (max_position_embeddings;
// sliding attention windows are computed, so they do not limit it).
func (a modelLM) maxPositions() int { return a.m.Config.MaxPos }

func (a modelLM) newRunner(b, t int) (runner, error) {
	if b <= 0 || t <= 0 || t > a.maxPositions() {
		return nil, fmt.Errorf("batch %d × sequence %d: need positive sizes and at most %d positions", b, t, a.maxPositions())
	}
	st, err := model.NewInferenceState(a.m, b, t)
	if err != nil {
		return nil, err
	}
	return modelRunner{st}, nil
}

func (a modelLM) fitRunners(b, t int) int {
	return model.StatesThatFit(&a.m.Config, b, t, false)
}

// modelRunner runs forward passes with one inference state of the
// runner's size; shorter batches and sequences run at their own size
// (State.ForwardBatch), with no padding.
type modelRunner struct{ st *model.State }

func (r modelRunner) forward(tokens []int32, b, t int) ([]float32, error) {
	return r.st.ForwardBatch(tokens, b, t)
}

// tokenizerEncoder adapts a tokenizer to encoder: no special tokens are
// added, and an empty context starts from BOS, else EOS (the harness's
// prefix_token_id), the model's config.json ids taking precedence over the
// tokenizer's guesses from token names.
type tokenizerEncoder struct {
	tok *tokenizer.Tokenizer
	cfg *model.Config
}

func (e tokenizerEncoder) encode(text string) []int32 { return e.tok.Encode(text) }

func (e tokenizerEncoder) prefix() (int32, bool) {
	for _, id := range []func() (int32, bool){e.cfg.BOSToken, e.tok.BOS, e.cfg.EOSToken, e.tok.EOS} {
		if t, ok := id(); ok {
			return t, true
		}
	}
	return 0, false
}
