//go:build !purego

package tensor

import (
	"math"
	"testing"

	"golang.org/x/sys/cpu"
)

// The activations' reciprocal is the correctly rounded quotient on both
// instruction sets (AVX-512 refines VRCP14PS with two Newton steps, AVX2
// divides), for every float32 in [1, 2) and, as 1/(x·2ᵏ) = (1/x)·2⁻ᵏ, for
// the binades above with normal quotients: a sample of them is checked
// too, with the all-ones mantissas of every binade.
func TestRecipCorrectlyRounded(t *testing.T) {
	if !cpu.X86.HasAVX512F || !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		t.Skip("needs a CPU with both AVX-512 and AVX2")
	}
	const n = 1 << 23
	x := make([]float32, n, n+4096)
	for i := range x {
		x[i] = math.Float32frombits(0x3f800000 + uint32(i)) // [1, 2)
	}
	for k := 1; k < 64; k++ { // mantissas spread over binades up to 2⁶³
		x = append(x, math.Float32frombits(0x3f800000+uint32(k)<<23+uint32(k*104729)%(1<<23)))
	}
	for e := uint32(0); e < 126; e++ { // all-ones mantissas, Newton's exception, in every binade
		x = append(x, math.Float32frombits(0x3fffffff+e<<23))
	}
	x = append(x, 0x1p63, 0x1p125)
	a, b := make([]float32, len(x)), make([]float32, len(x))
	recipAVX512(&a[0], &x[0], len(x))
	recipAVX2(&b[0], &x[0], len(x))
	for i, v := range x {
		want := float32(1 / float64(v)) // float64 then float32 rounds correctly for a quotient
		if math.Float32bits(a[i]) != math.Float32bits(want) || math.Float32bits(b[i]) != math.Float32bits(want) {
			t.Fatalf("1/%g (%#08x): AVX-512 %#08x, AVX2 %#08x, correctly rounded %#08x",
				v, math.Float32bits(v), math.Float32bits(a[i]), math.Float32bits(b[i]), math.Float32bits(want))
		}
	}
}
