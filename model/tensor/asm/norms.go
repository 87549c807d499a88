package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/reg"
)

type vecs = map[string]reg.VecVirtual

// normKernels generates the per-row passes of RMSNorm and LayerNorm and
// their gradients, with the operation order of norms.go's portable loops.
func normKernels(s isa) {
	name := func(base string) string { return fmt.Sprintf("%s%s", base, s.name) }
	kspec{name: name("rmsScale"), outs: []string{"out"}, ins: []string{"x", "w"}, scalars: []string{"s"},
		body: func(in, sc vecs) (vecs, []reg.VecVirtual) {
			t := s.vec()
			VMULPS(sc["s"], in["x"], t)
			VMULPS(in["w"], t, t)
			return vecs{"out": t}, nil
		}}.gen(s)
	kspec{name: name("dot3"), ins: []string{"a", "b", "c"}, sums: 1,
		body: func(in, _ vecs) (vecs, []reg.VecVirtual) {
			t := s.vec()
			VMULPS(in["b"], in["a"], t)
			VMULPS(in["c"], t, t)
			return nil, []reg.VecVirtual{t}
		}}.gen(s)
	// dx += rs·(dr·w - x·c); dw += dr·x·rs.
	kspec{name: name("rmsBackward"), outs: []string{"dx", "dw"}, ins: []string{"dx", "dw", "dr", "x", "w"},
		scalars: []string{"rs", "c"},
		body: func(in, sc vecs) (vecs, []reg.VecVirtual) {
			t := s.vec()
			VMULPS(in["w"], in["dr"], t)
			VFNMADD231PS(sc["c"], in["x"], t)
			VFMADD231PS(sc["rs"], t, in["dx"])
			u := s.vec()
			VMULPS(in["x"], in["dr"], u)
			VFMADD231PS(sc["rs"], u, in["dw"])
			return vecs{"dx": in["dx"], "dw": in["dw"]}, nil
		}}.gen(s)
	kspec{name: name("sumSqDev"), ins: []string{"x"}, scalars: []string{"m"}, sums: 1,
		body: func(in, sc vecs) (vecs, []reg.VecVirtual) {
			VSUBPS(sc["m"], in["x"], in["x"])
			VMULPS(in["x"], in["x"], in["x"])
			return nil, []reg.VecVirtual{in["x"]}
		}}.gen(s)
	normalized := func(in, sc vecs) reg.VecVirtual { // (x-m)·rs
		t := s.vec()
		VSUBPS(sc["m"], in["x"], t)
		VMULPS(sc["rs"], t, t)
		return t
	}
	kspec{name: name("lnAffine"), outs: []string{"out"}, ins: []string{"x", "w", "b"}, scalars: []string{"m", "rs"},
		body: func(in, sc vecs) (vecs, []reg.VecVirtual) {
			t := normalized(in, sc)
			VFMADD213PS(in["b"], in["w"], t)
			return vecs{"out": t}, nil
		}}.gen(s)
	kspec{name: name("lnScale"), outs: []string{"out"}, ins: []string{"x", "w"}, scalars: []string{"m", "rs"},
		body: func(in, sc vecs) (vecs, []reg.VecVirtual) {
			t := normalized(in, sc)
			VMULPS(in["w"], t, t)
			return vecs{"out": t}, nil
		}}.gen(s)
	// Σ dr·w and Σ dr·w·(x-m)·rs.
	kspec{name: name("lnBackwardSums"), ins: []string{"dr", "x", "w"}, scalars: []string{"m", "rs"}, sums: 2,
		body: func(in, sc vecs) (vecs, []reg.VecVirtual) {
			g := s.vec()
			VMULPS(in["w"], in["dr"], g)
			t := normalized(in, sc)
			VMULPS(g, t, t)
			return nil, []reg.VecVirtual{g, t}
		}}.gen(s)
	// dx += (dr·w - dmean - n·dnd)·rs; dw += dr·n, n = (x-m)·rs.
	kspec{name: name("lnBackward"), outs: []string{"dx", "dw"}, ins: []string{"dx", "dw", "dr", "x", "w"},
		scalars: []string{"m", "rs", "dmean", "dnd"},
		body: func(in, sc vecs) (vecs, []reg.VecVirtual) {
			nrm := normalized(in, sc)
			g := s.vec()
			VMULPS(in["w"], in["dr"], g)
			VSUBPS(sc["dmean"], g, g)
			VFNMADD231PS(sc["dnd"], nrm, g)
			VFMADD231PS(sc["rs"], g, in["dx"])
			VFMADD231PS(in["dr"], nrm, in["dw"])
			return vecs{"dx": in["dx"], "dw": in["dw"]}, nil
		}}.gen(s)
}
