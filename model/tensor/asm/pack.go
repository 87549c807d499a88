package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// packTranspose generates the transposing pack of GEMM operands whose rows
// run along k: for `rows` (6 or 8) source rows with stride ld it writes, for
// each of blocks·8 steps p, the values of step p to dst[p*w : p*w+rows],
// with an in-register 8×8 transpose per block of 8 steps (AVX2). Missing
// rows transpose as zeros, and each step's store is 8 lanes wide: with
// rows = w = 6 the two extra lanes land on the next step's first two,
// which that step's store then overwrites, and the caller keeps the last
// step's store inside what it may write.
func packTranspose(rows int) {
	name := fmt.Sprintf("packTranspose%dAVX2", rows)
	TEXT(name, NOSPLIT, "func(dst, src *float32, ld, blocks, w int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s writes dst[p*w+r] = src[r*ld+p] for r < %d, p < 8·blocks, and zeros to dst[p*w+%d : p*w+8].", name, rows, rows))
	var (
		dst, src, ld, n, w = reg.RDI, reg.RSI, reg.RDX, reg.RCX, reg.RBX
		src3, src6         = reg.R8, reg.R9
		dst3, dst6         = reg.R10, reg.R11
	)
	Load(Param("dst"), dst)
	Load(Param("src"), src)
	Load(Param("ld"), ld)
	Load(Param("blocks"), n)
	Load(Param("w"), w)
	SHLQ(U8(2), ld)
	SHLQ(U8(2), w)
	w8 := reg.R12
	MOVQ(w, w8)
	SHLQ(U8(3), w8)
	// Rows 3 and 6 (and steps 3 and 6) start bases of their own so that
	// every row is base + {0, 1, 2, 4}·stride.
	LEAQ(Mem{Base: src, Index: ld, Scale: 2}, src3)
	ADDQ(ld, src3)
	LEAQ(Mem{Base: src3, Index: ld, Scale: 2}, src6)
	ADDQ(ld, src6)
	LEAQ(Mem{Base: dst, Index: w, Scale: 2}, dst3)
	ADDQ(w, dst3)
	LEAQ(Mem{Base: dst3, Index: w, Scale: 2}, dst6)
	ADDQ(w, dst6)
	at := func(i int, base, base3, base6, stride reg.Register) Mem {
		switch i {
		case 0:
			return Mem{Base: base}
		case 1:
			return Mem{Base: base, Index: stride, Scale: 1}
		case 2:
			return Mem{Base: base, Index: stride, Scale: 2}
		case 3:
			return Mem{Base: base3}
		case 4:
			return Mem{Base: base, Index: stride, Scale: 4}
		case 5:
			return Mem{Base: base3, Index: stride, Scale: 2}
		case 6:
			return Mem{Base: base6}
		}
		return Mem{Base: base3, Index: stride, Scale: 4}
	}
	y := []reg.VecPhysical{reg.Y0, reg.Y1, reg.Y2, reg.Y3, reg.Y4, reg.Y5, reg.Y6, reg.Y7,
		reg.Y8, reg.Y9, reg.Y10, reg.Y11, reg.Y12, reg.Y13, reg.Y14, reg.Y15}
	row, t := y[:8], y[8:]

	loop, done := name+"_loop", name+"_done"
	Label(loop)
	TESTQ(n, n)
	JZ(LabelRef(done))
	for r := 0; r < 8; r++ {
		if r < rows {
			VMOVUPS(at(r, src, src3, src6, ld), row[r])
		} else {
			VXORPS(row[r], row[r], row[r])
		}
	}
	// t[2i], t[2i+1]: rows 2i and 2i+1 interleaved (steps 0,1,4,5 / 2,3,6,7).
	for i := 0; i < 4; i++ {
		VUNPCKLPS(row[2*i+1], row[2*i], t[2*i])
		VUNPCKHPS(row[2*i+1], row[2*i], t[2*i+1])
	}
	// row[q], row[4+q]: four rows of step q (low lane) and q+4 (high lane),
	// for rows 0–3 and 4–7.
	for h := 0; h < 2; h++ {
		a, b := t[4*h], t[4*h+2]   // steps 0,1 | 4,5 of rows 4h..4h+3
		c, d := t[4*h+1], t[4*h+3] // steps 2,3 | 6,7
		VSHUFPS(U8(0x44), b, a, row[4*h+0])
		VSHUFPS(U8(0xEE), b, a, row[4*h+1])
		VSHUFPS(U8(0x44), d, c, row[4*h+2])
		VSHUFPS(U8(0xEE), d, c, row[4*h+3])
	}
	for q := 0; q < 4; q++ {
		VPERM2F128(U8(0x20), row[4+q], row[q], t[q])
		VPERM2F128(U8(0x31), row[4+q], row[q], t[4+q])
	}
	for p := 0; p < 8; p++ {
		VMOVUPS(t[p], at(p, dst, dst3, dst6, w))
	}
	for _, r := range []reg.Register{src, src3, src6} {
		ADDQ(U8(32), r)
	}
	for _, r := range []reg.Register{dst, dst3, dst6} {
		ADDQ(w8, r)
	}
	DECQ(n)
	JMP(LabelRef(loop))
	Label(done)
	VZEROUPPER()
	RET()
}

// packCopy generates the copying pack of GEMM operands whose k steps are
// rows: for each of kc steps p, it copies w floats of row p (stride ld)
// into each of `panels` panels, panel q's step p at dst[q*w*kc + p*w] from
// src[p*ld + q*w] (AVX2 moves; Go's copy of one panel row is a memmove call).
func packCopy(w int) {
	name := fmt.Sprintf("packCopy%dAVX2", w)
	TEXT(name, NOSPLIT, "func(dst, src *float32, ld, kc, panels int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s writes dst[q*%d*kc+p*%d+j] = src[p*ld+q*%d+j] for p < kc, q < panels, j < %d.", name, w, w, w, w))
	dst, src, ld, kc, panels := GP64(), GP64(), GP64(), GP64(), GP64()
	Load(Param("dst"), dst)
	Load(Param("src"), src)
	Load(Param("ld"), ld)
	Load(Param("kc"), kc)
	Load(Param("panels"), panels)
	SHLQ(U8(2), ld)
	pstride := GP64() // bytes between panels: w·kc floats
	MOVQ(kc, pstride)
	SHLQ(U8(2), pstride)
	IMUL3Q(U32(w), pstride, pstride)
	Label(name + "_steps")
	TESTQ(kc, kc)
	JZ(LabelRef(name + "_done"))
	s, d, q := GP64(), GP64(), GP64()
	MOVQ(src, s)
	MOVQ(dst, d)
	MOVQ(panels, q)
	Label(name + "_panels")
	TESTQ(q, q)
	JZ(LabelRef(name + "_next"))
	for j := 0; j < w/8; j++ {
		v := YMM()
		VMOVUPS(Mem{Base: s, Disp: 32 * j}, v)
		VMOVUPS(v, Mem{Base: d, Disp: 32 * j})
	}
	ADDQ(U32(4*w), s)
	ADDQ(pstride, d)
	DECQ(q)
	JMP(LabelRef(name + "_panels"))
	Label(name + "_next")
	ADDQ(ld, src)
	ADDQ(U32(4*w), dst)
	DECQ(kc)
	JMP(LabelRef(name + "_steps"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}
