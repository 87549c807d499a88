package model

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// randomBytes is a one-byte-per-entry mask of n entries, about frac pruned,
// with runs of kept and pruned entries longer than a word.
func randomBytes(rng *rand.Rand, n int, frac float64) []byte {
	b := make([]byte, n)
	for i := range b {
		switch {
		case i%300 < 70: // a kept run
			b[i] = 1
		case i%300 < 140: // a pruned run
		case rng.Float64() >= frac:
			b[i] = 1
		}
	}
	return b
}

// TestMaskMatchesBytes checks every Mask operation against the same
// operation on one byte per entry, over lengths and ranges that do and do
// not fall on word boundaries.
func TestMaskMatchesBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, n := range []int{0, 1, 63, 64, 65, 130, 1000, 3*maskChunk + 77} {
		ref := randomBytes(rng, n, 0.4)
		k := MaskFromBytes(ref)
		if k.Len() != n || !bytes.Equal(k.Bytes(), ref) {
			t.Fatalf("n=%d: MaskFromBytes/Bytes do not round-trip", n)
		}
		kept := 0
		for _, v := range ref {
			kept += int(v)
		}
		if k.Count() != kept {
			t.Errorf("n=%d: Count %d, want %d", n, k.Count(), kept)
		}
		for range 20 {
			lo := rng.IntN(n + 1)
			hi := lo + rng.IntN(n-lo+1)
			want := 0
			for _, v := range ref[lo:hi] {
				want += int(v)
			}
			if got := k.CountRange(lo, hi); got != want {
				t.Errorf("n=%d: CountRange(%d, %d) = %d, want %d", n, lo, hi, got, want)
			}
			first := hi
			for i := lo; i < hi; i++ {
				if ref[i] == 0 {
					first = i
					break
				}
			}
			if got := k.NextPruned(lo, hi); got != first {
				t.Errorf("n=%d: NextPruned(%d, %d) = %d, want %d", n, lo, hi, got, first)
			}
			// ApplyTo over [lo, hi).
			x := make([]float32, hi-lo)
			for i := range x {
				x[i] = float32(i + 1)
			}
			k.ApplyTo(x, lo)
			for i, v := range x {
				if want := float32(i+1) * float32(ref[lo+i]); v != want {
					t.Fatalf("n=%d: ApplyTo(lo %d) entry %d = %g, want %g", n, lo, i, v, want)
				}
			}
			// Unpack, then Pack of other bytes over [lo, hi).
			u := make([]byte, hi-lo)
			k.Unpack(u, lo)
			if !bytes.Equal(u, ref[lo:hi]) {
				t.Fatalf("n=%d: Unpack(%d, %d) differs", n, lo, hi)
			}
			p := randomBytes(rng, hi-lo, 0.5)
			k.Pack(lo, p)
			copy(ref[lo:hi], p)
			if !bytes.Equal(k.Bytes(), ref) {
				t.Fatalf("n=%d: Pack(%d, %d) differs", n, lo, hi)
			}
			// ClearZeros over [lo, hi).
			x = make([]float32, hi-lo)
			zeros := 0
			for i := range x {
				if rng.IntN(3) == 0 {
					zeros++
				} else {
					x[i] = 1
				}
			}
			if got := k.ClearZeros(x, lo); got != zeros {
				t.Errorf("n=%d: ClearZeros counted %d zeros, want %d", n, got, zeros)
			}
			for i, v := range x {
				if v == 0 {
					ref[lo+i] = 0
				}
			}
			if !bytes.Equal(k.Bytes(), ref) {
				t.Fatalf("n=%d: ClearZeros(%d, %d) differs", n, lo, hi)
			}
		}
		// And, Clone, Equal, Set, Get.
		o := MaskFromBytes(randomBytes(rng, n, 0.3))
		c := k.Clone()
		c.And(o)
		ob := o.Bytes()
		for i := range ref {
			ref[i] &= ob[i]
		}
		if !bytes.Equal(c.Bytes(), ref) || !c.Equal(MaskFromBytes(ref)) {
			t.Fatalf("n=%d: And differs", n)
		}
		if n > 0 {
			i := rng.IntN(n)
			c.Set(i, !c.Get(i))
			if c.Equal(MaskFromBytes(ref)) || c.Get(i) == (ref[i] != 0) {
				t.Fatalf("n=%d: Set(%d) did not change the entry", n, i)
			}
		}
		var pieces []byte
		c.EachBytes(func(b []byte) { pieces = append(pieces, b...) })
		if !bytes.Equal(pieces, c.Bytes()) {
			t.Fatalf("n=%d: EachBytes differs from Bytes", n)
		}
		// The packed format: (n+7)/8 bytes, entry i at bit i%8 of byte i/8.
		pb := MaskFromBytes(ref).PackedBytes()
		if len(pb) != (n+7)/8 {
			t.Fatalf("n=%d: %d packed bytes", n, len(pb))
		}
		for i, v := range ref {
			if pb[i/8]>>(i%8)&1 != v {
				t.Fatalf("n=%d: packed entry %d is not bit %d of byte %d", n, i, i%8, i/8)
			}
		}
		back, err := MaskFromPacked(pb, n)
		if err != nil || !back.Equal(MaskFromBytes(ref)) {
			t.Fatalf("n=%d: MaskFromPacked: %v", n, err)
		}
	}
}

func TestMaskFromPackedRefusesBadInput(t *testing.T) {
	if _, err := MaskFromPacked(make([]byte, 2), 17); err == nil {
		t.Error("2 bytes for 17 entries: no error")
	}
	if _, err := MaskFromPacked([]byte{0xff, 0x03}, 9); err == nil {
		t.Error("a bit set past the last entry: no error")
	}
	if k := NewMask(70); k.Count() != 70 || k.NextPruned(0, 70) != 70 {
		t.Errorf("NewMask(70): %d kept", k.Count())
	}
	var dense *Mask
	if dense.Len() != 0 || dense.Clone() != nil || !dense.Equal(nil) || dense.Equal(NewMask(0)) {
		t.Error("a nil mask is not an empty, dense one")
	}
}
