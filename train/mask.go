package train

import "lopper/model"

// MaskZeros gives m, when it has no mask, one that prunes its exactly-zero
// prunable weights (model.Prunable), so that training holds them at zero:
// a pruned model loaded from disk has zeros but no mask. It returns how
// many weights the mask prunes (0, and no mask, for a model without zeros;
// a model that already has a mask is left as it is).
func MaskZeros(m *model.Model) int {
	if m.Mask != nil {
		return m.Mask.Len() - m.Mask.Count()
	}
	mask, n := m.ZerosMask(model.Prunable)
	if n > 0 {
		m.Mask = mask
	}
	return n
}
