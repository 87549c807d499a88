//go:build !purego

package tensor

import "golang.org/x/sys/cpu"

//go:generate go run -C asm . -out ../kernels_amd64.s -stubs ../kernels_amd64_stubs.go -pkg tensor

// archKernels returns the assembly micro-kernels this CPU supports, fastest
// first.
func archKernels() []*microKernel {
	var ks []*microKernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, avx512Kernel)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, avx2Kernel)
	}
	return ks
}

var avx512Kernel = &microKernel{name: "avx512", mr: 8, nr: 32,
	fn: func(kc int, a, b, c []float32, ldc int, load bool) {
		_, _ = a[kc*8-1], b[kc*32-1]
		_ = c[7*ldc+31]
		gemmAVX512_8x32(kc, &a[0], &b[0], &c[0], ldc, b2i(load))
	}}

var avx2Kernel = &microKernel{name: "avx2", mr: 6, nr: 16,
	fn: func(kc int, a, b, c []float32, ldc int, load bool) {
		_, _ = a[kc*6-1], b[kc*16-1]
		_ = c[5*ldc+15]
		gemmAVX2_6x16(kc, &a[0], &b[0], &c[0], ldc, b2i(load))
	}}

func init() {
	if cpu.X86.HasAVX2 {
		packTranspose8 = func(dst, src []float32, ld, blocks, w int) {
			packTranspose8AVX2(&dst[0], &src[0], ld, blocks, w)
		}
		packTranspose6 = func(dst, src []float32, ld, blocks, w int) {
			packTranspose6AVX2(&dst[0], &src[0], ld, blocks, w)
		}
		for w, f := range map[int]func(dst, src *float32, ld, kc, panels int){
			32: packCopy32AVX2, 16: packCopy16AVX2, 8: packCopy8AVX2,
		} {
			packCopy[w] = func(dst, src []float32, ld, kc, panels int) {
				f(&dst[0], &src[0], ld, kc, panels)
			}
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
