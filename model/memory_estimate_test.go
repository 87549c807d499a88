package model

import (
	"strings"
	"testing"

	"lopper/model/tensor"
)

// An estimate sums its parts, leaves out empty ones, adds the collector's
// headroom (GOGC % of the live parts) and the program, and says it all.
func TestMemoryEstimate(t *testing.T) {
	var e MemoryEstimate
	e.Add("weights", 1000)
	e.Add("nothing", 0)
	e.Add("mask", 250)
	if len(e.Parts) != 2 || e.Total() != 1250 {
		t.Fatalf("%+v", e)
	}
	r := e.WithRuntime(20)
	if r.Total() != 1250+250+RuntimeBytes || len(e.Parts) != 2 {
		t.Errorf("with runtime: %v (input now %v)", r, e)
	}
	if s := r.String(); !strings.HasPrefix(s, FormatBytes(r.Total())+" (weights 1000 B, mask 250 B, garbage collector headroom (GOGC=20) 250 B, program 20.0 MiB)") {
		t.Errorf("String: %s", s)
	}
}

// WeightBytes is 4 bytes per parameter; a forward pass is the State's
// buffers and the widest product's scratch, without the logits when only
// blocks run.
func TestForwardBytes(t *testing.T) {
	c := tinyConfigs()["llama"]
	n, err := c.NumParams()
	if w, werr := WeightBytes(&c); err != nil || werr != nil || w != 4*int64(n) {
		t.Fatalf("WeightBytes %d for %d params (%v, %v)", w, n, err, werr)
	}
	B, T := 2, 8
	full, blocks := ForwardBytes(&c, B, T, true), ForwardBytes(&c, B, T, false)
	wide := max(c.Vocab, 2*c.Layers[0].Intermediate)
	if want := StateBytes(&c, B, T, false) + tensor.MatMulScratchBytes(B*T, wide, c.Hidden); full != want {
		t.Errorf("with logits %d, want %d", full, want)
	}
	narrow := max((c.Layers[0].Heads+2*c.Layers[0].KVHeads)*c.HeadDim, 2*c.Layers[0].Intermediate, c.Hidden)
	if want := StateBytes(&c, B, T, false) - LogitsBytes(&c, B, T) + tensor.MatMulScratchBytes(B*T, narrow, c.Hidden); blocks != want {
		t.Errorf("blocks only %d, want %d", blocks, want)
	}
}
