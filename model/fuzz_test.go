package model

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzParseHeader feeds arbitrary files to the safetensors header parser:
// it must never panic, and whatever it accepts must be consistent: tensors
// tile the data section exactly, sizes match shapes and dtypes, names are
// unique, and decoding then re-encoding supported dtypes gives the same
// bytes.
func FuzzParseHeader(f *testing.F) {
	f.Add(stFileBytes(`{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)))
	f.Add(stFileBytes(`{"a":{"dtype":"BF16","shape":[2,1],"data_offsets":[0,4]},"b":{"dtype":"F16","shape":[2],"data_offsets":[4,8]}}`, []byte{0, 0x7f, 1, 0x80, 0, 0x7c, 0x01, 0xfc}))
	f.Add(stFileBytes(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)))
	f.Add(stFileBytes(`{"b":{"dtype":"I8","shape":[0],"data_offsets":[0,0]}}  `, nil))
	f.Add(binary.LittleEndian.AppendUint64(nil, 1<<40))
	f.Add([]byte{})
	// A file as lopper writes it (small, so that the fuzzer's minimization
	// of interesting inputs stays quick).
	var buf bytes.Buffer
	if err := writeSafetensors(&buf, []stOut{
		{Name: "w", DType: F16, Shape: []int{2, 3}, Transposed: true, Data: []float32{1, -2, 3, 0.5, 65504, 1e-7}},
		{Name: "b", DType: BF16, Shape: []int{2}, Data: []float32{-1, 3.5}},
		{Name: "n", DType: F32, Shape: []int{1}, Data: []float32{0.25}},
	}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := parseSafetensors(data)
		if err != nil {
			return
		}
		dataSize := int64(len(data)) - h.DataStart
		var at int64
		seen := map[string]bool{}
		for _, e := range h.Entries {
			if seen[e.Name] {
				t.Fatalf("duplicate %q accepted", e.Name)
			}
			seen[e.Name] = true
			if e.Begin != at {
				t.Fatalf("%q starts at %d, previous tensor ends at %d", e.Name, e.Begin, at)
			}
			n := int64(e.DType.Size())
			for _, d := range e.Shape {
				n *= int64(d)
			}
			if e.End-e.Begin != n {
				t.Fatalf("%q: %d bytes for shape %v of %s", e.Name, e.End-e.Begin, e.Shape, e.DType)
			}
			if got, ok := h.lookup(e.Name); !ok || got.Begin != e.Begin {
				t.Fatalf("lookup %q failed", e.Name)
			}
			at = e.End
			if e.DType.Supported() {
				raw := data[h.DataStart+e.Begin : h.DataStart+e.End]
				vals := make([]float32, n/int64(e.DType.Size()))
				decodeFlat(vals, raw, e.DType)
				if back := encodeFrom(nil, vals, e.DType); string(back) != string(raw) {
					t.Fatalf("%q: %s decode/encode changed the bytes", e.Name, e.DType)
				}
			}
		}
		if at != dataSize {
			t.Fatalf("tensors cover %d of %d data bytes", at, dataSize)
		}
	})
}
