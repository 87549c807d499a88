package pruning

import (
	"testing"

	"lopper/model"
)

// part returns the bytes of the estimate's part called what (0 if none).
func part(e model.MemoryEstimate, what string) int64 {
	for _, p := range e.Parts {
		if p.What == what {
			return p.Bytes
		}
	}
	return 0
}

// The estimate counts what each driver holds: a copy of the weights
// unless in place, a 1-bit mask, one tensor's scores and scratch mask
// (1 byte per entry) tensor by tensor and every target's for global
// scopes, the windows' hidden states in sequential calibration, and
// SparseGPT's float64 Hessians per distinct input of the largest block
// (of every block in one pass) with one block's scratch mask.
func TestEstimateMemory(t *testing.T) {
	m := tinyModel(t, model.Llama, 1)
	c := &m.Config
	P, H, I := int64(m.Layout.Total), int64(c.Hidden), int64(c.Layers[0].Intermediate)
	qd := int64(c.Layers[0].Heads * c.HeadDim)
	est := func(o Options, inPlace bool) model.MemoryEstimate {
		t.Helper()
		e, err := EstimateMemory(c, MemoryOptions{Options: o, CalibSamples: 6, CalibSeqLen: 8, CalibBatch: 4, InPlace: inPlace})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	mag := Options{Method: Magnitude, Sparsity: 0.5}
	a, b := est(mag, false), est(mag, true)
	if a.Total()-b.Total() != 4*P || part(a, "copy of the weights") != 4*P || part(b, "weights") != 4*P || part(b, "mask") != 8*((P+63)/64) {
		t.Errorf("copy vs in place:\n%v\n%v", a, b)
	}
	largest := int64(0)
	targets, _ := SelectTargets(m.Layout, TargetSpec{})
	for _, tt := range targets {
		largest = max(largest, int64(tt.Size))
	}
	if got, k := part(b, "scores of one tensor"), part(b, "mask of one tensor (1 byte per entry)"); got != 4*largest || k != largest {
		t.Errorf("tensor by tensor: scores %d and mask %d, want %d and %d", got, k, 4*largest, largest)
	}
	_, lo, hi := rebase(targets)
	g := est(Options{Method: Magnitude, Sparsity: 0.5, Scope: ScopeGlobal}, true)
	if got, k := part(g, "scores"), part(g, "mask of the targets being selected (1 byte per entry)"); got != 4*P || k != int64(hi-lo) {
		t.Errorf("global: scores %d and mask %d, want %d and %d", got, k, 4*P, hi-lo)
	}
	w := est(Options{Method: Wanda, Sparsity: 0.5}, true)
	if got, want := part(w, "calibration hidden states"), 4*(6+4)*8*H; got != want {
		t.Errorf("wanda: hidden states %d, want %d", got, want)
	}
	if part(w, "calibration forward pass") != model.ForwardBytes(c, 4, 8, false) {
		t.Errorf("wanda: forward pass %v", w)
	}
	block := 8 * (H*H + qd*qd + H*H + I*I) // q/k/v, o, gate/up, down inputs
	sg := est(Options{Method: SparseGPT, Sparsity: 0.5}, true)
	if got, k := part(sg, "Hessians (float64)"), part(sg, maskOfBlock); got != block || k != largestBlockSpan(targets, c.NumLayers()) {
		t.Errorf("sparsegpt: Hessians %d, mask %d, want %d, %d", got, k, block, largestBlockSpan(targets, c.NumLayers()))
	}
	if got := part(est(Options{Method: SparseGPT, Sparsity: 0.5, CalibMode: OnePass}, true), "Hessians (float64)"); got != 2*block {
		t.Errorf("one-pass sparsegpt: Hessians %d, want %d", got, 2*block)
	}
	if _, err := EstimateMemory(c, MemoryOptions{Options: Options{Method: "nope"}}); err == nil {
		t.Error("an unknown method was estimated")
	}
}

// A lazy model streamed (Options.Lazy, in place, tensor by tensor or
// block by block) is estimated with its weights in flight: the largest
// block, or the embedding less the working set that is given back before
// the save writes it; no mask over the layout (the working set's mask in
// flight only); a decoded piece of the checkpoint. Lazy changes nothing
// where the targets do not stream.
func TestEstimateMemoryLazy(t *testing.T) {
	m := tinyModel(t, model.Llama, 1)
	c := &m.Config
	est := func(o Options, lazy bool) model.MemoryEstimate {
		t.Helper()
		e, err := EstimateMemory(c, MemoryOptions{Options: o, CalibSamples: 6, CalibSeqLen: 8, CalibBatch: 4, InPlace: true, Lazy: lazy})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	var block, emb int64
	for _, tt := range m.Layout.BlockTensors(0) {
		block += int64(tt.Size)
	}
	for _, tt := range m.Layout.EmbedTensors() {
		emb += int64(tt.Size)
	}
	for _, o := range []Options{{Method: Magnitude, Sparsity: 0.5}, {Method: Wanda, Sparsity: 0.5}, {Method: SparseGPT, Sparsity: 0.5}} {
		lz, res := est(o, true), est(o, false)
		work := res.Total() - part(res, "weights") - part(res, "mask")
		if got, want := lz.Weights(), 4*max(block, emb-work/4); got != want {
			t.Errorf("%s: weights in flight %d, want %d (%v)", o.Method, got, want, lz)
		}
		if part(lz, "mask") != 0 || part(lz, "checkpoint piece being decoded") != model.DecodePieceBytes() {
			t.Errorf("%s: %v", o.Method, lz)
		}
		if lz.Total()-lz.Weights()-model.DecodePieceBytes() != work {
			t.Errorf("%s: the working set differs: lazy %v, resident %v", o.Method, lz, res)
		}
	}
	global := Options{Method: Magnitude, Sparsity: 0.5, Scope: ScopeGlobal}
	if a, b := est(global, true), est(global, false); a.Total() != b.Total() {
		t.Errorf("global scope (at the end): lazy %v, resident %v", a, b)
	}
}
