//go:build unix

package model

import (
	"os"
	"syscall"
)

// mapFile memory-maps size bytes of f read-only. The mapping stays valid
// after f is closed; release it with unmapFile.
func mapFile(f *os.File, size int64) ([]byte, error) {
	if size == 0 || int64(int(size)) != size {
		return nil, nil // fall back to reads
	}
	return syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
}

func unmapFile(b []byte) error {
	if b == nil {
		return nil
	}
	return syscall.Munmap(b)
}
