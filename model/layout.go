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
	// Stored names the checkpoint tensor that holds this one when the
	// checkpoint fuses several (Phi-3: qkv_proj holds q, k and v,
	// gate_up_proj gate and up): this tensor is its rows StoredRow …
	// StoredRow+Rows()−1. Empty when the tensor is stored under Name.
	Stored    string
	StoredRow int
}

// StoredName is the name of the checkpoint tensor that holds t.
func (t TensorInfo) StoredName() string {
	if t.Stored != "" {
		return t.Stored
	}
	return t.Name
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
	pre, block, post := namingTables(c)
	l := &Layout{index: map[string]int{}}
	var tooBig error
	fused, storedRows := fusedNames(c), map[string]int{} // rows of each fused tensor so far
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
			t := TensorInfo{
				Name: name, Role: s.role, Layer: layer, Shape: shape,
				Offset: l.Total, Size: size, DType: F32, Transposed: s.transposed,
			}
			if f := fused[s.role]; f != "" && layer >= 0 {
				t.Stored = strings.ReplaceAll(f, "{L}", strconv.Itoa(layer))
				t.StoredRow = storedRows[t.Stored]
				storedRows[t.Stored] += shape[0]
			}
			l.Tensors = append(l.Tensors, t)
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
func (l *Layout) NewMask() *Mask { return NewMask(l.Total) }

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

// BlockTensors returns the tensors of block layer (-1: those outside the
// blocks), in layout order: what a lazy model pins to run the block.
func (l *Layout) BlockTensors(layer int) []TensorInfo {
	var ts []TensorInfo
	for _, t := range l.Tensors {
		if t.Layer == layer {
			ts = append(ts, t)
		}
	}
	return ts
}

// EmbedTensors returns the tensors that embed tokens: the token embedding
// and GPT-2's position embedding.
func (l *Layout) EmbedTensors() []TensorInfo {
	return l.withRoles(RoleEmbed, RolePosEmbed)
}

// HeadTensors returns the tensors that turn the last block's output into
// logits: the final norm (and its bias) and the LM head, which is the
// token embedding when the embeddings are tied.
func (l *Layout) HeadTensors() []TensorInfo {
	ts := l.withRoles(RoleFinalNorm, RoleFinalNormBias, RoleHead)
	if _, ok := l.Find(-1, RoleHead); !ok {
		ts = append(ts, l.withRoles(RoleEmbed)...)
	}
	return ts
}

// withRoles returns the tensors outside the blocks with one of roles.
func (l *Layout) withRoles(roles ...Role) []TensorInfo {
	var ts []TensorInfo
	for _, t := range l.Tensors {
		if t.Layer < 0 && slices.Contains(roles, t.Role) {
			ts = append(ts, t)
		}
	}
	return ts
}
