package model

import "fmt"

// ApplyMask zeroes every parameter its mask prunes. It does nothing for a
// dense model (nil Mask).
func (m *Model) ApplyMask() {
	if m.Mask != nil {
		m.Mask.ApplyTo(m.W, 0)
	}
}

// CheckMask returns an error naming the first tensor (and flat index within
// it) whose pruned entry is not exactly zero, or nil.
func (m *Model) CheckMask() error {
	if m.Mask == nil {
		return nil
	}
	if err := m.checkShapes(); err != nil {
		return err
	}
	for _, t := range m.Layout.Tensors {
		end := t.Offset + t.Size
		for i := m.Mask.NextPruned(t.Offset, end); i < end; i = m.Mask.NextPruned(i+1, end) {
			if v := m.W[i]; v != 0 {
				return fmt.Errorf("tensor %q: pruned entry %d is %g, not 0", t.Name, i-t.Offset, v)
			}
		}
	}
	return nil
}

// ZerosMask returns a mask over m's layout that prunes the exactly-zero
// parameters of the tensors sel accepts (every tensor when sel is nil),
// and how many it prunes: the mask a pruned model saved without one
// implies.
func (m *Model) ZerosMask(sel func(TensorInfo) bool) (mask *Mask, pruned int) {
	mask = m.Layout.NewMask()
	for _, t := range m.Layout.Tensors {
		if sel != nil && !sel(t) {
			continue
		}
		pruned += mask.ClearZeros(t.Of(m.W), t.Offset)
	}
	return mask, pruned
}

// NonZero counts the parameters of t that are not exactly zero.
func (m *Model) NonZero(t TensorInfo) int {
	n := 0
	for _, v := range t.Of(m.W) {
		if v != 0 {
			n++
		}
	}
	return n
}

// Sparsity returns the fraction of exactly-zero parameters over the tensors
// sel accepts (all tensors when sel is nil), and how many parameters that
// covers. Prunable is the usual selection.
func (m *Model) Sparsity(sel func(TensorInfo) bool) (frac float64, n int) {
	zeros := 0
	for _, t := range m.Layout.Tensors {
		if sel != nil && !sel(t) {
			continue
		}
		zeros += t.Size - m.NonZero(t)
		n += t.Size
	}
	if n == 0 {
		return 0, 0
	}
	return float64(zeros) / float64(n), n
}

// Prunable selects the linear weights inside the transformer blocks, the
// tensors pruning acts on (never embeddings, head, norms or biases).
func Prunable(t TensorInfo) bool { return t.Layer >= 0 && t.Role.IsLinear() }
