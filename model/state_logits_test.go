package model

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// A State allocates its logits ([B·T, vocab]) with the first pass that
// computes them, so calibration (Embed and BlockForward only) never holds
// them; Embed → BlockForward… → Head gives the logits Forward gives, bit
// for bit, in a fresh State or a reused one.
func TestLogitsAllocatedByTheFirstHead(t *testing.T) {
	for name, cfg := range tinyConfigs() {
		m := randomModel(t, cfg, 3)
		B, T := 2, min(5, cfg.MaxPos)
		toks := randomTokens(rand.New(rand.NewPCG(1, 2)), B*T, cfg.Vocab)
		blocks, err := NewInferenceState(m, B, T)
		if err != nil {
			t.Fatal(err)
		}
		h, err := blocks.Embed(toks, B, T)
		if err != nil {
			t.Fatal(err)
		}
		for l := range cfg.Layers {
			if err := blocks.BlockForward(l, h, B, T, nil); err != nil {
				t.Fatal(err)
			}
		}
		if blocks.logits != nil {
			t.Fatalf("%s: blocks only, yet %d logits allocated", name, len(blocks.logits))
		}
		viaHead, err := blocks.Head(h, B, T)
		if err != nil {
			t.Fatal(err)
		}
		whole, err := NewInferenceState(m, B, T)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // the second pass reuses the logits of the first
			got, err := whole.Forward(toks)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, viaHead) {
				t.Fatalf("%s: Forward's logits differ from Embed → blocks → Head's", name)
			}
		}
	}
}
