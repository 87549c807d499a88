package pruning

import (
	"testing"

	"lopper/internal/sharedtest"
	"lopper/model"
)

// sharedModel is a shared tiny model with its references, calibration
// windows and evaluation text.
type sharedModel struct {
	name  string
	m     *model.Model
	ref   *sharedtest.Reference
	calib *Calibration
	eval  []int32
}

func loadShared(t testing.TB, name string) *sharedModel {
	t.Helper()
	m, err := model.Load(sharedtest.ModelDir(t, name), model.LoadOptions{CheckFinite: true})
	if err != nil {
		t.Fatal(err)
	}
	s := &sharedModel{name: name, m: m, ref: sharedtest.LoadReference(t, name), eval: sharedtest.Tokens(sharedtest.EvalText(t))}
	// The reference calibration: 16 windows of 128 bytes.
	if s.calib, err = Windows(sharedtest.Tokens(sharedtest.CalibText(t, name)), WindowOptions{Samples: 16, SeqLen: 128}); err != nil {
		t.Fatal(err)
	}
	return s
}

// perplexity runs the shared evaluation protocol (sharedtest.Score) and
// returns the perplexity and the number of tokens scored.
func perplexity(t testing.TB, m *model.Model, tokens []int32) (float64, int) {
	t.Helper()
	const B = 32
	st, err := model.NewInferenceState(m, B, sharedtest.Window)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sharedtest.Score(tokens, m.Config.Vocab, B, st.ForwardBatch)
	if err != nil {
		t.Fatal(err)
	}
	return s.PPL, s.Tokens
}

// targetSparsity is the fraction of zeros over model.Prunable tensors.
func targetSparsity(m *model.Model) float64 {
	s, _ := m.Sparsity(model.Prunable)
	return s
}
