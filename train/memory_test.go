package train

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"lopper/model"
)

// Training holds the weights, the mask, 12 bytes per trainable parameter
// (gradients, two AdamW moments), the activations (fewer with
// recompute), the logits' gradient, the backward scratch, and a teacher's
// forward pass when distilling.
func TestEstimateMemory(t *testing.T) {
	c := model.Config{Arch: model.Llama, ModelType: "llama", Hidden: 16, Vocab: 50, MaxPos: 32, HeadDim: 4,
		Layers: []model.LayerDims{{Heads: 4, KVHeads: 2, Intermediate: 24}, {Heads: 4, KVHeads: 2, Intermediate: 24}}, NormEps: 1e-5, RopeTheta: 1e4, Act: model.SiLU}
	n, err := c.NumParams()
	if err != nil {
		t.Fatal(err)
	}
	o := MemoryOptions{B: 2, T: 8, Mask: true}
	e, err := EstimateMemory(&c, o)
	if err != nil {
		t.Fatal(err)
	}
	if want := 16*int64(n) + model.MaskBytes(n) + model.TrainStateBytes(&c, 2, 8, false) + model.LogitsBytes(&c, 2, 8) + model.BackwardBytes(&c, 2, 8, nil); e.Total() != want {
		t.Errorf("%v, want %d", e, want)
	}
	o.Teacher = &c
	d, err := EstimateMemory(&c, o)
	if err != nil || d.Total()-e.Total() != model.ForwardBytes(&c, 2, 8, true) {
		t.Errorf("distillation adds %d, want a teacher's forward pass (%v)", d.Total()-e.Total(), err)
	}
	// A selection saves 12 bytes per frozen parameter; recompute saves
	// every block's activations but one.
	o = MemoryOptions{B: 2, T: 8, Trainable: `layers\.1\.mlp\.`}
	s, err := EstimateMemory(&c, o)
	if err != nil {
		t.Fatal(err)
	}
	l, err := model.NewLayout(&c)
	if err != nil {
		t.Fatal(err)
	}
	sel, err := model.NewTrainable(l, o.Trainable)
	if err != nil {
		t.Fatal(err)
	}
	frozen, sink := int64(n)-3*16*24, model.BackwardBytes(&c, 2, 8, sel)-model.BackwardBytes(&c, 2, 8, nil)
	if got := e.Total() - model.MaskBytes(n) - s.Total(); got != 12*frozen-sink || sink != 4*16 {
		t.Errorf("the selection saves %d bytes, want 12 × %d frozen parameters less the frozen norms' scratch %d", got, frozen, sink)
	}
	o.Trainable, o.Recompute = "", true
	r, err := EstimateMemory(&c, o)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.Total()-model.MaskBytes(n)-r.Total(), model.TrainStateBytes(&c, 2, 8, false)-model.TrainStateBytes(&c, 2, 8, true); got != want || want <= 0 {
		t.Errorf("recompute saves %d bytes, want %d", got, want)
	}
	if _, err := EstimateMemory(&c, MemoryOptions{B: 2, T: 8, Trainable: `nothing`}); err == nil {
		t.Error("a pattern that matches no tensor: no error")
	}
}

// The estimate is within 25 % of the live heap measured during training
// (after a collection, at the end of each step), and a selection and
// recompute lower the measured heap by what the estimate says, within
// 25 %.
func TestEstimateMemoryMatchesHeap(t *testing.T) {
	c := model.Config{Arch: model.Llama, ModelType: "llama", Hidden: 128, Vocab: 512, MaxPos: 128, HeadDim: 32,
		Layers: make([]model.LayerDims, 6), NormEps: 1e-5, RopeTheta: 1e4, Act: model.SiLU}
	for i := range c.Layers {
		c.Layers[i] = model.LayerDims{Heads: 4, KVHeads: 2, Intermediate: 384}
	}
	const B, T = 4, 128
	tokens := patternTokens(20000, c.Vocab, 5)
	measure := func(trainable string, recompute bool) (est, heap int64) {
		m, err := model.New(c)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range m.W {
			m.W[i] = float32(rng.NormFloat64() * 0.05)
		}
		m.Mask = m.Layout.NewMask()
		e, err := EstimateMemory(&c, MemoryOptions{B: B, T: T, Trainable: trainable, Recompute: recompute, Mask: true})
		if err != nil {
			t.Fatal(err)
		}
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		base := int64(ms.HeapAlloc) - e.Parts[0].Bytes - e.Parts[1].Bytes // the model is live already
		var peak int64
		_, err = Train(context.Background(), m, Stream{Tokens: tokens}, Config{
			Steps: 2, BatchSize: B, SeqLen: T, LR: 1e-3, Trainable: trainable, Recompute: recompute,
			OnStep: func(StepStats) {
				runtime.GC()
				runtime.ReadMemStats(&ms)
				peak = max(peak, int64(ms.HeapAlloc)-base)
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		runtime.KeepAlive(tokens)
		return e.Total(), peak
	}
	allEst, allHeap := measure("", false)
	for _, v := range []struct {
		name      string
		trainable string
		recompute bool
	}{{"everything", "", false}, {"block 5 linears", `layers\.5\..*proj`, false}, {"recompute", "", true}, {"both", `layers\.5\..*proj`, true}} {
		est, heap := allEst, allHeap
		if v.trainable != "" || v.recompute {
			est, heap = measure(v.trainable, v.recompute)
		}
		t.Logf("%s: est %d heap %d", v.name, est, heap)
		if r := float64(est) / float64(heap); math.Abs(r-1) > 0.25 {
			t.Errorf("%s: estimate %s, live heap %s", v.name, model.FormatBytes(est), model.FormatBytes(heap))
		}
		if est == allEst {
			continue
		}
		if r := float64(allHeap-heap) / float64(allEst-est); math.Abs(r-1) > 0.25 {
			t.Errorf("%s: saves %s of heap, the estimate says %s", v.name, model.FormatBytes(allHeap-heap), model.FormatBytes(allEst-est))
		}
	}
}
