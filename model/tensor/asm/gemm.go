package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// GEMM micro-kernels. A kernel multiplies a packed A panel (kc steps of mr
// values, a[p*mr+r]) by a packed B panel (kc steps of nr values, b[p*nr+j])
// into an mr×nr tile of C with row stride ldc:
//
//	C[r][j] = (load ? C[r][j] : 0) + Σ_p a[p*mr+r]·b[p*nr+j]
//
// accumulating in registers with one fused multiply-add per p in order, so
// each element's summation order is fixed by p alone.

// gemmKernels generates the kernels the tensor package selects from.
func gemmKernels() {
	// 8×32 measured best on Zen 5 among 8×32, 12×32, 14×32 and 8×48: it
	// packs A with whole 8×8 transposes and wastes least on edges; 6×16
	// fills AVX2's 16 registers (12 accumulators, 2 B rows, 1 broadcast).
	gemmKernel(avx512, 8, 2)
	gemmKernel(avx2, 6, 2)
}

// gemmKernel generates an mr×(v·lanes) kernel: mr·v accumulators, v
// registers for a row of the B panel and one for the broadcast A value.
func gemmKernel(s isa, mr, v int) {
	nr := v * s.lanes
	vbytes := 4 * s.lanes
	if mr*v+v+1 > len(s.regs) {
		panic(fmt.Sprintf("gemm %s %dx%d needs more than %d registers", s.name, mr, nr, len(s.regs)))
	}
	name := fmt.Sprintf("gemm%s_%dx%d", s.name, mr, nr)
	TEXT(name, NOSPLIT, "func(kc int, a, b, c *float32, ldc int, load int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes an %d×%d tile of C from packed panels (see gemm.go).", name, mr, nr))
	var (
		kc, pa, pb, pc, ldc = reg.RCX, reg.RAX, reg.RBX, reg.RDI, reg.RSI
	)
	Load(Param("kc"), kc)
	Load(Param("a"), pa)
	Load(Param("b"), pb)
	Load(Param("c"), pc)
	Load(Param("ldc"), ldc)
	SHLQ(U8(2), ldc)
	// Bring the C tile towards L1 while the k loop runs: it is read (when
	// accumulating) and written only at the end.
	t := reg.RDX
	MOVQ(pc, t)
	for r := 0; r < mr; r++ {
		for off := 0; off < nr*4; off += 64 {
			PREFETCHT0(Mem{Base: t, Disp: off})
		}
		ADDQ(ldc, t)
	}

	acc := func(r, j int) reg.VecPhysical { return s.regs[r*v+j] }
	brow := func(j int) reg.VecPhysical { return s.regs[mr*v+j] }
	bcast := s.regs[mr*v+v]
	for i := 0; i < mr*v; i++ {
		VXORPS(s.regs[i], s.regs[i], s.regs[i])
	}
	step := func(aoff, boff int) {
		for j := 0; j < v; j++ {
			VMOVUPS(Mem{Base: pb, Disp: boff + vbytes*j}, brow(j))
		}
		for r := 0; r < mr; r++ {
			VBROADCASTSS(Mem{Base: pa, Disp: aoff + 4*r}, bcast)
			for j := 0; j < v; j++ {
				VFMADD231PS(bcast, brow(j), acc(r, j))
			}
		}
	}

	const unroll = 4
	Label(name + "_loop")
	CMPQ(kc, U8(unroll))
	JL(LabelRef(name + "_tail"))
	for u := 0; u < unroll; u++ {
		step(u*mr*4, u*nr*4)
	}
	ADDQ(U32(unroll*mr*4), pa)
	ADDQ(U32(unroll*nr*4), pb)
	SUBQ(U8(unroll), kc)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_tail")
	TESTQ(kc, kc)
	JZ(LabelRef(name + "_store"))
	step(0, 0)
	ADDQ(U32(mr*4), pa)
	ADDQ(U32(nr*4), pb)
	DECQ(kc)
	JMP(LabelRef(name + "_tail"))

	Label(name + "_store")
	load := reg.RDX
	Load(Param("load"), load)
	TESTQ(load, load)
	JZ(LabelRef(name + "_overwrite"))
	for r := 0; r < mr; r++ {
		for j := 0; j < v; j++ {
			m := Mem{Base: pc, Disp: vbytes * j}
			VADDPS(m, acc(r, j), acc(r, j))
			VMOVUPS(acc(r, j), m)
		}
		ADDQ(ldc, pc)
	}
	VZEROUPPER()
	RET()

	Label(name + "_overwrite")
	for r := 0; r < mr; r++ {
		for j := 0; j < v; j++ {
			VMOVUPS(acc(r, j), Mem{Base: pc, Disp: vbytes * j})
		}
		ADDQ(ldc, pc)
	}
	VZEROUPPER()
	RET()
}
