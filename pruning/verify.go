package pruning

import (
	"fmt"
	"slices"

	"lopper/internal/par"
	"lopper/model"
)

// MaskCheck is what a mask check found: how many pruned entries it
// checked and which of them are not exactly zero.
type MaskCheck struct {
	// Checked is the number of pruned entries checked.
	Checked int `json:"checked"`
	// Violations is the number of pruned entries that are not zero.
	Violations int `json:"violations"`
	// Tensors lists every tensor with violations, in layout order.
	Tensors []MaskViolation `json:"tensors,omitempty"`
}

// MaskViolation is a tensor whose pruned entries are not all zero.
type MaskViolation struct {
	Tensor string `json:"tensor"`
	Shape  []int  `json:"shape"` // canonical: linear weights [out, in]
	Count  int    `json:"count"` // pruned entries that are not zero
	// First is the flat (row-major) index of the first of them, and
	// Value its value.
	First int     `json:"first"`
	Value float32 `json:"value"`
}

// Where names the first offending entry: its flat index and, for a
// matrix, its row and column.
func (v MaskViolation) Where() string {
	if len(v.Shape) == 2 && v.Shape[1] > 0 {
		return fmt.Sprintf("entry %d (row %d, column %d)", v.First, v.First/v.Shape[1], v.First%v.Shape[1])
	}
	return fmt.Sprintf("entry %d", v.First)
}

// Err is nil when the mask holds, else an error naming the first
// offending tensor and entry and counting the violations.
func (c *MaskCheck) Err() error {
	if c.Violations == 0 {
		return nil
	}
	v := c.Tensors[0]
	return fmt.Errorf("the mask does not hold: %s in %s not zero; first: tensor %q %s is %g",
		plural(c.Violations, "pruned weight", "pruned weights"), plural(len(c.Tensors), "tensor is", "tensors are"),
		v.Tensor, v.Where(), v.Value)
}

// plural is "1 thing" or "n things".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// VerifyMasks checks that a mask still holds on m: every weight the mask
// prunes is exactly zero. mask is flat over m's layout; nil means m.Mask,
// and a model without a mask passes. Run it after any stage that changes
// weights (recovery training, quantization, surgery): the error names the
// first offending tensor and entry, and counts the offenders.
func VerifyMasks(m *model.Model, mask *model.Mask) error {
	if mask == nil {
		mask = m.Mask
	}
	c, err := checkMask(m, mask)
	if err != nil {
		return err
	}
	return c.Err()
}

// CheckMasks checks that the weights m should have pruned are exactly
// zero: those of m's own mask, and, when ref is not nil, every weight
// pruned in ref — ref's mask, or, for a model without one (a pruned model
// loaded from disk, whose zeros are its mask), its exactly-zero prunable
// weights (model.Prunable). An entry pruned in both counts once. ref must
// have m's tensors with m's shapes; a structurally pruned model and its
// unsliced source are an error, not a violation. The check itself is in
// the result (MaskCheck.Err).
func CheckMasks(m, ref *model.Model) (*MaskCheck, error) {
	if len(m.W) != m.Layout.Total || (m.Mask != nil && m.Mask.Len() != m.Layout.Total) {
		return nil, fmt.Errorf("the model has %d weights and a mask of %d for a layout of %d", len(m.W), m.Mask.Len(), m.Layout.Total)
	}
	if ref == nil {
		return checkMask(m, m.Mask)
	}
	mask, err := referenceMask(m, ref)
	if err != nil {
		return nil, err
	}
	if m.Mask != nil {
		mask.And(m.Mask)
	}
	return checkMask(m, mask)
}

// referenceMask returns a new mask over m's layout that prunes what ref
// has pruned.
func referenceMask(m, ref *model.Model) (*model.Mask, error) {
	if err := sameShapes(m.Layout, ref.Layout); err != nil {
		return nil, err
	}
	if len(ref.W) != ref.Layout.Total || (ref.Mask != nil && ref.Mask.Len() != ref.Layout.Total) {
		return nil, fmt.Errorf("the reference model has %d weights and a mask of %d for a layout of %d", len(ref.W), ref.Mask.Len(), ref.Layout.Total)
	}
	if ref.Mask != nil {
		return ref.Mask.Clone(), nil
	}
	mask, _ := ref.ZerosMask(model.Prunable)
	return mask, nil
}

// sameShapes checks that b has a's tensors, in a's order, with a's
// shapes, so that a mask over one applies to the other.
func sameShapes(a, b *model.Layout) error {
	for _, t := range a.Tensors {
		u, ok := b.Lookup(t.Name)
		if !ok {
			return fmt.Errorf("tensor %q is not in the reference model: the models have different tensors (a structurally pruned model can only be checked against the masks of a model of its own shape)", t.Name)
		}
		if !slices.Equal(t.Shape, u.Shape) {
			return fmt.Errorf("tensor %q is %v in the model but %v in the reference: the shapes differ (a structurally pruned model can only be checked against the masks of a model of its own shape, not its unsliced source)", t.Name, t.Shape, u.Shape)
		}
		if t.Offset != u.Offset {
			return fmt.Errorf("tensor %q is at offset %d in the model but %d in the reference: the layouts differ", t.Name, t.Offset, u.Offset)
		}
	}
	if len(a.Tensors) != len(b.Tensors) || a.Total != b.Total {
		for _, u := range b.Tensors {
			if _, ok := a.Lookup(u.Name); !ok {
				return fmt.Errorf("the reference model's tensor %q is not in the model: the models have different tensors (a structurally pruned model can only be checked against the masks of a model of its own shape)", u.Name)
			}
		}
		return fmt.Errorf("the model has %d tensors, the reference %d", len(a.Tensors), len(b.Tensors))
	}
	return nil
}

// checkMask counts mask's pruned entries and those of them that are not
// zero in m. A nil mask prunes nothing.
func checkMask(m *model.Model, mask *model.Mask) (*MaskCheck, error) {
	c := &MaskCheck{}
	if mask == nil {
		return c, nil
	}
	if mask.Len() != m.Layout.Total || len(m.W) != m.Layout.Total {
		return nil, fmt.Errorf("mask has %d entries and the model %d weights; the layout has %d", mask.Len(), len(m.W), m.Layout.Total)
	}
	ts := m.Layout.Tensors
	pruned := make([]int, len(ts))
	found := make([]MaskViolation, len(ts))
	par.For(len(ts), func(i int) {
		t := ts[i]
		v, end := &found[i], t.Offset+t.Size
		for j := mask.NextPruned(t.Offset, end); j < end; j = mask.NextPruned(j+1, end) {
			pruned[i]++
			if x := m.W[j]; x != 0 {
				if v.Count == 0 {
					v.First, v.Value = j-t.Offset, x
				}
				v.Count++
			}
		}
	})
	for i, v := range found {
		c.Checked += pruned[i]
		if v.Count > 0 {
			v.Tensor, v.Shape = ts[i].Name, ts[i].Shape
			c.Violations += v.Count
			c.Tensors = append(c.Tensors, v)
		}
	}
	return c, nil
}
