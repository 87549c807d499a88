package tensor

import (
	"syscall"
	"testing"
	"unsafe"
)

// TestElemReadsOnlyItsElements runs the kernels on slices that end right
// before a page the process may not touch: reading past the end faults.
func TestElemReadsOnlyItsElements(t *testing.T) {
	page := syscall.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 2*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skipf("mmap: %v", err)
	}
	defer syscall.Munmap(mem)
	if err := syscall.Mprotect(mem[page:], syscall.PROT_NONE); err != nil {
		t.Skipf("mprotect: %v", err)
	}
	all := unsafe.Slice((*float32)(unsafe.Pointer(&mem[0])), page/4)
	for _, e := range allElems() {
		for n := 1; n <= 40; n++ {
			x := all[len(all)-n:] // ends at the guard page
			for i := range x {
				x[i] = float32(i) - 7
			}
			out := make([]float32, n)
			e.gelu(out, x)
			e.geluTanhBackward(out, x, x)
			e.swiglu(out, x, x)
			_ = e.dot(x, x)
			_ = e.dot3(x, x, x)
			_ = e.sum(x)
			_ = e.maxOf(x)
			_ = e.sumSqDev(x, 1)
			_, _ = e.lnBackwardSums(x, x, x, 1, 2)
			e.scale(x, 1)
			e.axpy(x, 0, x)
			_ = e.expShift(out, 0)
		}
	}
}
