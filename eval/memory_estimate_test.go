package eval

import (
	"testing"

	"lopper/model"
)

// The text estimate: the weights, one forward pass per concurrent runner
// (no more runners than the limited windows need, or workers asked for)
// and 4 bytes per byte of text.
func TestEstimateTextMemory(t *testing.T) {
	c := model.Config{Arch: model.Llama, ModelType: "llama", Hidden: 16, Vocab: 50, MaxPos: 32, HeadDim: 4,
		Layers: []model.LayerDims{{Heads: 4, KVHeads: 2, Intermediate: 24}}, NormEps: 1e-5, RopeTheta: 1e4, Act: model.SiLU}
	w, err := model.WeightBytes(&c)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []struct {
		o       TextOptions
		runners int64
	}{
		{TextOptions{SeqLen: 8, Limit: 1, Workers: 4}, 1},
		{TextOptions{SeqLen: 8, Limit: 6, Batch: 2, Workers: 4}, 3},
		{TextOptions{SeqLen: 8, Workers: 2}, 2},
	} {
		e, err := EstimateTextMemory(&c, k.o, 1000)
		if err != nil {
			t.Fatal(err)
		}
		pass := model.ForwardBytes(&c, max(k.o.Batch, 1), 8, true)
		if want := w + k.runners*pass + 4000; e.Total() != want {
			t.Errorf("%+v: %v, want %d (%d runners)", k.o, e, want, k.runners)
		}
	}
}
