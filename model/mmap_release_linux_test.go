//go:build linux

package model

import "testing"

// After a piece [lo, hi) is converted, the pages from the one holding lo
// up to the one holding hi (exclusive) are given back: every page is
// given back once the piece that ends in it is done, and never one that
// the next piece still reads.
func TestPageRange(t *testing.T) {
	for _, c := range []struct{ lo, hi, wantLo, wantHi int }{
		{0, 4096, 0, 4096},
		{0, 4095, 0, 0},      // the next piece reads the rest of page 0
		{100, 9000, 0, 8192}, // page 0's head was read before
		{4096, 12288, 4096, 12288},
		{5000, 6000, 4096, 4096}, // inside one page: nothing yet
	} {
		lo, hi := pageRange(c.lo, c.hi, 4096)
		if lo != c.wantLo || hi != c.wantHi {
			t.Errorf("pageRange(%d, %d) = [%d, %d), want [%d, %d)", c.lo, c.hi, lo, hi, c.wantLo, c.wantHi)
		}
	}
}

// A lazy model evicts only the whole pages inside a tensor's range: the
// partial pages at its ends hold its neighbours.
func TestInteriorPages(t *testing.T) {
	for _, c := range []struct{ lo, hi, wantLo, wantHi int }{
		{0, 4096, 0, 4096},
		{0, 4095, 0, 0},
		{100, 9000, 4096, 8192},
		{4096, 12288, 4096, 12288},
		{5000, 6000, 8192, 4096}, // inside one page: nothing (lo > hi)
	} {
		lo, hi := interiorPages(c.lo, c.hi, 4096)
		if lo != c.wantLo || hi != c.wantHi {
			t.Errorf("interiorPages(%d, %d) = [%d, %d), want [%d, %d)", c.lo, c.hi, lo, hi, c.wantLo, c.wantHi)
		}
	}
}
