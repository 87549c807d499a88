package model

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// TensorInfo describes one parameter tensor and where it lives in the flat
// buffers (parameters, gradients, masks, optimizer moments) of its Layout.
type TensorInfo struct {
	Name  string // Hugging Face name
	Role  Role
	Layer int   // block index, -1 outside the blocks
	Shape []int // canonical shape; linear weights are [out, in]
	// Offset and Size locate the tensor in a flat buffer over the layout.
	Offset, Size int
	// DType is the on-disk dtype (the one Save writes by default).
	DType DType
	// Transposed: stored [in, out] on disk (GPT-2 Conv1D); Shape is still
	// [out, in].
	Transposed bool
}

// Of returns the tensor's slice of a flat buffer over its layout.
func (t TensorInfo) Of(buf []float32) []float32 { return buf[t.Offset : t.Offset+t.Size] }

// Rows and Cols are the [out, in] dims of a 2-D tensor (Cols is 1 for a
// vector).
func (t TensorInfo) Rows() int { return t.Shape[0] }

// Cols is the input dimension of a linear weight.
func (t TensorInfo) Cols() int {
	if len(t.Shape) < 2 {
		return 1
	}
	return t.Shape[1]
}

// DiskShape is the shape as stored in safetensors.
func (t TensorInfo) DiskShape() []int {
	if t.Transposed {
		return []int{t.Shape[1], t.Shape[0]}
	}
	return t.Shape
}

// Layout is the ordered list of a model's parameter tensors over one flat
// []float32 of Total elements. It is immutable once built and shared by
// clones; tensors are in block order, not file order.
type Layout struct {
	Tensors []TensorInfo
	Total   int
	index   map[string]int
}

// maxParams bounds a model's parameter count (a config asking for more is
// bad input, not a reason to try a huge allocation).
const maxParams = 1 << 38

// NewLayout builds the canonical layout for c with every dtype F32.
func NewLayout(c *Config) (*Layout, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	pre, block, post := namingTables(c.Arch)
	if c.Arch == BERT {
		pre, block, post = encoderTables(c.modelType())
	}
	l := &Layout{index: map[string]int{}}
	var tooBig error
	add := func(specs []tensorSpec, layer int, d LayerDims) {
		for _, s := range specs {
			if s.when != nil && !s.when(c) {
				continue
			}
			shape := s.shape(c, d)
			size := 1
			for _, n := range shape {
				if size > maxParams/n {
					size = maxParams + 1
					break
				}
				size *= n
			}
			name := strings.ReplaceAll(s.name, "{L}", strconv.Itoa(layer))
			if size > maxParams-l.Total && tooBig == nil {
				tooBig = fmt.Errorf("tensor %q %v: model exceeds %d parameters", name, shape, maxParams)
				return
			}
			l.index[name] = len(l.Tensors)
			l.Tensors = append(l.Tensors, TensorInfo{
				Name: name, Role: s.role, Layer: layer, Shape: shape,
				Offset: l.Total, Size: size, DType: F32, Transposed: s.transposed,
			})
			l.Total += size
		}
	}
	add(pre, -1, LayerDims{})
	for i, d := range c.Layers {
		add(block, i, d)
	}
	add(post, -1, LayerDims{})
	if tooBig != nil {
		return nil, tooBig
	}
	return l, nil
}

// Lookup returns the tensor called name.
func (l *Layout) Lookup(name string) (TensorInfo, bool) {
	i, ok := l.index[name]
	if !ok {
		return TensorInfo{}, false
	}
	return l.Tensors[i], true
}

// Find returns the tensor with role r in block layer (-1 for tensors
// outside the blocks).
func (l *Layout) Find(layer int, r Role) (TensorInfo, bool) {
	for _, t := range l.Tensors {
		if t.Layer == layer && t.Role == r {
			return t, true
		}
	}
	return TensorInfo{}, false
}

// NewMask returns a dense mask (all ones) over the layout.
func (l *Layout) NewMask() []byte {
	m := make([]byte, l.Total)
	for i := range m {
		m[i] = 1
	}
	return m
}

// WithDTypes returns a copy of l in which every tensor named in dt has that
// on-disk dtype (the one Save writes by default); the others keep theirs.
// l itself is not changed (layouts are shared by clones), and the copy
// shares its name index. A name that is not in the layout, or a dtype
// lopper cannot store, is an error naming the tensor.
func (l *Layout) WithDTypes(dt map[string]DType) (*Layout, error) {
	c := &Layout{Tensors: slices.Clone(l.Tensors), Total: l.Total, index: l.index}
	for name, d := range dt {
		i, ok := l.index[name]
		if !ok {
			return nil, fmt.Errorf("tensor %q: not in the layout", name)
		}
		if !d.Supported() {
			return nil, fmt.Errorf("tensor %q: dtype %q is not one of F32, F16, BF16", name, d)
		}
		c.Tensors[i].DType = d
	}
	return c, nil
}

// String renders the tensor as "NAME [SHAPE] DTYPE", for messages and logs.
func (t TensorInfo) String() string {
	return fmt.Sprintf("%s %v %s", t.Name, t.Shape, t.DType)
}
