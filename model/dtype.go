package model

import (
	"encoding/binary"
	"fmt"
	"math"
)

// DType is a safetensors element type. Weights are computed in float32; F16
// and BF16 are storage formats converted on load and save.
type DType string

// The dtypes lopper reads and writes. The header parser also knows the other
// safetensors dtypes (so it can validate any file), but loading a model
// accepts only these three.
const (
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
)

// dtypeSizes holds the element size of every safetensors dtype.
var dtypeSizes = map[DType]int{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	"I32": 4, "U32": 4, "F32": 4,
	"I64": 8, "U64": 8, "F64": 8,
}

// Size returns the element size in bytes, or 0 for an unknown dtype.
func (d DType) Size() int { return dtypeSizes[d] }

// Supported reports whether lopper can load and save tensors of this dtype.
func (d DType) Supported() bool { return d == F32 || d == F16 || d == BF16 }

// TorchName is the config.json torch_dtype spelling of d.
func (d DType) TorchName() string {
	switch d {
	case F16:
		return "float16"
	case BF16:
		return "bfloat16"
	default:
		return "float32"
	}
}

// ParseDType accepts F32/F16/BF16 and their torch spellings.
func ParseDType(s string) (DType, error) {
	switch s {
	case "F32", "f32", "float32":
		return F32, nil
	case "F16", "f16", "float16":
		return F16, nil
	case "BF16", "bf16", "bfloat16":
		return BF16, nil
	}
	return "", fmt.Errorf("unsupported dtype %q (want F32, F16 or BF16)", s)
}

// f16ToF32 converts IEEE binary16 bits to float32 exactly (NaN payloads are
// kept in the high mantissa bits so that f32ToF16 restores them).
func f16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	man := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
	case man == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal: value = man · 2^-24, normalize it.
	e := uint32(113)
	for man&0x400 == 0 {
		man <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (man&0x3ff)<<13)
}

// f32ToF16 converts float32 to binary16 with round-to-nearest-even;
// overflow gives ±Inf, NaN stays NaN (quiet, payload truncated).
func f32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	man := b & 0x7fffff
	if exp == 0xff {
		if man == 0 {
			return sign | 0x7c00
		}
		m := uint16(man >> 13)
		if m == 0 {
			m = 0x200
		}
		return sign | 0x7c00 | m
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Subnormal or zero in binary16: value = m · 2^-24.
		if e < -10 {
			return sign // below half the smallest subnormal: rounds to zero
		}
		m := man | 0x800000 // implicit bit
		shift := uint32(14 - e)
		h := m >> shift
		rem := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && h&1 == 1) {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++ // may carry into the exponent, up to Inf: correct
	}
	return sign | uint16(h)
}

// bf16ToF32 converts bfloat16 bits to float32 exactly.
func bf16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// f32ToBF16 converts float32 to bfloat16 with round-to-nearest-even; NaN
// stays NaN (payload truncated, made quiet only if truncation would leave
// no payload).
func f32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		h := uint16(b >> 16)
		if h&0x7f == 0 {
			h |= 0x40
		}
		return h
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// elemAt returns element i of little-endian src in dtype dt as float32.
func elemAt(src []byte, dt DType, i int) float32 {
	switch dt {
	case F16:
		return f16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
	case BF16:
		return bf16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
	default:
		return math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

// appendElem appends v to buf in dtype dt, little-endian.
func appendElem(buf []byte, dt DType, v float32) []byte {
	switch dt {
	case F16:
		return binary.LittleEndian.AppendUint16(buf, f32ToF16(v))
	case BF16:
		return binary.LittleEndian.AppendUint16(buf, f32ToBF16(v))
	default:
		return binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
	}
}

// decodeFlat converts the little-endian elements of src (dtype dt) into
// dst, one loop per dtype: elemAt's conversions without its switch and
// bounds checks per element (a lazy model decodes its tensors again after
// each eviction).
func decodeFlat(dst []float32, src []byte, dt DType) {
	switch dt {
	case F16:
		src = src[:2*len(dst)]
		for i := range dst {
			dst[i] = f16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case BF16:
		src = src[:2*len(dst)]
		for i := range dst {
			dst[i] = bf16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	default:
		src = src[:4*len(dst)]
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	}
}

// decodeRows converts the little-endian elements of src (dtype dt, one of
// F32/F16/BF16), whole stored rows of a tensor from stored row from on,
// into dst ([rows, cols]). When transposed, the tensor is stored
// [cols, rows], so src's stored rows are columns of dst.
func decodeRows(dst []float32, src []byte, dt DType, transposed bool, rows, cols, from int) {
	n := len(src) / dt.Size()
	if !transposed {
		decodeFlat(dst[from*cols:from*cols+n], src, dt)
		return
	}
	i := 0
	for c := from; c < from+n/max(rows, 1); c++ {
		for r := 0; r < rows; r++ {
			dst[r*cols+c] = elemAt(src, dt, i)
			i++
		}
	}
}

// encodeFrom appends src to buf in dtype dt, little-endian.
func encodeFrom(buf []byte, src []float32, dt DType) []byte {
	for _, v := range src {
		buf = appendElem(buf, dt, v)
	}
	return buf
}
