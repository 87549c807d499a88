package model

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"unicode/utf8"
)

// maxHeaderSize bounds the JSON header as the reference implementation does.
const maxHeaderSize = 100_000_000

// stEntry is one tensor of a safetensors file. Begin and End are byte
// offsets into the data section (after the header).
type stEntry struct {
	Name       string
	DType      DType
	Shape      []int
	Begin, End int64
}

// stHeader is a validated safetensors header.
type stHeader struct {
	Entries   []stEntry // sorted by Begin (then name)
	Metadata  map[string]string
	DataStart int64 // 8 + header length
	index     map[string]int
}

func (h *stHeader) lookup(name string) (stEntry, bool) {
	i, ok := h.index[name]
	if !ok {
		return stEntry{}, false
	}
	return h.Entries[i], true
}

// headerLen reads the 8-byte little-endian header length and checks it
// against the file size.
func headerLen(first8 []byte, fileSize int64) (int64, error) {
	if fileSize < 8 || len(first8) < 8 {
		return 0, fmt.Errorf("truncated: %d bytes, a safetensors file needs at least 8", fileSize)
	}
	n := binary.LittleEndian.Uint64(first8)
	if n > maxHeaderSize {
		return 0, fmt.Errorf("header length %d exceeds the %d-byte limit", n, maxHeaderSize)
	}
	if int64(n) > fileSize-8 {
		return 0, fmt.Errorf("header length %d is larger than the file (%d bytes after the length prefix)", n, fileSize-8)
	}
	if n < 2 {
		return 0, fmt.Errorf("header length %d is too small for a JSON object", n)
	}
	return int64(n), nil
}

// parseSafetensors validates the header of a complete in-memory file.
func parseSafetensors(data []byte) (*stHeader, error) {
	n, err := headerLen(data, int64(len(data)))
	if err != nil {
		return nil, err
	}
	return parseHeaderJSON(data[8:8+n], int64(len(data))-8-n)
}

// stInfo is a tensor's header entry as written in the file.
type stInfo struct {
	DType       *string `json:"dtype"`
	Shape       []int64 `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

// parseHeaderJSON parses and validates the JSON header js against a data
// section of dataSize bytes: known dtypes, shape × dtype size equal to the
// byte range, offsets in range, sorted, non-overlapping and covering the
// whole data section, no duplicate names.
func parseHeaderJSON(js []byte, dataSize int64) (*stHeader, error) {
	if !utf8.Valid(js) {
		return nil, errors.New("header is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("header is not a JSON object")
	}
	h := &stHeader{DataStart: 8 + int64(len(js)), index: map[string]int{}}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("header JSON: %v", err)
		}
		name, _ := tok.(string)
		if seen[name] {
			return nil, fmt.Errorf("tensor %q: listed twice in the header", name)
		}
		seen[name] = true
		if name == "__metadata__" {
			if err := dec.Decode(&h.Metadata); err != nil {
				return nil, fmt.Errorf("__metadata__: want an object of strings: %v", err)
			}
			continue
		}
		var info stInfo
		if err := dec.Decode(&info); err != nil {
			return nil, fmt.Errorf("tensor %q: %v", name, err)
		}
		e, err := checkInfo(name, info, dataSize)
		if err != nil {
			return nil, err
		}
		h.Entries = append(h.Entries, e)
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("header JSON: %v", err)
	}
	for _, c := range js[dec.InputOffset():] {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return nil, fmt.Errorf("header has trailing bytes after the JSON object (at byte %d)", dec.InputOffset())
		}
	}
	if err := checkCoverage(h.Entries, dataSize); err != nil {
		return nil, err
	}
	for i, e := range h.Entries {
		h.index[e.Name] = i
	}
	return h, nil
}

// checkInfo validates one tensor entry on its own.
func checkInfo(name string, info stInfo, dataSize int64) (stEntry, error) {
	if info.DType == nil {
		return stEntry{}, fmt.Errorf("tensor %q: missing dtype", name)
	}
	dt := DType(*info.DType)
	if dt.Size() == 0 {
		return stEntry{}, fmt.Errorf("tensor %q: unknown dtype %q", name, *info.DType)
	}
	if info.Shape == nil {
		return stEntry{}, fmt.Errorf("tensor %q: missing shape", name)
	}
	if len(info.DataOffsets) != 2 {
		return stEntry{}, fmt.Errorf("tensor %q: data_offsets must be [begin, end], got %d numbers", name, len(info.DataOffsets))
	}
	e := stEntry{Name: name, DType: dt, Shape: make([]int, len(info.Shape)), Begin: info.DataOffsets[0], End: info.DataOffsets[1]}
	n := int64(dt.Size())
	for i, d := range info.Shape {
		if d < 0 {
			return stEntry{}, fmt.Errorf("tensor %q: negative dimension %d in shape %v", name, d, info.Shape)
		}
		if d > 0 && n > math.MaxInt64/d {
			return stEntry{}, fmt.Errorf("tensor %q: shape %v is too large", name, info.Shape)
		}
		n *= d
		e.Shape[i] = int(d)
	}
	if e.Begin < 0 || e.End < e.Begin || e.End > dataSize {
		return stEntry{}, fmt.Errorf("tensor %q: data_offsets [%d, %d] out of range (the data section has %d bytes: truncated file?)", name, e.Begin, e.End, dataSize)
	}
	if e.End-e.Begin != n {
		return stEntry{}, fmt.Errorf("tensor %q: shape %v of %s needs %d bytes but data_offsets [%d, %d] span %d", name, info.Shape, dt, n, e.Begin, e.End, e.End-e.Begin)
	}
	return e, nil
}

// checkCoverage sorts entries by offset and checks that they tile the data
// section exactly.
func checkCoverage(es []stEntry, dataSize int64) error {
	sort.Slice(es, func(i, j int) bool {
		if es[i].Begin != es[j].Begin {
			return es[i].Begin < es[j].Begin
		}
		if es[i].End != es[j].End {
			return es[i].End < es[j].End
		}
		return es[i].Name < es[j].Name
	})
	var at int64
	prev := ""
	for _, e := range es {
		switch {
		case e.Begin < at:
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] overlap tensor %q (which ends at %d)", e.Name, e.Begin, e.End, prev, at)
		case e.Begin > at:
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] leave a gap of %d bytes after offset %d", e.Name, e.Begin, e.End, e.Begin-at, at)
		}
		at, prev = e.End, e.Name
	}
	if at != dataSize {
		return fmt.Errorf("tensors cover %d bytes but the data section has %d (truncated or trailing data)", at, dataSize)
	}
	return nil
}
