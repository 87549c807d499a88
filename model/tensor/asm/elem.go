package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// Elementwise and reduction kernels over n floats, n a multiple of the lane
// count (the Go wrappers run a padded last vector). Every lane is computed
// by the same instructions, so an element's result does not depend on its
// position.

func elemKernels(s isa) {
	name := func(base string) string { return fmt.Sprintf("%s%s", base, s.name) }
	// Activations.
	mapKernel(s, name("gelu"), []string{"out"}, []string{"x"}, func(in []reg.VecVirtual) []reg.VecVirtual {
		x := in[0]
		cdf := s.normCDF(x, s.norm(x))
		VMULPS(x, cdf, cdf)
		return []reg.VecVirtual{cdf}
	})
	mapKernel(s, name("geluBackward"), []string{"dx"}, []string{"dout", "x"}, func(in []reg.VecVirtual) []reg.VecVirtual {
		dout, x := in[0], in[1]
		np := s.norm(x)
		cdf := s.normCDF(x, np)
		pdf := s.normPDF(np)
		VFMADD213PS(cdf, x, pdf) // pdf = x·pdf + cdf
		VMULPS(dout, pdf, pdf)
		return []reg.VecVirtual{pdf}
	})
	mapKernel(s, name("geluTanh"), []string{"out"}, []string{"x"}, func(in []reg.VecVirtual) []reg.VecVirtual {
		x := in[0]
		u2, _ := s.geluTanhArg(x, false)
		sig := s.sigmoid(u2)
		VMULPS(x, sig, sig)
		return []reg.VecVirtual{sig}
	})
	mapKernel(s, name("geluTanhBackward"), []string{"dx"}, []string{"dout", "x"}, func(in []reg.VecVirtual) []reg.VecVirtual {
		dout, x := in[0], in[1]
		u2, du2 := s.geluTanhArg(x, true)
		sig := s.sigmoid(u2)
		oneMinus := s.load("one")
		VSUBPS(sig, oneMinus, oneMinus) // 1-s
		t := s.vec()
		VMULPS(sig, x, t)      // x·s
		VMULPS(oneMinus, t, t) // x·s·(1-s)
		VFMADD213PS(sig, du2, t)
		VMULPS(dout, t, t)
		return []reg.VecVirtual{t}
	})
	mapKernel(s, name("swiglu"), []string{"out"}, []string{"gate", "up"}, func(in []reg.VecVirtual) []reg.VecVirtual {
		g, up := in[0], in[1]
		sig := s.sigmoid(g)
		VMULPS(g, sig, sig)
		VMULPS(up, sig, sig)
		return []reg.VecVirtual{sig}
	})
	mapKernel(s, name("swigluBackward"), []string{"dgate", "dup"}, []string{"dout", "gate", "up"}, func(in []reg.VecVirtual) []reg.VecVirtual {
		dout, g, up := in[0], in[1], in[2]
		sig := s.sigmoid(g)
		dup := s.vec()
		VMULPS(g, dout, dup)
		VMULPS(sig, dup, dup) // dout·g·s
		oneMinus := s.load("one")
		VSUBPS(sig, oneMinus, oneMinus)
		VMULPS(g, oneMinus, oneMinus)
		VADDPS(c("one"), oneMinus, oneMinus) // 1 + g(1-s)
		dg := s.vec()
		VMULPS(up, dout, dg)
		VMULPS(sig, dg, dg)
		VMULPS(oneMinus, dg, dg)
		return []reg.VecVirtual{dg, dup}
	})
	// Simple loops.
	mapKernel(s, name("add"), []string{"dst"}, []string{"dst", "x"}, func(in []reg.VecVirtual) []reg.VecVirtual {
		VADDPS(in[1], in[0], in[0])
		return in[:1]
	})
	scalarMap(s, name("scale"), "x", nil, func(sv, x reg.VecVirtual, _ []reg.VecVirtual) {
		VMULPS(sv, x, x)
	})
	scalarMap(s, name("axpy"), "y", []string{"x"}, func(av, y reg.VecVirtual, in []reg.VecVirtual) {
		VFMADD231PS(in[0], av, y)
	})
	// Reductions.
	dotKernel(s, name("dot"), true)
	dotKernel(s, name("sum"), false)
	maxKernel(s, name("max"))
	expShiftKernel(s, name("expShift"))
}

// pointers loads the named pointer parameters.
func pointers(names []string) map[string]reg.GPVirtual {
	m := map[string]reg.GPVirtual{}
	for _, n := range names {
		if _, ok := m[n]; !ok {
			m[n] = GP64()
			Load(Param(n), m[n])
		}
	}
	return m
}

// loop emits "for n > 0 { body; advance ptrs; n -= lanes }".
func loop(s isa, name string, n reg.GPVirtual, ptrs map[string]reg.GPVirtual, body func()) {
	Label(name + "_loop")
	TESTQ(n, n)
	JZ(LabelRef(name + "_done"))
	body()
	for _, p := range ptrs {
		ADDQ(U32(s.bytes()), p)
	}
	SUBQ(U32(s.lanes), n)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
}

func signature(params []string, scalar string, ret bool) string {
	sig := "func("
	seen := map[string]bool{}
	for _, p := range params {
		if !seen[p] {
			sig += p + " *float32, "
			seen[p] = true
		}
	}
	if scalar != "" {
		sig += scalar + " float32, "
	}
	sig += "n int)"
	if ret {
		sig += " float32"
	}
	return sig
}

// mapKernel emits out_i = f(in_i) over n elements.
func mapKernel(s isa, name string, outs, ins []string, f func(in []reg.VecVirtual) []reg.VecVirtual) {
	TEXT(name, NOSPLIT, signature(append(append([]string{}, outs...), ins...), "", false))
	ptrs := pointers(append(append([]string{}, outs...), ins...))
	n := GP64()
	Load(Param("n"), n)
	loop(s, name, n, ptrs, func() {
		in := make([]reg.VecVirtual, len(ins))
		for i, p := range ins {
			in[i] = s.vec()
			VMOVUPS(Mem{Base: ptrs[p]}, in[i])
		}
		for i, v := range f(in) {
			VMOVUPS(v, Mem{Base: ptrs[outs[i]]})
		}
	})
	VZEROUPPER()
	RET()
}

// scalarMap emits dst_i = f(a, dst_i, in_i) for a float32 parameter a.
func scalarMap(s isa, name, dst string, ins []string, f func(a, d reg.VecVirtual, in []reg.VecVirtual)) {
	scalar := "s"
	if len(ins) > 0 {
		scalar = "a"
	}
	TEXT(name, NOSPLIT, signature(append([]string{dst}, ins...), scalar, false))
	ptrs := pointers(append([]string{dst}, ins...))
	a := s.broadcastParam(scalar)
	n := GP64()
	Load(Param("n"), n)
	loop(s, name, n, ptrs, func() {
		d := s.vec()
		VMOVUPS(Mem{Base: ptrs[dst]}, d)
		in := make([]reg.VecVirtual, len(ins))
		for i, p := range ins {
			in[i] = s.vec()
			VMOVUPS(Mem{Base: ptrs[p]}, in[i])
		}
		f(a, d, in)
		VMOVUPS(d, Mem{Base: ptrs[dst]})
	})
	VZEROUPPER()
	RET()
}

func (s isa) broadcastParam(name string) reg.VecVirtual {
	x := XMM()
	Load(Param(name), x)
	v := s.vec()
	VBROADCASTSS(x, v)
	return v
}

// hreduce folds v's lanes in halves with op (VADDPS or VMAXPS) down to
// lane 0 and stores it as the float32 result.
func (s isa) hreduce(v reg.VecVirtual, op func(...Op)) {
	y := v
	if s.lanes == 16 {
		y = YMM()
		VEXTRACTF64X4(U8(1), v, y)
		op(y, v.AsY(), y)
	}
	x := XMM()
	VEXTRACTF128(U8(1), y, x)
	op(x, y.AsX(), x)
	t := XMM()
	VMOVHLPS(x, x, t)
	op(t, x, x)
	VMOVSHDUP(x, t)
	op(t, x, x)
	VZEROUPPER()
	Store(x, ReturnIndex(0))
	RET()
}

// dotKernel emits Σ a_i·b_i (or Σ a_i) with four accumulators: vector j of
// each group of four goes to accumulator j, a last partial group to
// accumulators 0, 1, 2; then (acc0+acc1)+(acc2+acc3) is folded in halves.
func dotKernel(s isa, name string, withB bool) {
	params := []string{"a"}
	if withB {
		params = append(params, "b")
	}
	if !withB {
		params = []string{"x"}
	}
	TEXT(name, NOSPLIT, signature(params, "", true))
	ptrs := pointers(params)
	n := GP64()
	Load(Param("n"), n)
	acc := []reg.VecVirtual{s.vec(), s.vec(), s.vec(), s.vec()}
	for _, a := range acc {
		VXORPS(a.AsY(), a.AsY(), a.AsY())
	}
	term := func(j, off int) {
		v := s.vec()
		VMOVUPS(Mem{Base: ptrs[params[0]], Disp: off}, v)
		if withB {
			VFMADD231PS(Mem{Base: ptrs["b"], Disp: off}, v, acc[j])
		} else {
			VADDPS(v, acc[j], acc[j])
		}
	}
	Label(name + "_loop4")
	CMPQ(n, U32(4*s.lanes))
	JL(LabelRef(name + "_rest"))
	for j := 0; j < 4; j++ {
		term(j, j*s.bytes())
	}
	for _, p := range ptrs {
		ADDQ(U32(4*s.bytes()), p)
	}
	SUBQ(U32(4*s.lanes), n)
	JMP(LabelRef(name + "_loop4"))
	Label(name + "_rest")
	for j := 0; j < 3; j++ {
		TESTQ(n, n)
		JZ(LabelRef(name + "_fold"))
		term(j, j*s.bytes())
		SUBQ(U32(s.lanes), n)
	}
	Label(name + "_fold")
	VADDPS(acc[1], acc[0], acc[0])
	VADDPS(acc[3], acc[2], acc[2])
	VADDPS(acc[2], acc[0], acc[0])
	s.hreduce(acc[0], VADDPS)
}

// maxKernel emits max_i x_i (n ≥ lanes).
func maxKernel(s isa, name string) {
	TEXT(name, NOSPLIT, signature([]string{"x"}, "", true))
	ptrs := pointers([]string{"x"})
	n := GP64()
	Load(Param("n"), n)
	m := s.load("negInf")
	loop(s, name, n, ptrs, func() {
		VMAXPS(Mem{Base: ptrs["x"]}, m, m)
	})
	s.hreduce(m, VMAXPS)
}

// expShiftKernel emits x_i = e^(x_i - m) and returns Σ x_i (one accumulator).
func expShiftKernel(s isa, name string) {
	TEXT(name, NOSPLIT, signature([]string{"x"}, "m", true))
	ptrs := pointers([]string{"x"})
	mv := s.broadcastParam("m")
	n := GP64()
	Load(Param("n"), n)
	acc := s.vec()
	VXORPS(acc.AsY(), acc.AsY(), acc.AsY())
	loop(s, name, n, ptrs, func() {
		v := s.vec()
		VMOVUPS(Mem{Base: ptrs["x"]}, v)
		VSUBPS(mv, v, v)
		e := s.exp(v, nil)
		VMOVUPS(e, Mem{Base: ptrs["x"]})
		VADDPS(e, acc, acc)
	})
	s.hreduce(acc, VADDPS)
}
