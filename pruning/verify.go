package pruning

import (
	"errors"
	"fmt"

	"lopper/internal/par"
	"lopper/model"
)

// VerifyMasks checks that a mask still holds on m: every weight the mask
// prunes is exactly zero. mask is flat over m's layout; nil means m.Mask,
// and a model without a mask passes. Run it after any stage that changes
// weights (recovery training, quantization, surgery): the error names the
// first offending tensor and entry, and counts the offenders.
func VerifyMasks(m *model.Model, mask []byte) error {
	if mask == nil {
		mask = m.Mask
	}
	if mask == nil {
		return nil
	}
	if len(mask) != m.Layout.Total || len(m.W) != m.Layout.Total {
		return fmt.Errorf("mask has %d entries and the model %d weights; the layout has %d", len(mask), len(m.W), m.Layout.Total)
	}
	bad := make([]int, len(m.Layout.Tensors))
	first := make([]int, len(m.Layout.Tensors))
	par.For(len(m.Layout.Tensors), func(i int) {
		t := m.Layout.Tensors[i]
		w, k := t.Of(m.W), mask[t.Offset:t.Offset+t.Size]
		first[i] = -1
		for j, v := range w {
			if k[j] == 0 && v != 0 {
				if first[i] < 0 {
					first[i] = j
				}
				bad[i]++
			}
		}
	})
	var err error
	entries, tensors := 0, 0
	for i, n := range bad {
		if n == 0 {
			continue
		}
		if err == nil {
			t := m.Layout.Tensors[i]
			err = fmt.Errorf("tensor %q: pruned entry %d is %g, not 0", t.Name, first[i], t.Of(m.W)[first[i]])
		}
		entries += n
		tensors++
	}
	if err != nil {
		return errors.Join(fmt.Errorf("the mask does not hold: %d pruned entries in %d tensors are not zero", entries, tensors), err)
	}
	return nil
}
