package model

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	"lopper/internal/par"
)

// Mask is a bitset over a layout's flat parameters: bit i set keeps
// parameter i, clear prunes it; one bit per parameter, in little-endian
// 64-bit words (bit i is bit i%64 of word i/64), the bits past Len always
// clear. A nil *Mask is no mask (a dense model); the read-only methods
// accept it only where they say so. Reads may run concurrently; writes to
// bits in the same word must not (Pack, ClearZeros and Set touch whole
// words: callers that write in parallel split at multiples of 64).
type Mask struct {
	words []uint64
	n     int
}

// NewMask returns a mask of n entries, all kept.
func NewMask(n int) *Mask {
	k := &Mask{words: make([]uint64, (n+63)/64), n: n}
	for i := range k.words {
		k.words[i] = ^uint64(0)
	}
	k.clearTail()
	return k
}

// MaskBytes is the memory a Mask of n entries holds: one bit per entry,
// in whole 64-bit words.
func MaskBytes(n int) int64 { return 8 * int64((n+63)/64) }

// MaskFromBytes returns the mask of one byte per entry (0 pruned, any
// other value kept).
func MaskFromBytes(b []byte) *Mask {
	k := &Mask{words: make([]uint64, (len(b)+63)/64), n: len(b)}
	k.Pack(0, b)
	return k
}

// MaskFromPacked returns the mask of n entries stored as PackedBytes
// writes them, or an error when b is not (n+7)/8 bytes or sets a bit past
// n.
func MaskFromPacked(b []byte, n int) (*Mask, error) {
	if n < 0 || len(b) != (n+7)/8 {
		return nil, fmt.Errorf("packed mask: %d bytes for %d entries, want %d", len(b), n, (n+7)/8)
	}
	k := &Mask{words: make([]uint64, (n+63)/64), n: n}
	var word [8]byte
	for i := range k.words {
		clear(word[:])
		copy(word[:], b[min(len(b), i*8):])
		k.words[i] = binary.LittleEndian.Uint64(word[:])
	}
	if r := n % 64; r != 0 && k.words[len(k.words)-1]>>r != 0 {
		return nil, fmt.Errorf("packed mask: bits set past its %d entries", n)
	}
	return k, nil
}

// PackedBytes returns the mask as (Len+7)/8 bytes: entry i is bit i%8
// (least significant first) of byte i/8, the bits past Len clear.
func (k *Mask) PackedBytes() []byte {
	out := make([]byte, len(k.words)*8)
	for i, w := range k.words {
		binary.LittleEndian.PutUint64(out[i*8:], w)
	}
	return out[:(k.n+7)/8]
}

// Bytes returns the mask as one byte per entry, 0 pruned and 1 kept.
func (k *Mask) Bytes() []byte {
	out := make([]byte, k.n)
	k.Unpack(out, 0)
	return out
}

// Len is the number of entries; 0 for a nil mask.
func (k *Mask) Len() int {
	if k == nil {
		return 0
	}
	return k.n
}

// Get reports whether entry i is kept.
func (k *Mask) Get(i int) bool { return k.words[i>>6]>>(i&63)&1 != 0 }

// Set keeps (keep true) or prunes entry i.
func (k *Mask) Set(i int, keep bool) {
	if keep {
		k.words[i>>6] |= 1 << (i & 63)
	} else {
		k.words[i>>6] &^= 1 << (i & 63)
	}
}

// Count is the number of kept entries.
func (k *Mask) Count() int {
	n := 0
	for _, w := range k.words {
		n += bits.OnesCount64(w)
	}
	return n
}

// CountRange is the number of kept entries in [lo, hi).
func (k *Mask) CountRange(lo, hi int) int {
	n := 0
	for i := lo; i < hi; {
		next := min(hi, (i|63)+1)
		n += bits.OnesCount64(k.words[i>>6] & wordBits(i, next))
		i = next
	}
	return n
}

// Clone returns a copy of k (nil for nil).
func (k *Mask) Clone() *Mask {
	if k == nil {
		return nil
	}
	return &Mask{words: append([]uint64(nil), k.words...), n: k.n}
}

// Equal reports whether k and o have the same entries (two nil masks are
// equal; nil and a mask are not).
func (k *Mask) Equal(o *Mask) bool {
	if k == nil || o == nil {
		return k == o
	}
	if k.n != o.n {
		return false
	}
	for i, w := range k.words {
		if o.words[i] != w {
			return false
		}
	}
	return true
}

// And prunes in k every entry o prunes. The masks must have one length.
func (k *Mask) And(o *Mask) {
	if k.n != o.n {
		panic(fmt.Sprintf("model.Mask.And: masks of %d and %d entries", k.n, o.n))
	}
	for i, w := range o.words {
		k.words[i] &= w
	}
}

// NextPruned returns the first pruned entry in [i, hi), or hi when there
// is none; whole words of kept entries are skipped at once.
func (k *Mask) NextPruned(i, hi int) int {
	for i < hi {
		if w := ^k.words[i>>6] >> (i & 63); w != 0 {
			return min(hi, i+bits.TrailingZeros64(w))
		}
		i = (i | 63) + 1
	}
	return hi
}

// ApplyTo zeroes x[i] wherever entry lo+i is pruned, a word at a time
// (words of kept entries cost one test).
func (k *Mask) ApplyTo(x []float32, lo int) {
	end := lo + len(x)
	for i := lo; i < end; {
		next := (i | 63) + 1
		w := ^k.words[i>>6] >> (i & 63)
		for w != 0 {
			j := i + bits.TrailingZeros64(w)
			if j >= end {
				break
			}
			x[j-lo] = 0
			w &= w - 1
		}
		i = next
	}
}

// maskChunk is the entry count of one parallel task of ClearZeros, a
// multiple of 64 so that tasks write disjoint words.
const maskChunk = 1 << 16

// ClearZeros prunes entry lo+i wherever x[i] is exactly zero (in
// parallel, over disjoint words) and returns how many of x are zero.
func (k *Mask) ClearZeros(x []float32, lo int) int {
	end := lo + len(x)
	if len(x) == 0 {
		return 0
	}
	c0 := lo / maskChunk
	nc := (end-1)/maskChunk - c0 + 1
	zeros := make([]int, nc)
	par.For(nc, func(c int) {
		a, b := max(lo, (c0+c)*maskChunk), min(end, (c0+c+1)*maskChunk)
		z := 0
		for i := a; i < b; {
			next := min(b, (i|63)+1)
			var clr uint64
			for j, v := range x[i-lo : next-lo] {
				if v == 0 {
					clr |= 1 << ((i + j) & 63)
					z++
				}
			}
			k.words[i>>6] &^= clr
			i = next
		}
		zeros[c] = z
	})
	n := 0
	for _, z := range zeros {
		n += z
	}
	return n
}

// Unpack sets dst[i] to entry lo+i: 1 kept, 0 pruned.
func (k *Mask) Unpack(dst []byte, lo int) {
	end := lo + len(dst)
	for i := lo; i < end; {
		next := min(end, (i|63)+1)
		d, w := dst[i-lo:next-lo], k.words[i>>6]>>(i&63)
		switch {
		case next-i == 64 && w == ^uint64(0):
			for j := range d {
				d[j] = 1
			}
		case w == 0:
			clear(d)
		default:
			for j := range d {
				d[j] = byte(w >> j & 1)
			}
		}
		i = next
	}
}

// Pack sets entry lo+i from src[i]: 0 pruned, any other value kept.
func (k *Mask) Pack(lo int, src []byte) {
	end := lo + len(src)
	for i := lo; i < end; {
		next := min(end, (i|63)+1)
		var set uint64
		for j, v := range src[i-lo : next-lo] {
			if v != 0 {
				set |= 1 << ((i + j) & 63)
			}
		}
		w := &k.words[i>>6]
		*w = *w&^wordBits(i, next) | set
		i = next
	}
}

// wordBits is the bits of [i, j) within their word (i and j−1 in one word).
func wordBits(i, j int) uint64 {
	n := uint(j - i)
	if n == 64 {
		return ^uint64(0)
	}
	return (1<<n - 1) << (i & 63)
}

// clearTail clears the bits past n.
func (k *Mask) clearTail() {
	if r := k.n % 64; r != 0 {
		k.words[len(k.words)-1] &= 1<<r - 1
	}
}

// EachBytes calls fn with the mask as Bytes returns it, one byte per
// entry (0 pruned, 1 kept), in order, a piece at a time (for digests of
// the one-byte form without holding it); fn must not keep the piece.
func (k *Mask) EachBytes(fn func(piece []byte)) {
	buf := make([]byte, min(k.n, maskChunk))
	for lo := 0; lo < k.n; lo += len(buf) {
		b := buf[:min(len(buf), k.n-lo)]
		k.Unpack(b, lo)
		fn(b)
	}
}
