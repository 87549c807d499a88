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
	return dontNeed(b, lo, hi)
}

// releaseWeights gives the pages that lie wholly inside raw[lo:hi] (raw is
// a lazy model's anonymous mapping, allocWeights) back to the system: they
// read as zeros afterwards. Unlike releaseMapped it keeps the partial pages
// at both ends, which hold neighbouring tensors.
func releaseWeights(raw []byte, lo, hi int) error {
	lo, hi = interiorPages(lo, hi, pageSize)
	return dontNeed(raw, lo, hi)
}

// dontNeed advises MADV_DONTNEED for the page-aligned b[lo:hi], if any.
func dontNeed(b []byte, lo, hi int) error {
	if lo >= hi {
		return nil
	}
	if err := syscall.Madvise(b[lo:hi], syscall.MADV_DONTNEED); err != nil {
		return fmt.Errorf("madvise: %w", err)
	}
	return nil
}

// interiorPages is the span of whole pages of size page inside [lo, hi).
func interiorPages(lo, hi, page int) (int, int) {
	return (lo + page - 1) / page * page, hi / page * page
}

// pageRange is the span of pages of size page to release after reading
// [lo, hi): from the page holding lo (what precedes lo there was read
// before) to the page holding hi, exclusive (the next piece starts there).
func pageRange(lo, hi, page int) (int, int) {
	return lo / page * page, hi / page * page
}
