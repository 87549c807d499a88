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

// maxT folds v's active lanes into acc with VMAXPS.
func (s isa) maxT(v, acc reg.VecVirtual, t *tail) {
	switch {
	case t == nil:
		VMAXPS(v, acc, acc)
	case s.lanes == 16:
		VMAXPS(v, acc, t.k, acc)
	default:
		m := s.load("negInf")
		VBLENDVPS(t.v, v, m, m) // active lanes from v
		VMAXPS(m, acc, acc)
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
