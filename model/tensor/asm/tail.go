package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// lanes selects whole-vector or masked access for a loop body. A nil
// *tail means a whole vector; otherwise only the first n lanes are read
// (the others load as zero) and written, and only they enter sums.
type tail struct {
	k reg.OpmaskVirtual // AVX-512
	v reg.VecVirtual    // AVX2: all-ones lanes where active
}

// makeTail builds the mask of the first n lanes (0 < n < lanes).
func (s isa) makeTail(n reg.GPVirtual) *tail {
	if s.lanes == 16 {
		ones, bits := GP64(), GP64()
		MOVQ(U32(1), ones)
		SHLXQ(n, ones, bits) // 1<<n
		DECQ(bits)
		k := K()
		KMOVW(bits.As32(), k)
		return &tail{k: k}
	}
	x := XMM()
	MOVQ(n, x)
	b := s.vec()
	VPBROADCASTD(x, b)
	VPCMPGTD(c("iota"), b, b) // n > lane index
	return &tail{v: b}
}

func (s isa) loadT(m Mem, t *tail) reg.VecVirtual {
	v := s.vec()
	switch {
	case t == nil:
		VMOVUPS(m, v)
	case s.lanes == 16:
		VMOVUPS_Z(m, t.k, v)
	default:
		VMASKMOVPS(m, t.v, v)
	}
	return v
}

func (s isa) storeT(v reg.VecVirtual, m Mem, t *tail) {
	switch {
	case t == nil:
		VMOVUPS(v, m)
	case s.lanes == 16:
		VMOVUPS(v, t.k, m)
	default:
		VMASKMOVPS(v, t.v, m)
	}
}

// addT adds v's active lanes to acc.
func (s isa) addT(v, acc reg.VecVirtual, t *tail) {
	switch {
	case t == nil:
		VADDPS(v, acc, acc)
	case s.lanes == 16:
		VADDPS(v, acc, t.k, acc)
	default:
		m := s.vec()
		VANDPS(t.v, v, m)
		VADDPS(m, acc, acc)
	}
}

// maxT folds v's active lanes into acc with VMAXPS; inactive lanes of acc
// stay exactly as they were (NaN included) on both instruction sets.
func (s isa) maxT(v, acc reg.VecVirtual, t *tail) {
	switch {
	case t == nil:
		VMAXPS(v, acc, acc)
	case s.lanes == 16:
		VMAXPS(v, acc, t.k, acc)
	default:
		m := s.vec()
		VMAXPS(v, acc, m)
		VBLENDVPS(t.v, m, acc, acc) // active lanes from m
	}
}

// vloop emits "for n ≥ lanes { body(nil); advance; n -= lanes }" and then,
// if 0 < n, body with the tail mask; advance adds a byte offset to the
// pointers.
func (s isa) vloop(name string, n reg.GPVirtual, advance func(bytes int), body func(t *tail)) {
	Label(name + "_loop")
	CMPQ(n, U32(s.lanes))
	JB(LabelRef(name + "_tail"))
	body(nil)
	advance(s.bytes())
	SUBQ(U32(s.lanes), n)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_tail")
	TESTQ(n, n)
	JZ(LabelRef(name + "_done"))
	body(s.makeTail(n))
	Label(name + "_done")
}

// Reductions keep sumLanes partial results whatever the vector width:
// element i goes to partial i%16, in order. AVX-512 holds them in one
// register; AVX2 in two (lanes 0–7 and 8–15), and folds the pair first,
// as AVX-512 folds its register's halves. So a reduction gives the same
// bits on both instruction sets.
const sumLanes = 16

// halves is the number of registers that hold sumLanes partials.
func (s isa) halves() int { return sumLanes / s.lanes }

// vec16 returns new registers for sumLanes partials.
func (s isa) vec16() []reg.VecVirtual {
	v := make([]reg.VecVirtual, s.halves())
	for i := range v {
		v[i] = s.vec()
	}
	return v
}

// vloop16 is vloop over virtual vectors of sumLanes elements: body(h, disp,
// t) handles register h (elements h·lanes … h·lanes+lanes-1 of the virtual
// vector) at byte offset disp from the pointers, masked by t when the
// vector is partial. Register h of every virtual vector sees the same
// elements on both instruction sets.
func (s isa) vloop16(name string, n reg.GPVirtual, advance func(bytes int), body func(h, disp int, t *tail)) {
	if s.halves() == 1 {
		s.vloop(name, n, advance, func(t *tail) { body(0, 0, t) })
		return
	}
	Label(name + "_loop")
	CMPQ(n, U32(sumLanes))
	JB(LabelRef(name + "_tail"))
	body(0, 0, nil)
	body(1, s.bytes(), nil)
	advance(4 * sumLanes)
	SUBQ(U32(sumLanes), n)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_tail")
	s.tail16(name, n, body)
	Label(name + "_done")
}

// tail16 emits the last partial virtual vector (0 ≤ n < sumLanes) for two
// halves, jumping to name_done when finished: a whole low half and a
// masked high one, or a masked low half.
func (s isa) tail16(name string, n reg.GPVirtual, body func(h, disp int, t *tail)) {
	TESTQ(n, n)
	JZ(LabelRef(name + "_done"))
	CMPQ(n, U32(s.lanes))
	JB(LabelRef(name + "_low"))
	body(0, 0, nil)
	SUBQ(U32(s.lanes), n)
	JZ(LabelRef(name + "_done"))
	body(1, s.bytes(), s.makeTail(n))
	JMP(LabelRef(name + "_done"))
	Label(name + "_low")
	body(0, 0, s.makeTail(n))
}

// fold16 combines the registers of sumLanes partials into the first with
// op, as the first step of an AVX-512 fold (low half op high half).
func (s isa) fold16(v []reg.VecVirtual, op func(...Op)) reg.VecVirtual {
	if len(v) == 2 {
		op(v[1], v[0], v[0])
	}
	return v[0]
}
