package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// Vector versions of mathf.go's functions. Each returns a new register and
// leaves its arguments unchanged.

// load returns a register holding the named constant.
func (s isa) load(name string) reg.VecVirtual {
	v := s.vec()
	VMOVUPS(c(name), v)
	return v
}

// clamp returns x limited to [lo, hi]; NaN stays NaN (the NaN operand is
// the one MINPS/MAXPS return).
func (s isa) clamp(x reg.VecVirtual, lo, hi string) reg.VecVirtual {
	out := s.vec()
	VMINPS(x, s.load(hi), out)
	VMAXPS(out, s.load(lo), out)
	return out
}

// abs returns |x|.
func (s isa) abs(x reg.VecVirtual) reg.VecVirtual {
	out := s.vec()
	if s.lanes == 16 {
		VPANDD(c("absMask"), x, out)
	} else {
		VANDPS(c("absMask"), x, out)
	}
	return out
}

// negAbs returns -|x|.
func (s isa) negAbs(x reg.VecVirtual) reg.VecVirtual {
	out := s.vec()
	if s.lanes == 16 {
		VPORD(c("signMask"), x, out)
	} else {
		VORPS(c("signMask"), x, out)
	}
	return out
}

// selectNeg returns, per lane, neg where x's sign bit is set, else pos.
func (s isa) selectNeg(x, neg, pos reg.VecVirtual) reg.VecVirtual {
	out := s.vec()
	if s.lanes == 16 {
		k := K()
		VPTESTMD(c("signMask"), x, k)
		VBLENDMPS(neg, pos, k, out)
	} else {
		VBLENDVPS(x, neg, pos, out)
	}
	return out
}

// recip returns 1/x correctly rounded for 1 ≤ x < 2¹²⁶ (all its uses; the
// quotient is normal). AVX2 divides. AVX-512 refines VRCP14PS's estimate
// (relative error below 2⁻¹⁴) with two Newton steps y += y·(1 - x·y) in
// FMAs, cheaper than its division, which land on the correctly rounded
// quotient except where x's mantissa is all ones: there 1/x lies just above
// a midpoint and the last step, exactly on it, rounds down to even, so one
// ulp is added back (Markstein's exception). isa_amd64_test.go checks every
// x in [1, 2), whose behaviour repeats in every binade, so both instruction
// sets give the same bits.
func (s isa) recip(x reg.VecVirtual) reg.VecVirtual {
	if s.lanes != 16 {
		out := s.load("one")
		VDIVPS(x, out, out)
		return out
	}
	y := s.vec()
	VRCP14PS(x, y)
	for i := 0; i < 2; i++ {
		e := s.load("one")
		VFNMADD231PS(y, x, e) // e = 1 - x·y, exact
		VFMADD231PS(y, e, y)  // y = y + y·e
	}
	m, k := s.vec(), K()
	VPANDD(c("mantMask"), x, m)
	VPCMPEQD(c("mantMask"), m, k)
	VPADDD(c("i1"), y, k, y)
	return y
}

// exp returns e^(hi+lo) (lo may be nil for 0), as expSplit in mathf.go:
// Cody–Waite reduction of hi by n·ln2, n = round((hi+lo)·log2e), lo added
// to the reduced argument, Cephes polynomial, scaling by 2ⁿ.
func (s isa) exp(hi, lo reg.VecVirtual) reg.VecVirtual {
	h := s.clamp(hi, "expLo", "expHi")
	t := s.vec()
	if lo != nil {
		VADDPS(lo, h, t)
		VMULPS(c("log2e"), t, t)
	} else {
		VMULPS(c("log2e"), h, t)
	}
	n := s.vec()
	if s.lanes == 16 {
		VRNDSCALEPS(U8(0), t, n)
	} else {
		VROUNDPS(U8(0), t, n)
	}
	r := h
	VFNMADD231PS(c("ln2Hi"), n, r)
	VFNMADD231PS(c("ln2Lo"), n, r)
	if lo != nil {
		VADDPS(lo, r, r)
	}
	p := s.load("expC0")
	for _, k := range []string{"expC1", "expC2", "expC3", "expC4", "expC5"} {
		VFMADD213PS(c(k), r, p)
	}
	r2 := s.vec()
	VMULPS(r, r, r2)
	VFMADD213PS(r, r2, p)
	VADDPS(c("one"), p, p)
	out := s.vec()
	if s.lanes == 16 {
		VSCALEFPS(n, p, out)
		return out
	}
	// 2ⁿ as two normal factors 2^(n>>1)·2^(n-n>>1): n ∈ [-150, 129].
	ni, n1 := s.vec(), s.vec()
	VCVTPS2DQ(n, ni)
	VPSRAD(U8(1), ni, n1)
	VPSUBD(n1, ni, ni)
	VPADDD(c("i127"), n1, n1)
	VPADDD(c("i127"), ni, ni)
	VPSLLD(U8(23), n1, n1)
	VPSLLD(U8(23), ni, ni)
	VMULPS(n1, p, out)
	VMULPS(ni, out, out)
	return out
}

// sigmoid returns 1/(1+e⁻ˣ), as e^x/(1+e^x) for negative x.
func (s isa) sigmoid(x reg.VecVirtual) reg.VecVirtual {
	e := s.exp(s.negAbs(x), nil)
	d := s.vec()
	VADDPS(c("one"), e, d)
	sig := s.recip(d)
	VMULPS(sig, e, e)
	return s.selectNeg(x, e, sig)
}

// normParts holds what the normal CDF and PDF of x share: the clamped
// argument's -x²/2 as hi+lo.
type normParts struct {
	xc, negHalfSq, negHalfLo reg.VecVirtual
}

func (s isa) norm(x reg.VecVirtual) normParts {
	xc := s.clamp(x, "normClampNeg", "normClamp")
	sq, l := s.vec(), s.vec()
	VMULPS(xc, xc, sq)
	VMOVUPS(sq, l)
	VFMSUB231PS(xc, xc, l) // l = xc·xc - sq, exactly
	VMULPS(c("negHalf"), sq, sq)
	VMULPS(c("negHalf"), l, l)
	return normParts{xc, sq, l}
}

// normTail returns ½·erfc(|x|/√2) as normTail in mathf.go.
func (s isa) normTail(np normParts) reg.VecVirtual {
	z := s.abs(np.xc)
	VMULPS(c("invSqrt2"), z, z)
	VMULPS(c("half"), z, z)
	VADDPS(c("one"), z, z)
	t := s.recip(z)
	// P(t) by Estrin's scheme: pairs c_{2i}+c_{2i+1}·t combined with t², t⁴,
	// t⁸, a dependency chain of 5 operations instead of Horner's 9.
	pair := func(lo, hi string) reg.VecVirtual {
		v := s.load(hi)
		VFMADD213PS(c(lo), t, v)
		return v
	}
	t2, t4, t8 := s.vec(), s.vec(), s.vec()
	VMULPS(t, t, t2)
	VMULPS(t2, t2, t4)
	VMULPS(t4, t4, t8)
	p01, p23, p45, p67, p89 := pair("erfcP0", "erfcP1"), pair("erfcP2", "erfcP3"), pair("erfcP4", "erfcP5"), pair("erfcP6", "erfcP7"), pair("erfcP8", "erfcP9")
	VFMADD213PS(p01, t2, p23) // p03
	VFMADD213PS(p45, t2, p67) // p47
	VFMADD213PS(p23, t4, p67) // p07
	VFMADD213PS(p67, t8, p89) // P
	p := p89
	VADDPS(np.negHalfLo, p, p)
	e := s.exp(np.negHalfSq, p)
	VMULPS(c("half"), t, t)
	VMULPS(e, t, t)
	return t
}

// normCDF returns Φ(x).
func (s isa) normCDF(x reg.VecVirtual, np normParts) reg.VecVirtual {
	q := s.normTail(np)
	oneMinus := s.load("one")
	VSUBPS(q, oneMinus, oneMinus)
	return s.selectNeg(x, q, oneMinus)
}

// normPDF returns φ(x).
func (s isa) normPDF(np normParts) reg.VecVirtual {
	e := s.exp(np.negHalfSq, np.negHalfLo)
	VMULPS(c("invSqrt2Pi"), e, e)
	return e
}

// geluTanhArg returns 2u = c2·x·(1+a·x²) and, if want, d(2u)/dx = c2·(1+3a·x²).
func (s isa) geluTanhArg(x reg.VecVirtual, want bool) (u2, du2 reg.VecVirtual) {
	x2 := s.vec()
	VMULPS(x, x, x2)
	u2 = s.load("geluTanhA")
	VFMADD213PS(c("one"), x2, u2)
	cx := s.vec()
	VMULPS(c("geluTanhC2"), x, cx)
	VMULPS(cx, u2, u2)
	if want {
		du2 = s.load("geluTanhA3")
		VFMADD213PS(c("one"), x2, du2)
		VMULPS(c("geluTanhC2"), du2, du2)
	}
	return u2, du2
}
