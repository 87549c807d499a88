package train

import (
	"testing"

	"lopper/model"
)

// Training holds 16 bytes per parameter (weights, gradients, two AdamW
// moments), every layer's activations, the logits' gradient, and a
// teacher's forward pass when distilling.
func TestEstimateMemory(t *testing.T) {
	c := model.Config{Arch: model.Llama, ModelType: "llama", Hidden: 16, Vocab: 50, MaxPos: 32, HeadDim: 4,
		Layers: []model.LayerDims{{Heads: 4, KVHeads: 2, Intermediate: 24}}, NormEps: 1e-5, RopeTheta: 1e4, Act: model.SiLU}
	n, err := c.NumParams()
	if err != nil {
		t.Fatal(err)
	}
	e, err := EstimateMemory(&c, 2, 8, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := 16*int64(n) + model.StateBytes(&c, 2, 8, true) + model.LogitsBytes(&c, 2, 8); e.Total() != want {
		t.Errorf("%v, want %d", e, want)
	}
	d, err := EstimateMemory(&c, 2, 8, &c)
	if err != nil || d.Total()-e.Total() != model.ForwardBytes(&c, 2, 8, true) {
		t.Errorf("distillation adds %d, want a teacher's forward pass (%v)", d.Total()-e.Total(), err)
	}
}
