package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// Elementwise and reduction kernels over n floats. Whole vectors go through
// the loop body; a last partial vector goes through the same body with
// masked loads, stores and sums (see tail.go), so an element's result does
// not depend on its position and no Go-side padding is needed.

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
	// The reciprocal the activations use, for tests.
	mapKernel(s, name("recip"), []string{"out"}, []string{"x"}, func(in []reg.VecVirtual) []reg.VecVirtual {
		return []reg.VecVirtual{s.recip(in[0])}
	})
	// Simple loops.
	mapKernel(s, name("add"), []string{"dst"}, []string{"dst", "x"}, func(in []reg.VecVirtual) []reg.VecVirtual {
		VADDPS(in[1], in[0], in[0])
		return in[:1]
	})
	kspec{name: name("scale"), outs: []string{"x"}, ins: []string{"x"}, scalars: []string{"s"},
		body: func(in, sc map[string]reg.VecVirtual) (map[string]reg.VecVirtual, []reg.VecVirtual) {
			VMULPS(sc["s"], in["x"], in["x"])
			return map[string]reg.VecVirtual{"x": in["x"]}, nil
		}}.gen(s)
	kspec{name: name("axpy"), outs: []string{"y"}, ins: []string{"y", "x"}, scalars: []string{"a"},
		body: func(in, sc map[string]reg.VecVirtual) (map[string]reg.VecVirtual, []reg.VecVirtual) {
			VFMADD231PS(in["x"], sc["a"], in["y"])
			return map[string]reg.VecVirtual{"y": in["y"]}, nil
		}}.gen(s)
	// Reductions.
	dotKernel(s, name("dot"))
	kspec{name: name("sum"), ins: []string{"x"}, sums: 1,
		body: func(in, _ map[string]reg.VecVirtual) (map[string]reg.VecVirtual, []reg.VecVirtual) {
			return nil, []reg.VecVirtual{in["x"]}
		}}.gen(s)
	maxKernel(s, name("max"))
	// Softmax's middle pass: x = e^(x-m), returning Σx.
	kspec{name: name("expShift"), outs: []string{"x"}, ins: []string{"x"}, scalars: []string{"m"}, sums: 1,
		body: func(in, sc map[string]reg.VecVirtual) (map[string]reg.VecVirtual, []reg.VecVirtual) {
			VSUBPS(sc["m"], in["x"], in["x"])
			e := s.exp(in["x"], nil)
			return map[string]reg.VecVirtual{"x": e}, []reg.VecVirtual{e}
		}}.gen(s)
}

// kspec describes a one-pass loop kernel over n floats.
type kspec struct {
	name    string
	outs    []string // pointers written, not read
	ins     []string // pointers read; a name also in outs is updated in place
	scalars []string // float32 parameters, broadcast to every lane
	sums    int      // float32 results, each a per-lane sum folded at the end
	// body returns the vectors to store, by pointer name, and the vectors to
	// add to each sum.
	body func(in, sc map[string]reg.VecVirtual) (out map[string]reg.VecVirtual, add []reg.VecVirtual)
}

func (k kspec) signature() string {
	sig := "func("
	seen := map[string]bool{}
	for _, p := range append(append([]string{}, k.outs...), k.ins...) {
		if !seen[p] {
			sig += p + " *float32, "
			seen[p] = true
		}
	}
	for _, sc := range k.scalars {
		sig += sc + " float32, "
	}
	sig += "n int)"
	switch k.sums {
	case 0:
	case 1:
		sig += " float32"
	default:
		sig += " ("
		for i := 0; i < k.sums; i++ {
			if i > 0 {
				sig += ", "
			}
			sig += "float32"
		}
		sig += ")"
	}
	return sig
}

// gen emits the kernel: for n > 0 { load; body; store; advance; n -= lanes }.
func (k kspec) gen(s isa) {
	TEXT(k.name, NOSPLIT, k.signature())
	Pragma("noescape")
	ptrs := map[string]reg.GPVirtual{}
	var order []string
	for _, p := range append(append([]string{}, k.outs...), k.ins...) {
		if _, ok := ptrs[p]; !ok {
			ptrs[p] = GP64()
			Load(Param(p), ptrs[p])
			order = append(order, p)
		}
	}
	sc := map[string]reg.VecVirtual{}
	for _, name := range k.scalars {
		sc[name] = s.broadcastParam(name)
	}
	acc := make([][]reg.VecVirtual, k.sums)
	for i := range acc {
		acc[i] = s.vec16()
		for _, a := range acc[i] {
			VXORPS(a.AsY(), a.AsY(), a.AsY())
		}
	}
	n := GP64()
	Load(Param("n"), n)
	advance := func(bytes int) {
		for _, p := range order {
			ADDQ(U32(bytes), ptrs[p])
		}
	}
	body := func(h, disp int, t *tail) {
		in := map[string]reg.VecVirtual{}
		for _, p := range k.ins {
			in[p] = s.loadT(Mem{Base: ptrs[p], Disp: disp}, t)
		}
		out, add := k.body(in, sc)
		for _, name := range k.outs {
			s.storeT(out[name], Mem{Base: ptrs[name], Disp: disp}, t)
		}
		for i, v := range add {
			s.addT(v, acc[i][h], t)
		}
	}
	if k.sums == 0 {
		// An element's result does not depend on its position: whole
		// registers.
		s.vloop(k.name, n, advance, func(t *tail) { body(0, 0, t) })
	} else {
		s.vloop16(k.name, n, advance, body)
	}
	for i, a := range acc {
		s.hreduce(s.fold16(a, VADDPS), VADDPS, i)
	}
	VZEROUPPER()
	RET()
}

// mapKernel emits outs_i = f(ins_i) over n elements.
func mapKernel(s isa, name string, outs, ins []string, f func(in []reg.VecVirtual) []reg.VecVirtual) {
	kspec{name: name, outs: outs, ins: ins, body: func(in, _ map[string]reg.VecVirtual) (map[string]reg.VecVirtual, []reg.VecVirtual) {
		args := make([]reg.VecVirtual, len(ins))
		for i, p := range ins {
			args[i] = in[p]
		}
		res := map[string]reg.VecVirtual{}
		for i, v := range f(args) {
			res[outs[i]] = v
		}
		return res, nil
	}}.gen(s)
}

func (s isa) broadcastParam(name string) reg.VecVirtual {
	x := XMM()
	Load(Param(name), x)
	v := s.vec()
	VBROADCASTSS(x, v)
	return v
}

// hreduce folds v's lanes in halves with op (VADDPS or VMAXPS) down to
// lane 0 and stores it as float32 result number ret.
func (s isa) hreduce(v reg.VecVirtual, op func(...Op), ret int) {
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
	Store(x, ReturnIndex(ret))
}

// dotKernel emits Σ a_i·b_i with four accumulators of sumLanes partials:
// virtual vector j (sumLanes elements) of each group of four goes to
// accumulator j, the whole virtual vectors of a last partial group to
// accumulators 0, 1, 2 and a partial last one (zeros past the end) to
// accumulator 3; then (acc0+acc1)+(acc2+acc3) is folded in halves. The
// order is the same on AVX-512 and AVX2, and so are the bits.
func dotKernel(s isa, name string) {
	TEXT(name, NOSPLIT, "func(a, b *float32, n int) float32")
	Pragma("noescape")
	pa, pb, n := GP64(), GP64(), GP64()
	Load(Param("a"), pa)
	Load(Param("b"), pb)
	Load(Param("n"), n)
	var acc [4][]reg.VecVirtual
	for j := range acc {
		acc[j] = s.vec16()
		for _, a := range acc[j] {
			VXORPS(a.AsY(), a.AsY(), a.AsY())
		}
	}
	term := func(j, h, off int, t *tail) {
		v := s.loadT(Mem{Base: pa, Disp: off}, t)
		w := s.loadT(Mem{Base: pb, Disp: off}, t)
		VFMADD231PS(w, v, acc[j][h])
	}
	// whole runs virtual vector j at byte offset off.
	whole := func(j, off int) {
		for h := range acc[j] {
			term(j, h, off+h*s.bytes(), nil)
		}
	}
	advance := func(bytes int) {
		ADDQ(U32(bytes), pa)
		ADDQ(U32(bytes), pb)
	}
	const vbytes = 4 * sumLanes
	Label(name + "_loop4")
	CMPQ(n, U32(4*sumLanes))
	JB(LabelRef(name + "_rest"))
	for j := 0; j < 4; j++ {
		whole(j, j*vbytes)
	}
	advance(4 * vbytes)
	SUBQ(U32(4*sumLanes), n)
	JMP(LabelRef(name + "_loop4"))
	Label(name + "_rest")
	for j := 0; j < 3; j++ {
		CMPQ(n, U32(sumLanes))
		JB(LabelRef(name + "_tail"))
		whole(j, 0)
		advance(vbytes)
		SUBQ(U32(sumLanes), n)
	}
	Label(name + "_tail")
	if s.halves() == 1 {
		TESTQ(n, n)
		JZ(LabelRef(name + "_done"))
		term(3, 0, 0, s.makeTail(n))
	} else {
		s.tail16(name, n, func(h, disp int, t *tail) { term(3, h, disp, t) })
	}
	Label(name + "_done")
	for h := range acc[0] {
		VADDPS(acc[1][h], acc[0][h], acc[0][h])
		VADDPS(acc[3][h], acc[2][h], acc[2][h])
		VADDPS(acc[2][h], acc[0][h], acc[0][h])
	}
	s.hreduce(s.fold16(acc[0], VADDPS), VADDPS, 0)
	VZEROUPPER()
	RET()
}

// maxKernel emits max_i x_i (-Inf for n = 0) over sumLanes partial maxima.
func maxKernel(s isa, name string) {
	TEXT(name, NOSPLIT, "func(x *float32, n int) float32")
	Pragma("noescape")
	px, n := GP64(), GP64()
	Load(Param("x"), px)
	Load(Param("n"), n)
	m := s.vec16()
	for _, v := range m {
		VMOVUPS(c("negInf"), v)
	}
	s.vloop16(name, n, func(bytes int) { ADDQ(U32(bytes), px) }, func(h, disp int, t *tail) {
		s.maxT(s.loadT(Mem{Base: px, Disp: disp}, t), m[h], t)
	})
	s.hreduce(s.fold16(m, VMAXPS), VMAXPS, 0)
	VZEROUPPER()
	RET()
}
