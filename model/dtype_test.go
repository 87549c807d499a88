package model

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// f16Value is an independent decoding of binary16 bits from the format's
// definition.
func f16Value(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e, m := int(h>>10)&0x1f, float64(h&0x3ff)
	switch {
	case e == 0x1f && m == 0:
		return sign * math.Inf(1)
	case e == 0x1f:
		return math.NaN()
	case e == 0:
		return sign * m * math.Pow(2, -24)
	}
	return sign * (1 + m/1024) * math.Pow(2, float64(e-15))
}

// Every binary16 and bfloat16 value widens exactly and narrows back to the
// same bits (NaN payloads included), which is what makes F16 and BF16
// saves byte-identical.
func TestHalfPrecisionRoundTripExhaustive(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := f16ToF32(h)
		if want := f16Value(h); !(float64(f) == want || (math.IsNaN(want) && f != f)) {
			t.Fatalf("f16 %#04x widens to %g, want %g", h, f, want)
		}
		if back := f32ToF16(f); back != h {
			t.Fatalf("f16 %#04x → %g → %#04x", h, f, back)
		}
		if want := math.Float32frombits(uint32(h) << 16); math.Float32bits(bf16ToF32(h)) != math.Float32bits(want) {
			t.Fatalf("bf16 %#04x widens wrongly", h)
		}
		if back := f32ToBF16(bf16ToF32(h)); back != h {
			t.Fatalf("bf16 %#04x → %#04x", h, back)
		}
	}
}

// nearestEven rounds x to the nearest of the sorted finite values vals
// (ties to the one with an even bit pattern), by search: an independent
// statement of round-to-nearest-even.
func nearestEven(x float64, vals []float64, bits []uint16, overflow float64, inf uint16) uint16 {
	sign := uint16(0)
	if math.Signbit(x) {
		sign, x = 0x8000, -x
	}
	if x >= overflow {
		return sign | inf
	}
	i := sort.SearchFloat64s(vals, x)
	if i < len(vals) && vals[i] == x {
		return sign | bits[i]
	}
	lo, hi := i-1, i
	if hi == len(vals) {
		return sign | bits[lo]
	}
	dl, dh := x-vals[lo], vals[hi]-x
	switch {
	case dl < dh:
		return sign | bits[lo]
	case dh < dl:
		return sign | bits[hi]
	case bits[lo]&1 == 0:
		return sign | bits[lo]
	}
	return sign | bits[hi]
}

func TestNarrowingRoundsToNearestEven(t *testing.T) {
	var f16v, bf16v []float64
	var f16b, bf16b []uint16
	for h := uint16(0); h < 0x7c00; h++ { // non-negative finite binary16
		f16v, f16b = append(f16v, f16Value(h)), append(f16b, h)
	}
	for h := uint16(0); h < 0x7f80; h++ { // non-negative finite bfloat16
		bf16v, bf16b = append(bf16v, float64(bf16ToF32(h))), append(bf16b, h)
	}
	// Overflow thresholds: halfway between the largest finite value and
	// the next power of two rounds (to even) up to infinity.
	f16Over, bf16Over := 65520.0, float64(math.Float32frombits(0x7f7f8000))
	rng := rand.New(rand.NewPCG(1, 1))
	xs := []float32{0, 65504, 65519.99, 65520, 1e-8, float32(math.Pow(2, -24)), float32(math.Pow(2, -25)),
		float32(3 * math.Pow(2, -26)), float32(math.Pow(2, -14)), 1 + 1.0/2048, 1 + 3.0/2048, math.MaxFloat32, 3.3895314e38}
	for range 200000 {
		xs = append(xs, math.Float32frombits(rng.Uint32()&0x7fffffff))
		xs = append(xs, float32(rng.NormFloat64()*math.Pow(2, float64(rng.IntN(40)-25))))
	}
	for _, x := range xs {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			continue
		}
		for _, v := range []float32{x, -x} {
			if got, want := f32ToF16(v), nearestEven(float64(v), f16v, f16b, f16Over, 0x7c00); got != want {
				t.Fatalf("f16(%g): %#04x, want %#04x", v, got, want)
			}
			if got, want := f32ToBF16(v), nearestEven(float64(v), bf16v, bf16b, bf16Over, 0x7f80); got != want {
				t.Fatalf("bf16(%g): %#04x, want %#04x", v, got, want)
			}
		}
	}
	if h := f32ToF16(float32(math.NaN())); h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
		t.Errorf("f16(NaN) = %#04x, not a NaN", h)
	}
	if h := f32ToBF16(math.Float32frombits(0x7f800001)); h&0x7f80 != 0x7f80 || h&0x7f == 0 {
		t.Errorf("bf16(NaN with low payload) = %#04x, not a NaN", h)
	}
}
