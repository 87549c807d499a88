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

func freeWeights(raw []byte) error {
	if raw == nil {
		return nil
	}
	return syscall.Munmap(raw)
}
