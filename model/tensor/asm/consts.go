package main

import (
	"fmt"
	"math"
	"sort"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
)

// Vector constants: each is 16 copies of a 32-bit pattern in read-only
// data, so that a 256- or 512-bit instruction can use it as a memory
// operand. The values are those of mathf.go in the tensor package.
var constBits = map[string]uint32{
	"one":      f32(1),
	"half":     f32(0.5),
	"negHalf":  f32(-0.5),
	"absMask":  0x7fffffff,
	"signMask": 0x80000000,
	"negInf":   0xff800000,
	"i127":     127,
	"i1":       1,
	"mantMask": 0x007fffff,

	"log2e": f32(1.44269504088896341),
	"ln2Hi": f32(0.693359375),
	"ln2Lo": f32(-2.12194440e-4),
	"expHi": f32(89),
	"expLo": f32(-104),
	"expC0": f32(1.9875691500e-4),
	"expC1": f32(1.3981999507e-3),
	"expC2": f32(8.3334519073e-3),
	"expC3": f32(4.1665795894e-2),
	"expC4": f32(1.6666665459e-1),
	"expC5": f32(5.0000001201e-1),

	"normClamp":    f32(20),
	"normClampNeg": f32(-20),
	"invSqrt2":     f32(0.70710678118654752),
	"invSqrt2Pi":   f32(0.39894228040143268),
	"erfcP0":       f32(-1.26551223),
	"erfcP1":       f32(1.00002368),
	"erfcP2":       f32(0.37409196),
	"erfcP3":       f32(0.09678418),
	"erfcP4":       f32(-0.18628806),
	"erfcP5":       f32(0.27886807),
	"erfcP6":       f32(-1.13520398),
	"erfcP7":       f32(1.48851587),
	"erfcP8":       f32(-0.82215223),
	"erfcP9":       f32(0.17087277),

	"geluTanhC2": f32(2 * 0.7978845608028654),
	"geluTanhA":  f32(0.044715),
	"geluTanhA3": f32(3 * 0.044715),
}

func f32(v float64) uint32 { return math.Float32bits(float32(v)) }

var constMem = map[string]Mem{}

// declareConsts emits the constant table; call it before any function.
func declareConsts() {
	// iota: 0, 1, …, 15, for tail masks.
	iota := GLOBL("vconst_iota", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(4*i, U32(i))
	}
	constMem["iota"] = iota
	names := make([]string, 0, len(constBits))
	for n := range constBits {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		m := GLOBL("vconst_"+n, RODATA|NOPTR)
		for i := 0; i < 16; i++ {
			DATA(4*i, U32(constBits[n]))
		}
		constMem[n] = m
	}
}

// c returns the memory operand of a named constant.
func c(name string) Mem {
	m, ok := constMem[name]
	if !ok {
		panic(fmt.Sprintf("no constant %q", name))
	}
	return m
}
