//go:build linux

package model

import (
	"fmt"
	"syscall"
	"unsafe"
)

// allocWeights returns n float32 weights in a fresh anonymous mapping
// (raw) whose pages take memory only once written: a lazy model's W.
// Free it with freeWeights.
func allocWeights(n int) (w []float32, raw []byte, err error) {
	if n == 0 {
		return nil, nil, nil
	}
	raw, err = syscall.Mmap(-1, 0, 4*n, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		return nil, nil, fmt.Errorf("mmap: %w", err)
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&raw[0])), n), raw, nil
}

// releaseWeights gives the pages that lie wholly inside raw[lo:hi] back to
// the system (they read as zeros afterwards). Unlike releaseMapped, which
// may round lo down because the file's earlier bytes were read already, it
// keeps the partial pages at both ends: they hold neighbouring tensors.
func releaseWeights(raw []byte, lo, hi int) error {
	lo, hi = interiorPages(lo, hi, pageSize)
	if lo >= hi {
		return nil
	}
	if err := syscall.Madvise(raw[lo:hi], syscall.MADV_DONTNEED); err != nil {
		return fmt.Errorf("madvise: %w", err)
	}
	return nil
}

// interiorPages is the span of whole pages of size page inside [lo, hi).
func interiorPages(lo, hi, page int) (int, int) {
	return (lo + page - 1) / page * page, hi / page * page
}

func freeWeights(raw []byte) error {
	if raw == nil {
		return nil
	}
	return syscall.Munmap(raw)
}
