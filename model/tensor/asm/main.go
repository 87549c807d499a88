// Command asm generates lopper's amd64 assembly kernels with avo.
//
// It lives in its own module so that avo is not a dependency of lopper. The
// tensor package regenerates its .s and stub files with go:generate:
//
//	go run -C asm . -out ../kernels_amd64.s -stubs ../kernels_amd64_stubs.go -pkg tensor
package main

import (
	. "github.com/mmcloughlin/avo/build"
)

func main() {
	ConstraintExpr("!purego")
	declareConsts()
	gemmKernels()
	packTranspose(8)
	packTranspose(6)
	for _, w := range []int{32, 16, 8} {
		packCopy(w)
	}
	for _, s := range []isa{avx512, avx2} {
		elemKernels(s)
		normKernels(s)
	}
	Generate()
}
