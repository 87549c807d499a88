package model

import (
	"context"
	"fmt"
	"math"

	"lopper/internal/par"
)

// CheckFinite returns nil when every weight of m is finite, or an error
// naming the first tensor (in layout order) that holds a NaN or ±Inf, the
// element and how many of its weights are not finite: the check Load makes
// with LoadOptions.CheckFinite, for a model that is already in memory.
//
// A lazy model (Open) is checked tensor by tensor, each pinned while it
// is scanned, unless Open checked it already (LoadOptions.CheckFinite).
func (m *Model) CheckFinite() error {
	if r := m.lazy; r != nil {
		if r.finite.Load() {
			return nil
		}
		for _, t := range m.Layout.Tensors {
			if err := m.checkPinned(t); err != nil {
				return err
			}
		}
		r.finite.Store(true)
		return nil
	}
	bad := make([]int, len(m.Layout.Tensors)) // per tensor: the first non-finite element, or -1
	par.For(len(bad), func(k int) { bad[k] = firstNonFinite(m.Layout.Tensors[k].Of(m.W)) })
	for k, i := range bad {
		if i >= 0 {
			return m.nonFiniteError(m.Layout.Tensors[k], i)
		}
	}
	return nil
}

// checkPinned is CheckFinite of tensor t of a lazy model, pinned while it
// is scanned.
func (m *Model) checkPinned(t TensorInfo) error {
	if err := m.Pin(context.Background(), t); err != nil {
		return err
	}
	defer m.Unpin(t)
	if i := firstNonFinite(t.Of(m.W)); i >= 0 {
		return m.nonFiniteError(t, i)
	}
	return nil
}

// nonFiniteError is CheckFinite's error for element i of tensor t.
func (m *Model) nonFiniteError(t TensorInfo, i int) error {
	return fmt.Errorf("%s (%d of its %d weights are not finite)", nonFiniteAt(t.Name, t.Shape, t.Of(m.W), i), m.NonFinite(t), t.Size)
}

// NonFinite counts the NaN and ±Inf weights of tensor t (0 for a model
// without weights: one described from its config alone).
func (m *Model) NonFinite(t TensorInfo) int {
	if m.W == nil {
		return 0
	}
	n := 0
	for _, v := range t.Of(m.W) {
		if !finite(v) {
			n++
		}
	}
	return n
}

// nonFiniteAt describes element i of the tensor called name, of the given
// shape, whose weights are w.
func nonFiniteAt(name string, shape []int, w []float32, i int) string {
	return nonFiniteValue(name, shape, i, w[i])
}

// nonFiniteValue describes element i, of value v, of the tensor called
// name, of the given shape.
func nonFiniteValue(name string, shape []int, i int, v float32) string {
	return fmt.Sprintf("tensor %q: element %d (of shape %v, [out, in] order) is %g", name, i, shape, v)
}

// firstNonFinite is the index of the first NaN or ±Inf in x, or -1.
func firstNonFinite(x []float32) int {
	for i, v := range x {
		if !finite(v) {
			return i
		}
	}
	return -1
}

func finite(v float32) bool {
	return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0)
}
