package model

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestMaskHelpers(t *testing.T) {
	m := randomModel(t, tinyConfigs()["gpt2"], 1)
	if err := m.CheckMask(); err != nil {
		t.Fatalf("dense model: %v", err)
	}
	m.Mask = m.Layout.NewMask()
	const name = "transformer.h.1.mlp.c_fc.weight"
	ti, ok := m.Layout.Lookup(name)
	if !ok {
		t.Fatal(name + " not in the layout")
	}
	for i := 0; i < ti.Size; i += 2 {
		m.Mask.Set(ti.Offset+i, false)
	}
	err := m.CheckMask()
	if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "entry 0") {
		t.Fatalf("unapplied mask: %v", err)
	}
	m.ApplyMask()
	if err := m.CheckMask(); err != nil {
		t.Fatal(err)
	}
	if nz := m.NonZero(ti); nz != ti.Size/2 {
		t.Errorf("NonZero %d, want %d", nz, ti.Size/2)
	}
	frac, n := m.Sparsity(Prunable)
	total := 0
	for _, tt := range m.Layout.Tensors {
		if tt.Layer >= 0 && tt.Role.IsLinear() {
			total += tt.Size
		}
	}
	if n != total || frac != float64(ti.Size/2)/float64(total) {
		t.Errorf("Sparsity(Prunable) = %g over %d, want %g over %d", frac, n, float64(ti.Size/2)/float64(total), total)
	}
}

func TestCloneIsDeep(t *testing.T) {
	m := randomModel(t, tinyConfigs()["llama-bias-nonuniform"], 1)
	randomMask(m, rand.New(rand.NewPCG(1, 1)), 0.2)
	m.TokenizerJSON = []byte(`{}`)
	c := m.Clone()
	c.W[0]++
	c.Mask.Set(0, !c.Mask.Get(0))
	c.Config.Layers[0].Heads = 1
	c.TokenizerJSON[0] = '['
	if m.W[0] == c.W[0] || m.Mask.Get(0) == c.Mask.Get(0) || m.Config.Layers[0].Heads == 1 || m.TokenizerJSON[0] != '{' {
		t.Error("clone shares state with the original")
	}
	if c.Layout != m.Layout {
		t.Error("clone should share the immutable layout")
	}
}

// The layout lists every tensor once, contiguously, with q/k/v and gate/up
// adjacent, and its parameter count is the sum of its shapes.
func TestLayoutInvariants(t *testing.T) {
	for name, cfg := range tinyConfigs() {
		l, err := NewLayout(&cfg)
		if err != nil {
			t.Fatal(err)
		}
		at := 0
		for _, ti := range l.Tensors {
			n := 1
			for _, d := range ti.Shape {
				n *= d
			}
			if ti.Offset != at || ti.Size != n {
				t.Errorf("%s: %s at %d size %d, want %d size %d", name, ti.Name, ti.Offset, ti.Size, at, n)
			}
			if got, ok := l.Lookup(ti.Name); !ok || got.Offset != ti.Offset {
				t.Errorf("%s: lookup %s", name, ti.Name)
			}
			at += n
		}
		if at != l.Total {
			t.Errorf("%s: total %d, tensors cover %d", name, l.Total, at)
		}
		if _, _, err := buildRefs(l, &cfg); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if _, ok := l.Lookup("lm_head.weight"); ok == cfg.TiedEmbeddings {
			t.Errorf("%s: lm_head.weight present = %v with tied = %v", name, ok, cfg.TiedEmbeddings)
		}
	}
}
