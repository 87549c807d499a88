package pruning

import (
	"fmt"
	"math"
)

// StructureNorms returns the p-norms of the rows (dim 0: one per output)
// or the columns (dim 1: one per input) of a rows × cols matrix, summed in
// float64: p = 1 (Σ|x|), 2 (√Σx²), +Inf (max |x|), or any other p > 0
// ((Σ|x|^p)^(1/p)). These are torch.nn.utils.prune.ln_structured's norms;
// structured criteria use them too.
func StructureNorms(w []float32, rows, cols int, p float64, dim int) ([]float64, error) {
	if !(p > 0) {
		return nil, fmt.Errorf("norm order must be positive, got %g", p)
	}
	if dim != 0 && dim != 1 {
		return nil, fmt.Errorf("dim must be 0 (rows) or 1 (columns), got %d", dim)
	}
	if rows < 0 || cols < 0 || len(w) != rows*cols {
		return nil, fmt.Errorf("%d values for a %d × %d matrix", len(w), rows, cols)
	}
	n := rows
	if dim == 1 {
		n = cols
	}
	acc := make([]float64, n)
	for r := range rows {
		for c, v := range w[r*cols : (r+1)*cols] {
			i := r
			if dim == 1 {
				i = c
			}
			a := math.Abs(float64(v))
			switch {
			case p == 1:
				acc[i] += a
			case p == 2:
				acc[i] += a * a
			case math.IsInf(p, 1):
				acc[i] = math.Max(acc[i], a)
			default:
				acc[i] += math.Pow(a, p)
			}
		}
	}
	if p != 1 && !math.IsInf(p, 1) {
		for i, v := range acc {
			acc[i] = math.Pow(v, 1/p)
		}
	}
	return acc, nil
}
