package tensor

import "math"

// Float32 approximations of exp, the normal CDF, tanh and the logistic
// sigmoid. They are the portable definitions of what the SIMD kernels
// compute (the same range reductions and polynomials, evaluated there with
// fused multiply-adds), accurate to a few float32 ulps in relative terms
// over the whole float32 range, tails included, and with IEEE behaviour for
// NaN and ±Inf.

const (
	log2e = 1.44269504088896341
	// ln 2 split for Cody–Waite reduction: n·ln2Hi is exact for |n| < 2¹⁵.
	ln2Hi = 0.693359375
	ln2Lo = -2.12194440e-4
	// e^x overflows float32 above expHi and is 0 below expLo.
	expHi = 89.0
	expLo = -104.0
	// Cephes expf minimax coefficients for e^r on |r| ≤ ln2/2.
	expC0 = 1.9875691500e-4
	expC1 = 1.3981999507e-3
	expC2 = 8.3334519073e-3
	expC3 = 4.1665795894e-2
	expC4 = 1.6666665459e-1
	expC5 = 5.0000001201e-1
)

// expSplit returns e^(hi+lo) where lo is small (|lo| ≲ 2) and carries
// bits that hi cannot: the reduction is done on hi exactly and lo is added
// to the reduced argument, so hi+lo need not be representable.
func expSplit(hi, lo float32) float32 {
	switch {
	case hi != hi || lo != lo:
		return float32(math.NaN())
	case hi > expHi:
		return float32(math.Inf(1))
	case hi < expLo:
		return 0
	}
	// Round to nearest even by adding and removing 1.5·2²³ (exact for the
	// |t| < 2²² here; math.RoundToEven is a slow call on baseline amd64).
	const roundMagic = 0x1.8p23
	t := (hi + lo) * log2e
	n := (t + roundMagic) - roundMagic
	r := hi - n*ln2Hi
	r -= n * ln2Lo
	r += lo
	p := ((((expC0*r+expC1)*r+expC2)*r+expC3)*r+expC4)*r + expC5
	p = p*r*r + r + 1
	return ldexpf(p, int(n))
}

// ldexpf returns p·2ⁿ rounded once to float32.
func ldexpf(p float32, n int) float32 {
	if n > -126 && n < 128 {
		return p * math.Float32frombits(uint32(n+127)<<23)
	}
	return float32(math.Ldexp(float64(p), n))
}

// absf returns |x|.
func absf(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }

// expf returns eˣ.
func expf(x float32) float32 { return expSplit(x, 0) }

// sigmoidf returns 1/(1+e⁻ˣ), as e^x/(1+e^x) for negative x so that the
// result stays accurate where it is tiny.
func sigmoidf(x float32) float32 {
	e := expf(-absf(x))
	s := 1 / (1 + e)
	if x < 0 {
		return e * s
	}
	return s
}

// Numerical Recipes' erfc approximation, erfc(z) ≈ t·exp(-z² + P(t)) with
// t = 1/(1+z/2), relative error < 1.2e-7 for all z ≥ 0.
const (
	erfcP0 = -1.26551223
	erfcP1 = 1.00002368
	erfcP2 = 0.37409196
	erfcP3 = 0.09678418
	erfcP4 = -0.18628806
	erfcP5 = 0.27886807
	erfcP6 = -1.13520398
	erfcP7 = 1.48851587
	erfcP8 = -0.82215223
	erfcP9 = 0.17087277

	invSqrt2   = 0.70710678118654752
	invSqrt2Pi = 0.39894228040143268
)

// normClamp bounds arguments of the normal CDF and PDF: beyond ±20 both
// tails are below the smallest float32. NaN stays NaN.
const normClamp = 20

// normTail returns ½·erfc(|x|/√2), the probability of a standard normal
// beyond |x|, with relative accuracy far into the tail: -x²/2 enters the
// exponent as an exact hi+lo pair.
func normTail(x float32) float32 {
	x = max(-normClamp, min(normClamp, x))
	ax := absf(x)
	t := 1 / (1 + 0.5*(ax*invSqrt2))
	p := erfcP8 + t*erfcP9
	p = erfcP7 + t*p
	p = erfcP6 + t*p
	p = erfcP5 + t*p
	p = erfcP4 + t*p
	p = erfcP3 + t*p
	p = erfcP2 + t*p
	p = erfcP1 + t*p
	p = erfcP0 + t*p
	hi, lo := halfSquare(x)
	return 0.5 * t * expSplit(-hi, p-lo)
}

// halfSquare returns x²/2 as hi+lo exactly (hi is the float32 product).
func halfSquare(x float32) (hi, lo float32) {
	sq := x * x
	return 0.5 * sq, 0.5 * float32(float64(x)*float64(x)-float64(sq))
}

// normCDF returns Φ(x), the standard normal CDF.
func normCDF(x float32) float32 {
	q := normTail(x)
	if x < 0 {
		return q
	}
	return 1 - q
}

// normPDF returns φ(x) = e^(-x²/2)/√(2π).
func normPDF(x float32) float32 {
	x = max(-normClamp, min(normClamp, x))
	hi, lo := halfSquare(x)
	return invSqrt2Pi * expSplit(-hi, -lo)
}

// Cephes tanhf coefficients: tanh(x) ≈ x + x³·P(x²) for |x| < 0.625.
const (
	tanhSmall = 0.625
	tanhP0    = -5.70498872745e-3
	tanhP1    = 2.06390887954e-2
	tanhP2    = -5.37397155531e-2
	tanhP3    = 1.33314422036e-1
	tanhP4    = -3.33332819422e-1
)

// tanhf returns tanh(x).
func tanhf(x float32) float32 {
	ax := absf(x)
	if ax < tanhSmall {
		z := x * x
		p := (((tanhP0*z+tanhP1)*z+tanhP2)*z+tanhP3)*z + tanhP4
		return x + x*z*p
	}
	t := 1 - 2/(expf(2*ax)+1)
	if x < 0 {
		return -t
	}
	return t
}
