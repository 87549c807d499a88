package model

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
)

// stOut is one tensor to write. Data is in canonical orientation
// ([rows, cols] for 2-D tensors); Transposed writes it as [cols, rows].
type stOut struct {
	Name       string
	DType      DType
	Shape      []int // canonical shape
	Transposed bool
	Data       []float32
}

func (t stOut) diskShape() []int {
	if t.Transposed {
		return []int{t.Shape[1], t.Shape[0]}
	}
	return t.Shape
}

// writeSafetensors writes ts as one safetensors file with a deterministic
// header: tensors sorted by name, data in the same order, `__metadata__`
// {"format":"pt"} first, and the header padded with spaces to a multiple of
// 8 bytes (as the reference writer does, so data stays aligned).
func writeSafetensors(w io.Writer, ts []stOut) error {
	ts = append([]stOut(nil), ts...)
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	hdr, err := stHeaderBytes(ts)
	if err != nil {
		return err
	}
	var pre [8]byte
	binary.LittleEndian.PutUint64(pre[:], uint64(len(hdr)))
	if _, err := w.Write(pre[:]); err != nil {
		return err
	}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	buf := make([]byte, 0, 1<<16)
	for _, t := range ts {
		if buf, err = encodeTensor(w, buf, t); err != nil {
			return fmt.Errorf("tensor %q: %w", t.Name, err)
		}
	}
	return nil
}

// stHeaderBytes renders the padded JSON header for ts (already sorted).
func stHeaderBytes(ts []stOut) ([]byte, error) {
	b := []byte(`{"__metadata__":{"format":"pt"}`)
	var off int64
	for _, t := range ts {
		if !t.DType.Supported() {
			return nil, fmt.Errorf("tensor %q: cannot write dtype %q", t.Name, t.DType)
		}
		name, err := json.Marshal(t.Name)
		if err != nil {
			return nil, err
		}
		n := int64(len(t.Data) * t.DType.Size())
		b = append(b, ',')
		b = append(b, name...)
		b = append(b, `:{"dtype":"`...)
		b = append(b, t.DType...)
		b = append(b, `","shape":[`...)
		for i, d := range t.diskShape() {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(d), 10)
		}
		b = append(b, `],"data_offsets":[`...)
		b = strconv.AppendInt(b, off, 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, off+n, 10)
		b = append(b, "]}"...)
		off += n
	}
	b = append(b, '}')
	for len(b)%8 != 0 {
		b = append(b, ' ')
	}
	return b, nil
}

// encodeTensor writes t's data through buf in bounded chunks; w should be
// buffered. Transposed data goes out one disk row (canonical column) at a
// time.
func encodeTensor(w io.Writer, buf []byte, t stOut) ([]byte, error) {
	if !t.Transposed {
		const chunk = 1 << 14
		for i := 0; i < len(t.Data); i += chunk {
			buf = encodeFrom(buf[:0], t.Data[i:min(len(t.Data), i+chunk)], t.DType)
			if _, err := w.Write(buf); err != nil {
				return buf, err
			}
		}
		return buf, nil
	}
	rows, cols := t.Shape[0], t.Shape[1]
	for c := 0; c < cols; c++ {
		buf = buf[:0]
		for r := 0; r < rows; r++ {
			buf = appendElem(buf, t.DType, t.Data[r*cols+c])
		}
		if _, err := w.Write(buf); err != nil {
			return buf, err
		}
	}
	return buf, nil
}
