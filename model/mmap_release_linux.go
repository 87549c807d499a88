//go:build linux

package model

import (
	"fmt"
	"os"
	"syscall"
)

var pageSize = os.Getpagesize()

// releaseMapped tells the kernel that the process is done with the mapped
// bytes b[lo:hi] (b is page-aligned): their pages leave the process's
// resident set and stay in the page cache, so that a later read refaults
// them from there. Load calls it after converting each piece, so that a
// checkpoint's bytes and its float32 copy are never resident in the
// process together.
func releaseMapped(b []byte, lo, hi int) error {
	lo, hi = pageRange(lo, hi, pageSize)
	if lo >= hi {
		return nil
	}
	if err := syscall.Madvise(b[lo:hi], syscall.MADV_DONTNEED); err != nil {
		return fmt.Errorf("madvise: %w", err)
	}
	return nil
}

// pageRange is the span of pages of size page to release after reading
// [lo, hi): from the page holding lo (what precedes lo there was read
// before) to the page holding hi, exclusive (the next piece starts there).
func pageRange(lo, hi, page int) (int, int) {
	return lo / page * page, hi / page * page
}
